"""Open an accelerator for a generated project and classify images with it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import backends
from .errors import HostError
from .manifest import Manifest
from .preprocess import preprocess_files, quantize
from .xclbin import XclbinInfo, check_xclbin, read_xclbin

#: Where ``make hw`` / ``make hw_emu`` / ``make sw_emu`` (vitis.mk) put the hardware binary, per target.
XCLBIN_PATH = "vitis/{target}/ivit_top.xclbin"


def topk(logits: np.ndarray, k: int) -> np.ndarray:
    """Class indices by descending logit; ties go to the lower index (integer argmax)."""
    order = np.argsort(-np.asarray(logits, dtype=np.int64), axis=-1, kind="stable")
    return order[:, :k]


@dataclass
class InferResult:
    """Logits and timing of one ``infer`` call."""

    logits: np.ndarray                 # (N, classes) int32
    top: np.ndarray                    # (N, k) class indices
    images: np.ndarray                 # (N, C, H, W) the quantized inputs that ran
    batch_seconds: list[float] = field(default_factory=list)  # backend time per batch
    preprocess_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """Backend time of all batches."""
        return float(sum(self.batch_seconds))

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / max(len(self.logits), 1)


class Accelerator:
    """A project's kernel behind one backend. Use ``open_accelerator`` to create one."""

    def __init__(self, manifest: Manifest, backend, xclbin: XclbinInfo | None = None):
        self.manifest = manifest
        self.backend = backend
        self.xclbin = xclbin

    @property
    def num_classes(self) -> int:
        return self.manifest.num_classes

    def prepare(self, images) -> np.ndarray:
        """Quantized images ``(N, C, H, W)`` from image files, normalised float arrays
        (quantized with the recorded scale) or already-quantized integer arrays."""
        m = self.manifest
        cfg, shape = m.config, m.image_shape
        if isinstance(images, (str, Path)):
            images = [images]
        if isinstance(images, (list, tuple)) and images and isinstance(images[0], (str, Path)):
            return preprocess_files(images, m.input_cfg, cfg["img_size"], cfg["in_chans"])
        arr = np.asarray(images)
        if arr.ndim == len(shape):
            arr = arr[None]
        if arr.ndim != len(shape) + 1 or tuple(arr.shape[1:]) != shape:
            raise HostError(f"images of shape {arr.shape}, the kernel takes (N, {', '.join(map(str, shape))})")
        if np.issubdtype(arr.dtype, np.floating):
            return quantize(arr, m.input_cfg["scale"], m.input_cfg["bits"])
        if not np.issubdtype(arr.dtype, np.integer):
            raise HostError(f"images of dtype {arr.dtype}: expected floats or integers")
        hi = (1 << (int(m.input_cfg["bits"]) - 1)) - 1
        if arr.size and (arr.min() < -hi - 1 or arr.max() > hi):  # the golden model's range
            raise HostError(f"quantized images must lie in [{-hi - 1}, {hi}]")
        return arr.astype(np.int64)

    def infer(self, images, top: int = 5, batch_size: int | None = None) -> InferResult:
        """Integer logits and top-``top`` classes for ``images`` (files or arrays), run in
        batches of ``batch_size`` (default: all at once); backend time per batch."""
        start = time.perf_counter()
        q = self.prepare(images)
        prep = time.perf_counter() - start
        n = q.shape[0]
        if n == 0:
            raise HostError("no images to classify")
        batch_size = n if not batch_size else int(batch_size)
        if batch_size < 1:
            raise HostError("batch size must be >= 1")
        dev = np.ascontiguousarray(q.astype(self.manifest.image_dtype))
        outs, times = [], []
        for i in range(0, n, batch_size):
            t0 = time.perf_counter()
            outs.append(self.backend.run(dev[i:i + batch_size]))
            times.append(time.perf_counter() - t0)
        logits = np.concatenate(outs).astype(np.int32)
        return InferResult(logits, topk(logits, min(top, self.num_classes)), q, times, prep)

    def close(self) -> None:
        """Release the backend's device resources."""
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def resolve_project(project) -> Path:
    """A project directory from a directory or a path to its manifest.json."""
    path = Path(project)
    return path.parent if path.name == "manifest.json" or path.is_file() else path


def open_accelerator(project, backend: str = "csim", xclbin=None, device: int = 0,
                     target: str = "hw", module=None) -> Accelerator:
    """Open the kernel of a generated ``project`` (directory or manifest.json) on ``backend``.

    Everything is checked before anything runs: the manifest's recorded hashes of the weight
    blob (and of the kernel sources when present); for ``xrt``/``pynq``, the .xclbin
    (``xclbin`` or ``vitis/<target>/ivit_top.xclbin``) must hold the manifest's kernel with
    the same arguments and, when the link step's stamp is there, the same manifest hash.
    ``module`` stands in for pyxrt/pynq (tests).
    """
    if backend not in backends.BACKENDS:
        raise HostError(f"unknown backend {backend!r}; choose one of {', '.join(backends.BACKENDS)}")
    manifest = Manifest.load(resolve_project(project))
    manifest.verify()
    info = None
    if backend != "csim":
        path = Path(xclbin) if xclbin else manifest.project / XCLBIN_PATH.format(target=target)
        info = read_xclbin(path)
        check_xclbin(info, manifest)
        xclbin = path
    return Accelerator(manifest, backends.create(backend, manifest, xclbin, device, module), info)
