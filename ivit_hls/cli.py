"""``ivit-hls`` command line: a thin layer over the Python API.

Each sub-command lives in its own module under ``ivit_hls.commands`` and provides ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Only the chosen command's
options are built, so ``--help`` and ``--version`` never load torch, timm or numpy; every
command runs inside the shared error boundary (``ivit_host.cliutil``).
"""

from __future__ import annotations

import sys

from ivit_host.cliutil import OneLineParser, run_cli

from . import __version__

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


def _chosen(argv: list[str], names: list[str]) -> str | None:
    """The sub-command named on the command line (the first word that is one)."""
    for arg in argv:
        if arg in names:
            return arg
        if not arg.startswith("-"):
            return None
    return None


def build_parser(argv: list[str] | None = None):
    """The top-level parser; with ``argv``, only the chosen sub-command gets its options
    (the others are listed by name and help only)."""
    import importlib

    parser = OneLineParser(prog="ivit-hls", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ivit-hls {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of an internal error")
    if argv is not None and argv[:1] == ["--version"]:
        return parser  # answered before any command module is imported
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    subs.required = True
    modules = [importlib.import_module(name) for name in COMMAND_MODULES]
    chosen = None if argv is None else _chosen(argv, [m.NAME for m in modules])
    for module in modules:
        sub = subs.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        if argv is None or module.NAME == chosen:
            module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ivit-hls`` console script."""
    return run_cli("ivit-hls", build_parser, argv)


if __name__ == "__main__":
    sys.exit(main())
