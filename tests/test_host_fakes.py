"""Fakes of the documented pyxrt and pynq interfaces for the host driver's tests.

Each fake keeps a host copy and a separate "device" copy of every buffer and logs every call;
its kernel computes on the device copies only (through ``compute``, the project's C-simulation
library), so a missing or misplaced sync gives wrong logits, not just a different log.
"""

from __future__ import annotations

import numpy as np


class FakeXrt:
    """``pyxrt``: device, xclbin, hw_context, kernel, bo, xclBOSyncDirection, ert_cmd_state."""

    class xclBOSyncDirection:  # noqa: N801 - the binding's names
        XCL_BO_SYNC_BO_TO_DEVICE = "TO_DEVICE"
        XCL_BO_SYNC_BO_FROM_DEVICE = "FROM_DEVICE"

    class ert_cmd_state:  # noqa: N801
        ERT_CMD_STATE_COMPLETED = "COMPLETED"

    def __init__(self, compute, devices=1, new_api=True):
        self.log: list[tuple] = []
        self.compute = compute
        self.devices = devices
        fake = self

        class bo:  # noqa: N801
            normal = "normal"

            def __init__(self, device, nbytes, flags, group):
                fake.log.append(("bo", nbytes, flags, group))
                self.host = np.zeros(nbytes, np.int8)
                self.dev = np.zeros(nbytes, np.int8)
                self.group = group

            def write(self, data, offset):
                raw = np.frombuffer(memoryview(data).cast("B"), dtype=np.int8)
                fake.log.append(("write", self.group, raw.size, offset))
                self.host[offset:offset + raw.size] = raw

            def sync(self, direction, size, offset):
                fake.log.append(("sync", self.group, direction, size, offset))
                src, dst = ((self.host, self.dev) if direction == "TO_DEVICE"
                            else (self.dev, self.host))
                dst[offset:offset + size] = src[offset:offset + size]

            def read(self, size, offset):
                fake.log.append(("read", self.group, size, offset))
                return self.host[offset:offset + size].copy()

        self.bo = bo
        self.new_api = new_api

    def __getattr__(self, name):
        # hw_context/xclbin exist only in bindings with the newer API
        if name in ("hw_context", "xclbin") and self.new_api:
            return getattr(self, "_" + name)
        raise AttributeError(name)

    def device(self, index):
        self.log.append(("device", index))
        if index >= self.devices:
            raise RuntimeError(f"No devices found with index {index}")
        return FakeXrtDevice(self)

    def _xclbin(self, path):
        self.log.append(("xclbin", path))
        return ("xclbin", path)

    def _hw_context(self, device, uuid):
        self.log.append(("hw_context", uuid))
        return ("ctx", uuid)

    def kernel(self, *args):
        self.log.append(("kernel", *[a if isinstance(a, (str, tuple)) else type(a).__name__
                                     for a in args]))
        return FakeXrtKernel(self)


class FakeXrtDevice:
    def __init__(self, fake):
        self.fake = fake
        if fake.new_api:
            self.register_xclbin = self._register

    def _register(self, xb):
        self.fake.log.append(("register_xclbin", xb[1]))
        return "uuid-1"

    def load_xclbin(self, path):
        self.fake.log.append(("load_xclbin", path))
        return "uuid-1"


class FakeXrtKernel:
    GROUPS = {0: 10, 1: 11, 2: 10}  # image and logits share gmem0's bank

    def __init__(self, fake):
        self.fake = fake

    def group_id(self, arg):
        self.fake.log.append(("group_id", arg))
        return self.GROUPS[arg]

    def __call__(self, image, weights, logits, n):
        self.fake.log.append(("run", image.group, weights.group, logits.group, n))
        out = self.fake.compute(image.dev, weights.dev, n)
        raw = out.astype(np.int32).view(np.int8).reshape(-1)
        logits.dev[:raw.size] = raw
        return FakeRun(self.fake)


class FakeRun:
    def __init__(self, fake):
        self.fake = fake

    def wait(self):
        self.fake.log.append(("wait",))
        return FakeXrt.ert_cmd_state.ERT_CMD_STATE_COMPLETED


class FakeBuffer(np.ndarray):
    """``pynq.allocate``'s Buffer: an ndarray with sync_to_device/sync_from_device."""

    def sync_to_device(self):
        self.fake.log.append(("sync_to_device", self.tag))
        self.dev[...] = np.asarray(self)

    def sync_from_device(self):
        self.fake.log.append(("sync_from_device", self.tag))
        np.asarray(self)[...] = self.dev

    def freebuffer(self):
        self.fake.log.append(("freebuffer", self.tag))


class FakePynq:
    """``pynq``: Overlay(path) with ip_dict and a kernel IP, allocate(shape, dtype)."""

    def __init__(self, compute, ip_name="ivit_top_1"):
        self.log: list[tuple] = []
        self.compute = compute
        self.ip_name = ip_name
        self.count = 0

    def allocate(self, shape, dtype):
        self.count += 1
        tag = f"buf{self.count}"
        self.log.append(("allocate", tuple(shape), np.dtype(dtype).name))
        buf = np.zeros(shape, dtype).view(FakeBuffer)
        buf.fake, buf.tag, buf.dev = self, tag, np.zeros(shape, dtype)
        return buf

    def Overlay(self, path):  # noqa: N802 - pynq's name
        self.log.append(("Overlay", path))
        return FakeOverlay(self)


class FakeOverlay:
    def __init__(self, fake):
        self.fake = fake
        self.ip_dict = {fake.ip_name: {"type": "xilinx.com:hls:ivit_top:1.0"}}
        setattr(self, fake.ip_name, FakeIP(fake))

    def free(self):
        self.fake.log.append(("free",))


class FakeIP:
    def __init__(self, fake):
        self.fake = fake

    def call(self, image, weights, logits, n):
        self.fake.log.append(("call", image.tag, weights.tag, logits.tag, n))
        out = self.fake.compute(image.dev.reshape(-1).view(np.int8), weights.dev, n)
        logits.dev.reshape(-1)[:out.size] = out.reshape(-1)
