"""Atomic output folders: refuse a bad ``--out`` early, write everything into a hidden
temporary sibling, then swap it into place, so that no failure, Ctrl-C or SIGTERM leaves a
partial folder, a temporary one, or a lost previous version behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import IvitError

_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _contains_cwd(out: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    out = out.resolve()
    return cwd == out or out in cwd.parents


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse an existing non-empty output directory unless ``force``; refuse a file, and
    the current directory (or one holding it), which cannot be swapped atomically."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise IvitError(f"--out {out}: exists and is not a directory")
    if out.is_dir():
        try:
            nonempty = any(out.iterdir())
        except OSError as exc:
            raise IvitError(f"--out {out}: unreadable ({exc.strerror})") from None
        if nonempty and not force:
            raise IvitError(f"--out {out}: directory exists and is not empty (use --force to "
                            f"replace it)")
        if _contains_cwd(out):
            raise IvitError(f"--out {out}: is the current directory (or holds it) and cannot "
                            f"be replaced; name a new folder, e.g. --out {out.resolve().name}_hls")
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise IvitError(f"--out {out}: {parent} is not a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise IvitError(f"--out {out}: {parent} is not writable")
            break


@contextmanager
def _signals_blocked():
    """Hold Ctrl-C/SIGTERM while the new folder is swapped in and the old one removed;
    a signal that arrives meanwhile is delivered right after."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _make_parents(parent: Path) -> Path | None:
    """Create ``parent``; return the topmost folder created (to remove on failure)."""
    missing = [p for p in [parent, *parent.parents] if not p.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    return missing[-1] if missing else None


def write_tree(files: dict[str, bytes], out: str | os.PathLike, force: bool = False) -> Path:
    """Write ``{relative path: bytes}`` under ``out`` atomically (see the module docstring)."""
    out = Path(out)
    check_out_dir(out, force)
    out = out.absolute()
    created = tmp = old = None
    try:
        created = _make_parents(out.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the output is an ordinary directory
        for rel, data in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        with _signals_blocked():
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
                os.replace(out, old / "prev")
                try:
                    os.replace(tmp, out)
                except BaseException:
                    try:
                        os.replace(old / "prev", out)  # --force must never lose the old folder
                    except OSError:  # a concurrent run took its place: keep ours aside
                        old = None
                    raise
            else:
                os.replace(tmp, out)
            tmp = None
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
                old = None
    except BaseException:
        with _signals_blocked():
            for leftover in (tmp, old):
                if leftover is not None:
                    shutil.rmtree(leftover, ignore_errors=True)
            if created is not None and not out.exists():
                shutil.rmtree(created, ignore_errors=True)
        raise
    return out


def write_project(files: dict[str, bytes], out: str | os.PathLike, force: bool = False) -> Path:
    """Write a rendered HLS project atomically; its ``manifest.json`` is sealed first (its
    own SHA-256, ``ivit_host.manifest.seal``) so that readers refuse later edits of it."""
    from ivit_host.manifest import seal

    files = dict(files)
    if "manifest.json" in files:
        files["manifest.json"] = seal(files["manifest.json"])
    return write_tree(files, out, force)
