"""The non-Python sources ivit-hls reads: kernel headers, RTL, templates, cocotb benches.

In a source checkout they live beside the package (``hw/``, ``templates/``, ``sim/``); an
installed wheel carries them as package data under ``ivit_hls/_share/`` (see setup.py).
``SOURCE_ROOT`` is whichever of the two holds them, so ``SOURCE_ROOT / "hw" / ...`` works
in both.
"""

from __future__ import annotations

from pathlib import Path

from .errors import IvitError

_PACKAGE = Path(__file__).resolve().parent
_FOLDERS = ("hw", "templates", "sim")


def _root() -> Path:
    checkout = _PACKAGE.parent
    if (checkout / "pyproject.toml").is_file() and all((checkout / f).is_dir() for f in _FOLDERS):
        return checkout
    return _PACKAGE / "_share"


#: The folder holding ``hw/``, ``templates/`` and ``sim/`` (a checkout or the installed wheel).
SOURCE_ROOT = _root()
#: True when running from a source checkout (build folders may be created beside it).
IN_CHECKOUT = SOURCE_ROOT == _PACKAGE.parent


def build_dir(*parts: str) -> Path:
    """Where simulator and synthesis builds go: ``build/`` of a checkout, or a per-user cache
    folder for an installed wheel (never inside site-packages)."""
    import os

    if IN_CHECKOUT:
        base = SOURCE_ROOT / "build"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ivit-hls"
    return base.joinpath(*parts)


def source_dir(*parts: str) -> Path:
    """A folder of ``SOURCE_ROOT``; a clear error if this installation does not have it."""
    path = SOURCE_ROOT.joinpath(*parts)
    if not path.is_dir():
        raise IvitError(f"{'/'.join(parts)}/ not found in {SOURCE_ROOT}: this installation of "
                        f"ivit-hls is incomplete (reinstall it, or pip install -e . in a checkout)")
    return path
