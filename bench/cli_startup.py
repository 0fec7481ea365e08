"""CLI start-up time: ``ivit-hls --help`` / ``--version`` and ``ivit-host --help``.

Target: under 0.5 s each (heavy modules - torch, timm, numpy-heavy code - load lazily, only
in the command that needs them). Prints the median of N runs of each as a fresh process.

    python bench/cli_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "ivit-hls --version": ["-m", "ivit_hls.cli", "--version"],
    "ivit-hls --help": ["-m", "ivit_hls.cli", "--help"],
    "ivit-host --help": ["-m", "ivit_host", "--help"],
    "python -c pass (interpreter alone)": ["-c", "pass"],
}
TARGET_S = 0.5


def measure(args: list[str], runs: int) -> float:
    """Median wall time of ``runs`` fresh interpreter runs of ``args``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    worst = 0.0
    for name, cmd in COMMANDS.items():
        seconds = measure(cmd, max(args.runs, 1))
        if name.startswith("ivit"):
            worst = max(worst, seconds)
        print(f"{name:40s} {seconds * 1000:7.1f} ms")
    print(f"slowest CLI start-up {worst * 1000:.1f} ms (target < {TARGET_S * 1000:.0f} ms): "
          f"{'OK' if worst < TARGET_S else 'TOO SLOW'}")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
