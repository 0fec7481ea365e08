"""``ivit-hls csim``: build a generated project's C-simulation with g++ and run it."""

from __future__ import annotations

import argparse

from ..errors import IvitError

NAME = "csim"
HELP = "build and run a generated HLS project's C-simulation with g++ (bit-exactness, time)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="project directory written by `ivit-hls generate`")
    p.add_argument("--images", type=int, default=None, help="run only the first N test images")


def run(args: argparse.Namespace) -> int:
    from ..hls.build import run_csim

    result = run_csim(args.dir, args.images)
    print(result.output)
    if result.warnings.strip():
        print(f"compiler warnings:\n{result.warnings.strip()}")
    per = f", {result.seconds_per_image:.3f} s/image" if result.seconds_per_image else ""
    print(f"build {result.build_seconds:.1f} s, run {result.run_seconds:.2f} s{per}")
    if not result.passed:
        raise IvitError(f"C-simulation of {args.dir} is NOT bit-exact with the golden model "
                        f"(exit code {result.returncode})")
    print("bit-exact with the golden model")
    return 0
