"""The one loader of a generated project's C-simulation library (``make lib``, then ctypes).

Used by the host driver's ``csim`` backend and by ``ivit_hls`` (trace comparisons, tests):
both speak ``ABI_VERSION``, the version of the C ABI that ``manifest.json`` records and that
``ivit_abi_version()`` in the library returns.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from .errors import HostError
from .manifest import Manifest

#: Version of the C-simulation library's ABI (argument order, dtypes, trace layout).
ABI_VERSION = 1


def first_error_line(text: str) -> str:
    """The first line of compiler/make output that names an error (else the first line)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[0] if lines else "no output"


def build_library(manifest: Manifest) -> str:
    """``make -s lib`` in the project (a no-op when up to date); returns the compiler's
    warnings. A missing tool or a failed compile raises HostError with the first error line."""
    project = manifest.project
    if not (project / "Makefile").is_file():
        raise HostError(f"{project}: the C-simulation needs the full generated project "
                        f"(no Makefile)")
    make = shutil.which("make")
    if make is None:
        raise HostError("the C-simulation needs `make` and a C++ compiler on PATH")
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise HostError(f"C++ compiler {cxx!r} not found on PATH (set CXX)")
    lib = project / manifest.data["abi"]["library"]
    fresh = not lib.parent.exists()
    proc = subprocess.run([make, "-s", "lib"], cwd=project, capture_output=True, text=True)
    if proc.returncode != 0 or not lib.is_file():
        if fresh:  # leave the project as it was
            shutil.rmtree(lib.parent, ignore_errors=True)
        raise HostError(f"building the C-simulation library of {project} failed: "
                        f"{first_error_line(proc.stderr or proc.stdout)}")
    return proc.stderr


class CsimLibrary:
    """A project's C-simulation shared library through ctypes (ABI in manifest.json).

    ``project``: a project directory (or its manifest.json) or a loaded ``Manifest``.
    ``verify``: check every file against the manifest first (hashes and sizes);
    ``build``: run ``make lib`` (else load the library already built).
    """

    def __init__(self, project, build: bool = True, verify: bool = True):
        self.manifest = project if isinstance(project, Manifest) else Manifest.load(project)
        m = self.manifest
        if verify:
            m.verify(full=True)
        self.project = m.project
        abi = m.data["abi"]
        if int(abi["version"]) != ABI_VERSION:
            raise HostError(f"{m.project}/manifest.json has C ABI version {abi['version']}, "
                            f"this driver speaks {ABI_VERSION}: regenerate the project")
        lib_path = m.project / abi["library"]
        self.build_warnings = ""
        if build or not lib_path.is_file():
            self.build_warnings = build_library(m)
        try:
            self.lib = ctypes.CDLL(str(lib_path.resolve()))
        except OSError as exc:
            raise HostError(f"{lib_path}: cannot load ({exc})") from None
        self.lib.ivit_abi_version.restype = ctypes.c_int32
        if self.lib.ivit_abi_version() != int(abi["version"]):
            raise HostError(f"{lib_path}: ABI version differs from manifest.json "
                            f"(stale build? run `make clean` in the project)")
        self.lib.ivit_trace_size.restype = ctypes.c_int64
        ptrs = [ctypes.c_void_p] * 3
        self.lib.ivit_run.restype = ctypes.c_int32
        self.lib.ivit_run.argtypes = [*ptrs, ctypes.c_int32]
        self.lib.ivit_run_trace.restype = ctypes.c_int32
        self.lib.ivit_run_trace.argtypes = [*ptrs, ctypes.c_void_p]
        self.image_dtype = m.image_dtype
        self.image_shape = m.image_shape
        self.num_classes = m.num_classes
        self.weights = m.load_weights()
        self.trace_layout = abi["trace"]
        self.trace_size = int(self.lib.ivit_trace_size())

    def _images(self, images) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim == len(self.image_shape):
            images = images[None]
        if tuple(images.shape[1:]) != self.image_shape:
            raise HostError(f"image shape {images.shape[1:]} != {self.image_shape}")
        return np.ascontiguousarray(images.astype(self.image_dtype))

    def run(self, images) -> np.ndarray:
        """Logits ``(B, classes)`` int32 for integer images ``(B, C, H, W)``."""
        images = self._images(images)
        logits = np.zeros((images.shape[0], self.num_classes), np.int32)
        rc = self.lib.ivit_run(images.ctypes.data, self.weights.ctypes.data,
                               logits.ctypes.data, images.shape[0])
        if rc != 0:
            raise HostError(f"ivit_run returned {rc}")
        return logits

    def run_trace(self, image) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits ``(1, classes)`` and every layer's output (batch axis 1) for one image."""
        image = self._images(image)
        if image.shape[0] != 1:
            raise HostError("run_trace takes one image")
        logits = np.zeros((1, self.num_classes), np.int32)
        trace = np.zeros(self.trace_size, np.int64)
        rc = self.lib.ivit_run_trace(image.ctypes.data, self.weights.ctypes.data,
                                     logits.ctypes.data, trace.ctypes.data)
        if rc != 0:
            raise HostError("the C-simulation library was built without IVIT_TRACE")
        layers = {}
        for entry in self.trace_layout:
            size = int(np.prod(entry["shape"]))
            off = entry["offset"]
            layers[entry["layer"]] = trace[off:off + size].reshape(entry["shape"])
        return logits, layers
