"""``ivit-hls csim``: check a generated project, build its C-simulation with g++, run it."""

from __future__ import annotations

import argparse

from ..errors import IvitError

NAME = "csim"
HELP = "build and run a generated HLS project's C-simulation with g++ (bit-exactness, time)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="project directory written by `ivit-hls generate`")
    p.add_argument("--images", type=int, default=None,
                   help="run only the first N golden images (default: all the project holds)")


def run(args: argparse.Namespace) -> int:
    from ..hls.build import run_csim

    # verify=True: a missing, truncated or edited file is named before anything is built
    result = run_csim(args.dir, args.images, verify=True)
    print(result.output)
    if result.warnings.strip():
        print(f"compiler warnings:\n{result.warnings.strip()}")
    per = f", {result.seconds_per_image:.3f} s/image" if result.seconds_per_image else ""
    print(f"build {result.build_seconds:.1f} s, run {result.run_seconds:.2f} s{per}")
    if result.passed:
        print(f"bit-exact with the golden model ({result.images} image(s))")
        return 0
    last = result.output.splitlines()[-1] if result.output else ""
    if result.returncode == 1 and "MISMATCH" in last:
        raise IvitError(f"C-simulation of {args.dir} is NOT bit-exact with the golden model "
                        f"({last.removeprefix('csim: ')})")
    if result.returncode < 0:
        raise IvitError(f"the C-simulation testbench of {args.dir} crashed (signal "
                        f"{-result.returncode})")
    raise IvitError(f"the C-simulation testbench of {args.dir} failed (exit code "
                    f"{result.returncode}: {last or 'no output'})")
