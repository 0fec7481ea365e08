"""The C-simulation backend: ``make lib`` in the project, then ``ivit_run`` through ctypes."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import numpy as np

from ..errors import HostError

ABI_VERSION = 1


class CsimBackend:
    """Runs the generated kernel's C++ on the CPU (bit-exact with the hardware's C model)."""

    name = "csim"

    def __init__(self, manifest):
        self.manifest = manifest
        abi = manifest.data["abi"]
        if int(abi["version"]) != ABI_VERSION:
            raise HostError(f"manifest.json ABI version {abi['version']}, this host speaks "
                            f"{ABI_VERSION}")
        self.lib_path = manifest.project / abi["library"]
        self._build()
        try:
            self.lib = ctypes.CDLL(str(self.lib_path))
        except OSError as exc:
            raise HostError(f"{self.lib_path}: cannot load ({exc})") from None
        if self.lib.ivit_abi_version() != int(abi["version"]):
            raise HostError(f"{self.lib_path}: ABI version differs from manifest.json")
        self.lib.ivit_run.restype = ctypes.c_int32
        self.lib.ivit_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_int32]
        self.weights = manifest.load_weights()

    def _build(self) -> None:
        """``make lib`` (a no-op when the library is up to date)."""
        project = self.manifest.project
        if not (project / "Makefile").is_file():
            raise HostError(f"{project}: the csim backend needs the full generated project "
                            f"(no Makefile)")
        make = shutil.which("make")
        if make is None:
            raise HostError("the csim backend needs `make` and a C++ compiler on PATH")
        proc = subprocess.run([make, "-s", "lib"], cwd=project, capture_output=True, text=True,
                              env={**os.environ})
        if proc.returncode != 0 or not self.lib_path.is_file():
            lines = (proc.stderr or proc.stdout).splitlines()
            first = next((l for l in lines if "error" in l.lower()), lines[0] if lines else "")
            raise HostError(f"building the C-simulation library failed: {first.strip()}")

    def run(self, images: np.ndarray) -> np.ndarray:
        """int32 logits ``(B, classes)`` for contiguous images of the kernel's dtype."""
        images = np.ascontiguousarray(images, dtype=self.manifest.image_dtype)
        logits = np.zeros((images.shape[0], self.manifest.num_classes), np.int32)
        rc = self.lib.ivit_run(images.ctypes.data, self.weights.ctypes.data,
                               logits.ctypes.data, images.shape[0])
        if rc != 0:
            raise HostError(f"ivit_run returned {rc}")
        return logits

    def close(self) -> None:
        """Nothing to release (the library stays loaded for the process)."""
