"""Execution backends: each takes quantized images ``(B, C, H, W)`` in the kernel's input
dtype and returns int32 logits ``(B, classes)``.

``csim``: the generated project's C-simulation as a shared library (ctypes, runs anywhere
with g++ and make). ``xrt``: an .xclbin on an XRT device through pyxrt. ``pynq``: an .xclbin
through PYNQ's Overlay/allocate.
"""

BACKENDS = ("csim", "xrt", "pynq")


def create(name: str, manifest, xclbin=None, device: int = 0, module=None):
    """Instantiate backend ``name`` for ``manifest`` (``module`` replaces pyxrt/pynq in tests)."""
    from ..errors import HostError

    if name == "csim":
        from .csim import CsimBackend

        return CsimBackend(manifest)
    if name == "xrt":
        from .xrt import XrtBackend

        return XrtBackend(manifest, xclbin, device, pyxrt=module)
    if name == "pynq":
        from .pynq import PynqBackend

        return PynqBackend(manifest, xclbin, device, pynq=module)
    raise HostError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
