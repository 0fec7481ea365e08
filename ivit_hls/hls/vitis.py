"""Command lines of the AMD Vitis tools for a generated project (construction only)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import IvitError

STEPS = ("csim", "csynth", "cosim", "package")
#: Work directory of the unified (v++ / vitis-run) flow, inside the project.
WORK_DIR = "ivit_hls_work"


def vitis_command(project, step: str, dry_run: bool = False) -> tuple[list[str], Path]:
    """The command running ``step`` on ``project`` with the newest Vitis found on PATH.

    Vitis >= 2024.2: ``v++ -c --mode hls`` (csynth) and ``vitis-run --mode hls --csim|--cosim|
    --package``; otherwise ``vitis_hls -f run_hls.tcl -tclargs STEP``. Returns (argv, cwd).
    With ``dry_run`` and no Vitis on PATH, the Vitis >= 2024.2 command (bare tool names).
    """
    project = Path(project)
    if step not in STEPS:
        raise IvitError(f"unknown step {step!r}; choose one of {', '.join(STEPS)}")
    if not project.is_dir():
        raise IvitError(f"{project}: no such directory")
    if not (project / "manifest.json").is_file():
        raise IvitError(f"{project}: not a generated HLS project (no manifest.json)")
    vpp, vrun, old = shutil.which("v++"), shutil.which("vitis-run"), shutil.which("vitis_hls")
    if dry_run and not (vpp or vrun or old):
        vpp, vrun = "v++", "vitis-run"
    config = ["--config", "hls_config.cfg", "--work_dir", WORK_DIR]
    if step == "csynth" and vpp:
        return [vpp, "-c", "--mode", "hls", *config], project
    if step != "csynth" and vrun:
        return [vrun, "--mode", "hls", f"--{step}", *config], project
    if old:
        return [old, "-f", "run_hls.tcl", "-tclargs", step], project
    raise IvitError("no Vitis HLS tool on PATH (v++ / vitis-run for Vitis >= 2024.2, or "
                    "vitis_hls); source the Vitis settings64.sh first")
