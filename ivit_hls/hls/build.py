"""Build and run a generated project's C-simulation testbench with g++.

The project's manifest is read and checked by the host driver's one manifest reader
(``ivit_host.manifest``), and its ctypes library is loaded by the one C-simulation loader
(``ivit_host.csimlib.CsimLibrary``, re-exported here), which also owns ``ABI_VERSION``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ivit_host.csimlib import ABI_VERSION, CsimLibrary, first_error_line
from ivit_host.manifest import Manifest

from ..errors import IvitError

__all__ = ["ABI_VERSION", "BUILD", "BuildSpec", "CsimLibrary", "CsimResult", "compile_commands",
           "load_manifest", "run_csim"]


@dataclass(frozen=True)
class BuildSpec:
    """Sources and flags of the C-simulation builds (rendered into the Makefile too)."""

    # -DIVIT_CHECK_WIDTHS: every narrowed datapath value is checked against its width
    cxxflags: tuple = ("-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unknown-pragmas",
                       "-Wno-unused-label", "-DIVIT_CHECK_WIDTHS")
    includes: tuple = ("-Iinclude", "-Isrc")
    top_sources: tuple = ("src/ivit_top.cpp",)
    tb_sources: tuple = ("tb/tb_main.cpp",)
    lib_sources: tuple = ("src/ivit_capi.cpp",)
    # -fno-gnu-unique: static locals of inline kernels stay per library, so that several
    # projects loaded into one process (ctypes) never share them
    lib_flags: tuple = ("-DIVIT_TRACE", "-fPIC", "-shared", "-fno-gnu-unique")
    lib_name: str = "libivit_csim.so"
    exe_name: str = "csim"
    extra: dict = field(default_factory=dict)


BUILD = BuildSpec()


def load_manifest(project, verify: bool = True) -> Manifest:
    """The project's manifest; with ``verify`` every file is checked against it first
    (seal, sizes, hashes), naming the first missing, truncated or modified file."""
    manifest = Manifest.load(project)
    if verify:
        manifest.verify(full=True)
    return manifest


def _compiler() -> str:
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise IvitError(f"C++ compiler {cxx!r} not found on PATH (set CXX)")
    return cxx


def compile_commands(project: Path, kind: str = "exe") -> list[str]:
    """The g++ command building the testbench (``exe``) or the ctypes library (``lib``)."""
    cxx = _compiler()
    if kind == "exe":
        return [cxx, *BUILD.cxxflags, *BUILD.includes, *BUILD.top_sources, *BUILD.tb_sources,
                "-o", f"build/{BUILD.exe_name}"]
    return [cxx, *BUILD.cxxflags, *BUILD.lib_flags, *BUILD.includes, *BUILD.top_sources,
            *BUILD.lib_sources, "-o", f"build/{BUILD.lib_name}"]


def _compile(project: Path, kind: str) -> tuple[Path, float, str]:
    project = Path(project).resolve()  # the compiler and the binary run inside the project
    cmd = compile_commands(project, kind)
    build = project / "build"
    fresh = not build.exists()
    build.mkdir(exist_ok=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    except BaseException:
        if fresh:
            shutil.rmtree(build, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        if fresh:  # leave the project as it was
            shutil.rmtree(build, ignore_errors=True)
        raise IvitError(f"{cmd[0]} failed building {project.name}: {first_error_line(proc.stderr)}")
    return project / cmd[-1], seconds, proc.stderr


@dataclass
class CsimResult:
    """Outcome of a testbench run."""

    passed: bool
    returncode: int
    output: str
    build_seconds: float
    run_seconds: float
    seconds_per_image: float | None
    warnings: str
    images: int = 0


def run_csim(project: str | os.PathLike, max_images: int | None = None,
             verify: bool = False) -> CsimResult:
    """Build the testbench with g++ and run it on the project's golden vectors (all of them,
    or the first ``max_images``); ``verify`` checks the project against its manifest first."""
    project = Path(project).resolve()
    manifest = load_manifest(project, verify)
    held = manifest.data.get("testbench", {}).get("images")
    if max_images is not None:
        if max_images < 1:
            raise IvitError(f"--images {max_images}: need at least 1")
        if isinstance(held, int) and max_images > held:
            raise IvitError(f"--images {max_images}: the project holds {held} golden image(s) "
                            f"(generate --tb-images N for more)")
    exe, build_s, warnings = _compile(project, "exe")
    cmd = [str(exe), "data"] + ([str(max_images)] if max_images else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    run_s = time.perf_counter() - start
    out = (proc.stdout + proc.stderr).strip()
    match = re.search(r"([0-9.]+) s/image", out)
    count = re.search(r"PASS (\d+) image", out)
    return CsimResult(proc.returncode == 0 and "PASS" in out, proc.returncode, out, build_s,
                      run_s, float(match.group(1)) if match else None, warnings,
                      int(count.group(1)) if count else 0)
