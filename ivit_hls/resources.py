"""The non-Python sources ivit-hls reads: kernel headers, RTL, templates, cocotb benches.

They live beside the package in a source checkout (``hw/``, ``templates/``, ``sim/``), which is
how the project is installed (``make demo`` / ``make test``: ``pip install -e .``).
"""

from __future__ import annotations

from pathlib import Path

from .errors import IvitError

#: The checkout holding ``ivit_hls/`` next to ``hw/``, ``templates/`` and ``sim/``.
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def source_dir(*parts: str) -> Path:
    """A folder of the checkout; a clear error if this installation does not have it."""
    path = SOURCE_ROOT.joinpath(*parts)
    if not path.is_dir():
        raise IvitError(f"{'/'.join(parts)}/ not found next to the ivit_hls package: install "
                        f"ivit-hls from a source checkout (pip install -e .)")
    return path
