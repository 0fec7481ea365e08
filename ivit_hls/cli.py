"""``ivit-hls`` command line: a thin layer over the Python API.

Each sub-command lives in its own module under ``ivit_hls.commands`` and provides ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import IvitError

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "ivit_hls.commands.quantize",
    "ivit_hls.commands.info",
    "ivit_hls.commands.predict",
    "ivit_hls.commands.generate",
    "ivit_hls.commands.csim",
    "ivit_hls.commands.hls",
    "ivit_hls.commands.run",
    "ivit_hls.commands.synth_report",
]


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered sub-command."""
    parser = _Parser(prog="ivit-hls", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ivit-hls {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subs.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        sub = subs.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ivit-hls`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except IvitError as exc:
        print(f"ivit-hls {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except OSError as exc:  # unwritable output folder, full disk, permissions
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"ivit-hls {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ivit-hls {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
