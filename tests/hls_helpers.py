"""Helpers for the HLS tests: compile C++ with the project's warning flags, load via ctypes."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HLS_DIR = REPO / "hw" / "hls"
#: The flags every kernel must compile cleanly with (zero warnings).
CXXFLAGS = ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unknown-pragmas",
            "-Wno-unused-label"]


def build_shared(sources: list[Path], out: Path, include: list[Path] = ()) -> Path:
    """Compile ``sources`` into a shared library; fail on any compiler warning."""
    cmd = ["g++", *CXXFLAGS, "-fPIC", "-shared", *(f"-I{p}" for p in include),
           *map(str, sources), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"g++ failed:\n{proc.stderr}"
    assert proc.stderr.strip() == "", f"g++ printed warnings:\n{proc.stderr}"
    return out


_CTYPES = {
    np.int8: ctypes.c_int8, np.uint8: ctypes.c_uint8, np.int16: ctypes.c_int16,
    np.uint16: ctypes.c_uint16, np.int32: ctypes.c_int32, np.int64: ctypes.c_int64,
}


def ptr(arr: np.ndarray, dtype) -> ctypes.c_void_p:
    """A C pointer to ``arr`` after checking it is C-contiguous with exactly ``dtype``."""
    assert arr.dtype == np.dtype(dtype) and arr.flags["C_CONTIGUOUS"], (arr.dtype, dtype)
    return ctypes.c_void_p(arr.ctypes.data)


def as_c(arr, dtype) -> np.ndarray:
    """Convert to a C-contiguous array of ``dtype``, refusing values that do not fit."""
    arr = np.asarray(arr)
    out = np.ascontiguousarray(arr.astype(dtype))
    np.testing.assert_array_equal(out.astype(np.int64), arr.astype(np.int64),
                                  err_msg=f"values do not fit {np.dtype(dtype)}")
    return out
