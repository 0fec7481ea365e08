"""What both command lines (``ivit-hls`` and ``ivit-host``) share: the error boundary, the
signal handling and the top-k printer. Standard library only, so a CLI imports it first and
is covered by it while everything else is still loading.

The boundary's promise: an expected failure (``HostError`` and its subclasses, ``OSError``,
``MemoryError``) is one line on stderr and exit code 2; Ctrl-C at any moment is exit 130 and
SIGTERM exit 143, both after ``finally`` blocks have removed their temporaries; anything
else is a bug: one line naming the file holding the full traceback (``--debug`` prints it).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback

EXIT_ERROR = 2
EXIT_BUG = 1
EXIT_INTERRUPT = 130
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that clean-up code runs as for Ctrl-C."""


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def install_signal_handlers() -> dict:
    """SIGINT -> KeyboardInterrupt, SIGTERM -> Terminated, each raised once: a second signal
    during clean-up is ignored so that the clean-up finishes. Returns the previous handlers."""

    def handler(signum, _frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if signum == signal.SIGTERM:
            raise Terminated()
        raise KeyboardInterrupt()

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return previous


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _write_traceback(prog: str) -> str:
    """Write the current exception's traceback to a fresh file; return its path."""
    import tempfile
    import time

    fd, path = tempfile.mkstemp(prefix=f"{prog.split()[0]}-traceback-{time.strftime('%Y%m%d-%H%M%S')}-",
                                suffix=".txt")
    with os.fdopen(fd, "w") as fh:
        traceback.print_exc(file=fh)
    return path


def run_cli(prog: str, build_parser, argv: list[str] | None, expected: tuple = ()) -> int:
    """Parse ``argv`` with ``build_parser(argv)`` and call the chosen command's ``_run(args)``
    inside the error boundary (see the module docstring). Returns the exit code."""
    from .errors import HostError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line
    argv = [a for a in argv if a != "--debug"]
    expected = (HostError, *expected)
    previous = install_signal_handlers()
    try:
        return _run(prog, build_parser, argv, expected, debug)
    finally:  # an in-process caller (tests, notebooks) gets its own handlers back
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _run(prog, build_parser, argv, expected, debug) -> int:
    # the command's name for messages, even before the parser is built (Ctrl-C while importing)
    word = next((a for a in argv if not a.startswith("-")), None)
    where = f"{prog} {word}" if word else prog
    try:
        args = build_parser(argv).parse_args(argv)
        where = f"{prog} {args.command}"
        return int(args._run(args) or 0)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except KeyboardInterrupt:
        _say(f"{where}: interrupted")
        return EXIT_INTERRUPT
    except Terminated:
        _say(f"{where}: terminated")
        return EXIT_TERMINATED
    except BrokenPipeError:  # output piped into `head` & co.: not an error
        _silence_stdout()
        return 0
    except expected as exc:
        _say(f"{where}: error: {_first_line(exc)}")
        return EXIT_ERROR
    except OSError as exc:  # unwritable output folder, full disk, permissions
        name = f" ({exc.filename})" if exc.filename else ""
        _say(f"{where}: error: {exc.strerror or _first_line(exc)}{name}")
        return EXIT_ERROR
    except MemoryError:
        _say(f"{where}: error: out of memory")
        return EXIT_ERROR
    except Exception as exc:  # a bug: one line, the traceback in a file
        if debug:
            traceback.print_exc()
            return EXIT_BUG
        try:
            path = _write_traceback(prog)
            note = f"full traceback in {path}"
        except OSError:
            note = "rerun with --debug for the traceback"
        _say(f"{where}: internal error: {type(exc).__name__}: {_first_line(exc)} ({note}; "
             f"--debug prints it)")
        return EXIT_BUG


def _say(line: str) -> None:
    try:
        print(line.replace("\n", " "), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def print_topk(label: str, logits, classes, names=None, out=None) -> None:
    """One image's top-k block: its label, then ``rank. class N  logit L  [name]`` lines."""
    out = out or sys.stdout
    print(label, file=out)
    for rank, c in enumerate(classes, 1):
        name = f"  {names[int(c)]}" if names else ""
        print(f"  {rank}. class {int(c):4d}  logit {int(logits[int(c)]):>11d}{name}", file=out)
