"""``ivit-hls`` command line: a thin layer over the Python API.

Each sub-command lives in its own module under ``ivit_hls.commands`` and provides ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Only the chosen command's
options are built, so ``--help`` and ``--version`` never load torch, timm or numpy; every
command runs inside the shared error boundary (``ivit_host.cliutil``).
"""

from __future__ import annotations

import os
import signal
import sys


def _exit_before_boundary(signum, _frame):
    """Ctrl-C / SIGTERM while the CLI's own imports run (before the error boundary is set
    up): the boundary's one line and exit code; nothing has been written yet."""
    word = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    where = f"ivit-hls {word}" if word else "ivit-hls"
    interrupted = signum == signal.SIGINT
    sys.stderr.write(f"{where}: {'interrupted' if interrupted else 'terminated'}\n")
    sys.stderr.flush()
    os._exit(130 if interrupted else 143)


# Only as a program (``ivit-hls`` or ``python -m ivit_hls.cli``): importing the module from
# Python must not take over the caller's signals.
if __name__ == "__main__" or os.path.basename(sys.argv[0] or "") == "ivit-hls":
    signal.signal(signal.SIGINT, _exit_before_boundary)
    signal.signal(signal.SIGTERM, _exit_before_boundary)

from pathlib import Path  # noqa: E402  (after the early handlers: imports take time)

from ivit_host.cliutil import OneLineParser, run_cli  # noqa: E402

from . import __version__  # noqa: E402

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
    "ivit_hls.commands.rtl_sim",
    "ivit_hls.commands.explore",
    "ivit_hls.commands.eval",
    "ivit_hls.commands.train",
]


def _describe(module_name: str) -> tuple[str, str] | None:
    """``NAME`` and ``HELP`` of a command module read from its source, without importing it
    (importing pulls numpy & co.; the top-level ``--help`` only needs these two strings)."""
    import ast
    import importlib.util

    try:
        spec = importlib.util.find_spec(module_name)
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    except (AttributeError, ImportError, OSError, SyntaxError, TypeError, ValueError):
        return None
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("NAME", "HELP"):
            try:
                found[node.targets[0].id] = str(ast.literal_eval(node.value))
            except ValueError:
                return None
    return (found["NAME"], found["HELP"]) if len(found) == 2 else None


def build_parser(argv: list[str] | None = None):
    """The top-level parser; with ``argv``, only the chosen sub-command's module is imported
    and given its options (the others are listed by name and help only)."""
    import importlib

    parser = OneLineParser(prog="ivit-hls", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ivit-hls {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of an internal error")
    if argv is not None and argv[:1] == ["--version"]:
        return parser  # answered before any command module is read
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    subs.required = True
    described = {name: (_describe(name) if argv is not None else None) for name in COMMAND_MODULES}
    chosen = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    for module_name, desc in described.items():
        if desc is not None and desc[0] != chosen:
            sub = subs.add_parser(desc[0], help=desc[1], description=desc[1])
            continue  # listed only: never run (argparse picks the chosen command)
        module = importlib.import_module(module_name)
        sub = subs.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line run in this process (what tests and notebooks call)."""
    return run_cli("ivit-hls", build_parser, argv)


def console_main() -> None:
    """Entry point of the ``ivit-hls`` program. After Ctrl-C or SIGTERM the boundary has said
    its one line and cleaned up; the process then ends with 130 / 143 at once, because the
    interpreter's own shutdown (an interrupted import's threads and atexit hooks) could still
    end it by the signal instead."""
    code = main()
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console_main()
