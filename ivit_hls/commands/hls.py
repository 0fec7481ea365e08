"""``ivit-hls hls``: run AMD Vitis (v++/vitis-run, or older vitis_hls) on a generated project."""

from __future__ import annotations

import argparse
import subprocess

from ..errors import IvitError

NAME = "hls"
HELP = "run Vitis HLS on a generated project (csim, csynth, cosim, package)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..hls.vitis import STEPS

    p.add_argument("dir", metavar="DIR", help="project directory written by `ivit-hls generate`")
    p.add_argument("--step", choices=STEPS, default="csynth", help="flow step (default csynth)")
    p.add_argument("--dry-run", action="store_true", help="print the command, do not run it")


def run(args: argparse.Namespace) -> int:
    from ..hls.vitis import vitis_command

    if not args.dry_run:
        # Vitis compiles the project's sources: refuse missing or edited files first
        from ..hls.build import load_manifest

        load_manifest(args.dir, verify=True)
    cmd, cwd = vitis_command(args.dir, args.step, dry_run=args.dry_run)
    print("$ " + " ".join(cmd))
    if args.dry_run:
        return 0
    proc = subprocess.run(cmd, cwd=cwd)
    if proc.returncode != 0:
        raise IvitError(f"{cmd[0]} {args.step} failed with exit code {proc.returncode}")
    return 0
