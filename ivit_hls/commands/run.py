"""``ivit-hls run``: classify image files with a generated project's kernel (host driver)."""

from __future__ import annotations

import argparse

NAME = "run"
HELP = ("classify image files with a generated project's kernel: C-simulation (csim), "
        "an XRT device (xrt) or PYNQ (pynq); prints top-5 and latency")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ivit_host.cli import add_run_arguments

    add_run_arguments(p)


def run(args: argparse.Namespace) -> int:
    """The host driver's ``run`` (its HostErrors pass the shared error boundary as they are)."""
    from ivit_host.cli import run as host_run

    return host_run(args)
