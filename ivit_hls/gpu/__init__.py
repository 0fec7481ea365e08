"""GPU executors of the integer model (verification level L4): Triton kernels and TVM.

``run(model, images, backend)`` returns the same integers as ``golden.run`` (a
``GoldenResult`` with logits and, with ``trace=True``, every layer's output):

* ``"triton"``: the Triton kernels on CUDA, or in Triton's interpreter on a CPU-only machine;
* ``"tvm-llvm"``: the TVM-compiled kernels on the CPU;
* ``"tvm-cuda"``: the TVM-compiled kernels on a CUDA GPU.

``check(model, images, backend)`` runs both and raises ``IvitError`` naming the first layer
that differs. See docs/gpu.md.
"""

from __future__ import annotations

import numpy as np

from ..errors import IvitError

BACKENDS = ("tvm-llvm", "tvm-cuda", "triton")


def _images(model, images) -> np.ndarray:
    from ..golden.executor import _check_image  # the golden model's own input rules

    if int(model.config["input"]["bits"]) > 8:
        raise IvitError("the GPU executors take int8 images (the model's input is wider)")
    return _check_image(model, images)


def executor(model, backend: str):
    """An executor object for ``backend`` (reuse it to keep compiled kernels and weights)."""
    if backend == "triton":
        from .triton import TritonExecutor

        return TritonExecutor(model)
    if backend in ("tvm-llvm", "tvm-cuda"):
        from .tvm import TvmExecutor

        return TvmExecutor(model, target=backend.split("-", 1)[1])
    raise IvitError(f"unknown GPU backend {backend!r} (one of {', '.join(BACKENDS)})")


def run(model, images, backend: str = "tvm-llvm", trace: bool = False, runner=None):
    """Execute ``model`` on integer images ``(B, C, H, W)`` with a GPU backend.

    ``runner``: an ``executor(model, backend)`` to reuse. Returns a ``GoldenResult``.
    """
    from ..golden import GoldenResult

    imgs = _images(model, images)
    runner = runner if runner is not None else executor(model, backend)
    trace_out = runner.run_numpy(imgs, trace=trace)
    logits = trace_out[model.output].reshape(imgs.shape[0], -1)
    kept = trace_out if trace else {}
    return GoldenResult(logits=logits, trace=kept)


def check(model, images, backend: str = "tvm-llvm", runner=None) -> None:
    """Run ``backend`` and the golden model with traces; ``IvitError`` names the first
    layer whose integers differ."""
    from .. import golden

    want = golden.run(model, images, trace=True)
    got = run(model, images, backend=backend, trace=True, runner=runner)
    problem = golden.first_mismatch(want.trace, got.trace, [l.name for l in model.layers])
    if problem is not None:
        raise IvitError(f"{backend} differs from the golden model: {problem}")


__all__ = ["BACKENDS", "executor", "run", "check"]
