"""Build and run a generated project's C-simulation with g++; load its ctypes library."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IvitError


@dataclass(frozen=True)
class BuildSpec:
    """Sources and flags of the C-simulation builds (rendered into the Makefile too)."""

    cxxflags: tuple = ("-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unknown-pragmas",
                       "-Wno-unused-label")
    includes: tuple = ("-Iinclude", "-Isrc")
    top_sources: tuple = ("src/ivit_top.cpp",)
    tb_sources: tuple = ("tb/tb_main.cpp",)
    lib_sources: tuple = ("src/ivit_capi.cpp",)
    lib_flags: tuple = ("-DIVIT_TRACE", "-fPIC", "-shared")
    lib_name: str = "libivit_csim.so"
    exe_name: str = "csim"
    extra: dict = field(default_factory=dict)


BUILD = BuildSpec()


def _manifest(project: Path) -> dict:
    path = project / "manifest.json"
    if not path.is_file():
        raise IvitError(f"{project}: not a generated HLS project (no manifest.json)")
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise IvitError(f"{path}: unreadable manifest ({exc})") from None


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
    _manifest(project)
    (project / "build").mkdir(exist_ok=True)
    cmd = compile_commands(project, kind)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        first = next((l for l in proc.stderr.splitlines() if "error" in l), proc.stderr.strip())
        raise IvitError(f"g++ failed building {project}: {first}")
    target = project / cmd[-1]
    return target, seconds, proc.stderr


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


def run_csim(project: str | os.PathLike, max_images: int | None = None) -> CsimResult:
    """Build the testbench with g++ and run it on the project's golden vectors."""
    project = Path(project).resolve()
    exe, build_s, warnings = _compile(project, "exe")
    cmd = [str(exe), "data"] + ([str(max_images)] if max_images else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    run_s = time.perf_counter() - start
    out = (proc.stdout + proc.stderr).strip()
    match = re.search(r"([0-9.]+) s/image", out)
    return CsimResult(proc.returncode == 0 and "PASS" in out, proc.returncode, out, build_s,
                      run_s, float(match.group(1)) if match else None, warnings)


class CsimLibrary:
    """The project's C-simulation shared library through ctypes (ABI in manifest.json)."""

    def __init__(self, project: str | os.PathLike, build: bool = True):
        self.project = Path(project)
        self.manifest = _manifest(self.project)
        abi = self.manifest["abi"]
        lib_path = self.project / abi["library"]
        self.build_warnings = ""
        if build or not lib_path.exists():
            lib_path, _s, self.build_warnings = _compile(self.project, "lib")
        self.lib = ctypes.CDLL(str(lib_path))
        args = abi["functions"]["ivit_run"]["args"]
        self.image_dtype = np.dtype(args[0]["dtype"])
        self.image_shape = tuple(args[0]["shape"][1:])
        self.num_classes = int(args[2]["shape"][1])
        self.weights = np.fromfile(self.project / "data" / "weights.bin", dtype=np.int8)
        self.trace_layout = abi["trace"]
        self.lib.ivit_trace_size.restype = ctypes.c_int64
        if self.lib.ivit_abi_version() != abi["version"]:
            raise IvitError(f"{lib_path}: ABI version differs from manifest.json")
        self.trace_size = int(self.lib.ivit_trace_size())

    def _image(self, image) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim == len(self.image_shape):
            image = image[None]
        if tuple(image.shape[1:]) != self.image_shape:
            raise IvitError(f"image shape {image.shape[1:]} != {self.image_shape}")
        return np.ascontiguousarray(image.astype(self.image_dtype))

    def run(self, images) -> np.ndarray:
        """Logits ``(B, classes)`` int32 for integer images ``(B, C, H, W)``."""
        images = self._image(images)
        logits = np.zeros((images.shape[0], self.num_classes), np.int32)
        rc = self.lib.ivit_run(ctypes.c_void_p(images.ctypes.data),
                               ctypes.c_void_p(self.weights.ctypes.data),
                               ctypes.c_void_p(logits.ctypes.data),
                               ctypes.c_int32(images.shape[0]))
        if rc != 0:
            raise IvitError(f"ivit_run returned {rc}")
        return logits

    def run_trace(self, image) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits ``(1, classes)`` and every layer's output (batch axis 1) for one image."""
        image = self._image(image)
        if image.shape[0] != 1:
            raise IvitError("run_trace takes one image")
        logits = np.zeros((1, self.num_classes), np.int32)
        trace = np.zeros(self.trace_size, np.int64)
        rc = self.lib.ivit_run_trace(ctypes.c_void_p(image.ctypes.data),
                                     ctypes.c_void_p(self.weights.ctypes.data),
                                     ctypes.c_void_p(logits.ctypes.data),
                                     ctypes.c_void_p(trace.ctypes.data))
        if rc != 0:
            raise IvitError("the C-simulation library was built without IVIT_TRACE")
        layers = {}
        for entry in self.trace_layout:
            size = int(np.prod(entry["shape"]))
            off = entry["offset"]
            layers[entry["layer"]] = trace[off:off + size].reshape(entry["shape"])
        return logits, layers
