"""The XRT backend (pyxrt): one device, the project's kernel, buffer objects per argument.

Order of operations, following XRT's native API: open ``pyxrt.device(i)``; load the xclbin
(``pyxrt.xclbin`` + ``device.register_xclbin`` + ``pyxrt.hw_context`` where the binding has
them, else ``device.load_xclbin``); ``pyxrt.kernel``; the weight buffer is allocated in the
memory bank of kernel argument 1 (``kernel.group_id(1)``), written and synced to the device
once. Each batch: write + sync the image buffer (bank of argument 0), ``run = kernel(image,
weights, logits, n)``, ``run.wait()``, sync the logits buffer from the device and read it.
"""

from __future__ import annotations

import numpy as np

from ..errors import HostError

ARG_IMAGE, ARG_WEIGHTS, ARG_LOGITS = 0, 1, 2


def import_pyxrt():
    """``import pyxrt`` or a HostError saying how to get it."""
    try:
        import pyxrt
    except ImportError:
        raise HostError("the xrt backend needs pyxrt (install XRT and `source "
                        "/opt/xilinx/xrt/setup.sh`); no XRT found") from None
    return pyxrt


class XrtBackend:
    """Runs the kernel of an .xclbin on an XRT device."""

    name = "xrt"

    def __init__(self, manifest, xclbin, device: int = 0, pyxrt=None):
        self.manifest = manifest
        self.x = pyxrt if pyxrt is not None else import_pyxrt()
        x = self.x
        try:
            self.device = x.device(int(device))
        except Exception as exc:  # XRT raises RuntimeError when there is no such device
            raise HostError(f"no XRT device {device} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
        try:
            if hasattr(x, "hw_context") and hasattr(self.device, "register_xclbin"):
                xb = x.xclbin(str(xclbin))
                self.uuid = self.device.register_xclbin(xb)
                self.context = x.hw_context(self.device, self.uuid)
                self.kernel = x.kernel(self.context, manifest.kernel_name)
            else:
                self.context = None
                self.uuid = self.device.load_xclbin(str(xclbin))
                self.kernel = x.kernel(self.device, self.uuid, manifest.kernel_name)
        except HostError:
            raise
        except Exception as exc:
            raise HostError(f"loading {xclbin} on XRT device {device} failed: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        weights = manifest.load_weights()
        self.bo_weights = self._bo(weights.nbytes, ARG_WEIGHTS)
        self.bo_weights.write(weights, 0)
        self.bo_weights.sync(x.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE, weights.nbytes, 0)
        self._batch = 0
        self.bo_image = self.bo_logits = None

    def _bo(self, nbytes: int, arg: int):
        return self.x.bo(self.device, int(nbytes), self.x.bo.normal, self.kernel.group_id(arg))

    def _buffers(self, batch: int) -> None:
        """(Re)allocate the image and logits buffers when the batch grows."""
        if batch <= self._batch:
            return
        m = self.manifest
        self.bo_image = self._bo(batch * int(np.prod(m.image_shape)) * m.image_dtype.itemsize,
                                 ARG_IMAGE)
        self.bo_logits = self._bo(batch * m.num_classes * 4, ARG_LOGITS)
        self._batch = batch

    def run(self, images: np.ndarray) -> np.ndarray:
        """int32 logits ``(B, classes)``: write, sync, run, wait, sync back, read."""
        x, m = self.x, self.manifest
        images = np.ascontiguousarray(images, dtype=m.image_dtype)
        batch = images.shape[0]
        self._buffers(batch)
        self.bo_image.write(images, 0)
        self.bo_image.sync(x.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE, images.nbytes, 0)
        run = self.kernel(self.bo_image, self.bo_weights, self.bo_logits, batch)
        state = run.wait()
        done = getattr(getattr(x, "ert_cmd_state", None), "ERT_CMD_STATE_COMPLETED", None)
        if done is not None and state is not None and state != done:
            raise HostError(f"kernel {m.kernel_name} ended in state {state}")
        nbytes = batch * m.num_classes * 4
        self.bo_logits.sync(x.xclBOSyncDirection.XCL_BO_SYNC_BO_FROM_DEVICE, nbytes, 0)
        raw = np.asarray(self.bo_logits.read(nbytes, 0), dtype=np.int8)
        return raw.view(np.int32).reshape(batch, m.num_classes).copy()

    def close(self) -> None:
        """Drop the buffer objects and the kernel (XRT frees them with the last reference)."""
        self.bo_image = self.bo_logits = self.bo_weights = None
        self.kernel = self.context = None
