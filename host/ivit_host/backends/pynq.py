"""The PYNQ backend: ``pynq.Overlay(xclbin)``, ``pynq.allocate`` buffers, ``ip.call``.

The weight buffer is allocated, filled and ``sync_to_device``'d once. Each batch: fill and
sync the image buffer, ``ip.call(image, weights, logits, n)`` (synchronous), then
``logits.sync_from_device()``. ``allocate(..., target=...)`` is left to PYNQ's default
bank: link.cfg places every port where the platform's default bank is reachable.
"""

from __future__ import annotations

import numpy as np

from ..errors import HostError


def import_pynq():
    """``import pynq`` or a HostError saying how to get it."""
    try:
        import pynq
    except ImportError:
        raise HostError("the pynq backend needs the pynq package (pip install pynq, on a "
                        "machine with XRT or a PYNQ board image)") from None
    return pynq


class PynqBackend:
    """Runs the kernel of an .xclbin through PYNQ."""

    name = "pynq"

    def __init__(self, manifest, xclbin, device: int = 0, pynq=None):
        self.manifest = manifest
        self.p = pynq if pynq is not None else import_pynq()
        kwargs = {}
        if device:
            try:
                kwargs["device"] = self.p.Device.devices[int(device)]
            except (AttributeError, IndexError) as exc:
                raise HostError(f"no PYNQ device {device} ({exc})") from None
        try:
            self.overlay = self.p.Overlay(str(xclbin), **kwargs)
        except Exception as exc:
            raise HostError(f"loading {xclbin} with PYNQ failed: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        self.ip = self._find_ip()
        weights = manifest.load_weights()
        self.weights = self.p.allocate((weights.size,), np.int8)
        self.weights[:] = weights
        self.weights.sync_to_device()
        self._batch = 0
        self.image = self.logits = None

    def _find_ip(self):
        """The compute unit of the manifest's kernel (``ivit_top_1`` or ``ivit_top``)."""
        name = self.manifest.kernel_name
        names = sorted(getattr(self.overlay, "ip_dict", {}) or {})
        for cand in [n for n in names if n == name or n.startswith(name + "_")] + [name]:
            ip = getattr(self.overlay, cand, None)
            if ip is not None:
                return ip
        raise HostError(f"the overlay has no kernel {name!r} (IPs: {', '.join(names) or 'none'})")

    def _buffers(self, batch: int) -> None:
        if batch <= self._batch:
            return
        self._free_batch()
        m = self.manifest
        self.image = self.p.allocate((batch, *m.image_shape), m.image_dtype)
        self.logits = self.p.allocate((batch, m.num_classes), np.int32)
        self._batch = batch

    def run(self, images: np.ndarray) -> np.ndarray:
        """int32 logits ``(B, classes)``: fill, sync, call, sync back."""
        images = np.asarray(images, dtype=self.manifest.image_dtype)
        batch = images.shape[0]
        self._buffers(batch)
        self.image[:batch] = images
        self.image.sync_to_device()
        self.ip.call(self.image, self.weights, self.logits, batch)
        self.logits.sync_from_device()
        return np.array(self.logits[:batch], dtype=np.int32)

    def _free_batch(self) -> None:
        for buf in (self.image, self.logits):
            if buf is not None and hasattr(buf, "freebuffer"):
                buf.freebuffer()
        self.image = self.logits = None
        self._batch = 0

    def close(self) -> None:
        """Free the buffers and the overlay (XRT needs both before reprogramming)."""
        self._free_batch()
        if self.weights is not None and hasattr(self.weights, "freebuffer"):
            self.weights.freebuffer()
        self.weights = None
        if hasattr(self.overlay, "free"):
            self.overlay.free()
