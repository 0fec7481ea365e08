"""Where the SystemVerilog units live and which files a top-level module needs."""

from __future__ import annotations

from pathlib import Path

from ..resources import SOURCE_ROOT, source_dir

#: Repository root (the package is used from a source checkout; hw/ is not packaged).
REPO_ROOT = SOURCE_ROOT
#: Folder holding the synthesizable units, one module per file named after the module.
RTL_DIR = REPO_ROOT / "hw" / "rtl"


def rtl_sources(rtl_dir: Path | None = None) -> list[Path]:
    """Every ``.sv`` file of the RTL library, sorted (packages first, then modules)."""
    folder = Path(rtl_dir) if rtl_dir is not None else source_dir("hw", "rtl")
    files = sorted(folder.glob("*.sv"))
    return sorted(files, key=lambda p: (not p.stem.endswith("_pkg"), p.name))
