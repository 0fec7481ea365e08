"""Lower an integer model to an HLS plan: typed tensors, shared buffers, config structs, weights.

The plan is plain data that the jinja templates render. Each layer becomes one config struct
(dims, widths, constants and per-channel arrays, from the op table's ``hls`` hook) and one
kernel call of the same shape for every layer: ``ivit::layer::KERNEL<CFG>(inputs, output
[, weights])``. Weights go into one int8 blob read over m_axi.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import IvitError
from ..ir.model import IntegerModel, Layer
from ..ops.base import IntType, TensorType

#: Weight matrices start on this byte boundary in the weights blob (one AXI burst line).
WEIGHT_ALIGN = 64

_NUMPY = {"int8_t": np.int8, "int16_t": np.int16, "int32_t": np.int32, "int64_t": np.int64,
          "uint8_t": np.uint8, "uint16_t": np.uint16, "uint32_t": np.uint32,
          "uint64_t": np.uint64}
#: C++ enumerators (hw/hls/ivit/layers.h) of the string-valued attributes.
ENUMS = {
    "gelu_form": {"shift": "ivit::layer::GELU_SHIFT", "symmetric": "ivit::layer::GELU_SYMMETRIC",
                  "rowmax": "ivit::layer::GELU_ROWMAX", "table": "ivit::layer::GELU_TABLE"},
    "exp_form": {"corrected": "ivit::layer::EXP_CORRECTED", "paper": "ivit::layer::EXP_PAPER"},
}


def ctype_of(t: IntType) -> str:
    """Smallest standard C integer type holding ``t``."""
    for width in (8, 16, 32, 64):
        if t.bits <= width:
            return f"{'' if t.signed else 'u'}int{width}_t"
    raise IvitError(f"{t} values are wider than the HLS kernels support (64 bits)")


def numpy_dtype(ctype: str):
    """The numpy dtype of a C integer type name."""
    return _NUMPY[ctype]


@dataclass
class Tensor:
    """A layer output: C type, shape without the batch axis, buffer and trace offset."""

    name: str
    ctype: str
    shape: tuple
    buffer: str = ""
    trace_offset: int = 0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class Field:
    """A ``static const`` member of a config struct."""

    ctype: str
    name: str
    value: object


@dataclass
class HlsLayer:
    """One layer: its config struct (``cname``) and the kernel templated on it."""

    index: int
    layer: Layer
    cname: str
    kernel: str
    out: Tensor
    inputs: list
    types: dict = field(default_factory=dict)      # typedef name -> ctype
    fields: list = field(default_factory=list)     # Field
    arrays: list = field(default_factory=list)     # (ctype, name, values)
    weighted: bool = False

    @property
    def args(self) -> list[str]:
        """Arguments of the kernel call: input buffers, output buffer, the weights port."""
        ins = ["img" if t.buffer == "image" else t.buffer for t in self.inputs]
        return ins + [self.out.buffer] + (["weights"] if self.weighted else [])


@dataclass
class Plan:
    """Everything the templates need to render a project for one model."""

    model: IntegerModel
    image: Tensor
    ops: list                # HlsLayer, in model order
    buffers: list            # (name, ctype, size)
    weights: bytes           # the int8 weights blob
    weight_layout: list      # (layer name, offset, rows, cols) of each transposed matrix
    num_classes: int
    trace_size: int
    rows: int
    cols: int

    @property
    def output(self) -> Tensor:
        return self.ops[-1].out

    def buffer_bytes(self) -> int:
        """Bytes of the on-chip activation buffers."""
        return sum(size * np.dtype(numpy_dtype(c)).itemsize for _n, c, size in self.buffers)

    def constant_bytes(self) -> int:
        """Bytes of the per-layer constant arrays at their C types."""
        return sum(np.asarray(v).size * np.dtype(numpy_dtype(c)).itemsize
                   for op in self.ops for c, _n, v in op.arrays)


def _fits(where: str, values, ctype: str) -> np.ndarray:
    values = np.asarray(values).astype(np.int64)
    info = np.iinfo(numpy_dtype(ctype))
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise IvitError(f"{where}: values outside {ctype}; the HLS kernels cannot hold them")
    return values


class _Lowering:
    """The context the op table's ``hls`` hooks build their config structs with."""

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.blob = bytearray()
        self.layout: list = []
        self.current = None      # (index, layer, input Tensors, output Tensor)

    def enum(self, name: str, value: str) -> str:
        try:
            return ENUMS[name][value]
        except KeyError:
            raise IvitError(f"{name}={value!r} has no HLS kernel") from None

    def _weight(self, layer: Layer, wt: np.ndarray) -> int:
        """Append a (K x N) int8 matrix to the blob; return its byte offset."""
        w = _fits(f"{layer.name}.weight", wt, "int8_t").astype(np.int8)
        self.blob.extend(b"\0" * ((-len(self.blob)) % WEIGHT_ALIGN))
        offset = len(self.blob)
        self.blob.extend(np.ascontiguousarray(w).tobytes())
        self.layout.append((layer.name, offset, int(w.shape[0]), int(w.shape[1])))
        return offset

    def layer(self, kernel: str, ins: list[TensorType], out: TensorType, dims: dict,
              consts: dict | None = None, arrays: list | None = None,
              weight: np.ndarray | None = None) -> HlsLayer:
        """Build the config struct of the current layer (called by ``OpDef.hls``)."""
        index, layer, in_tensors, out_tensor = self.current
        op = HlsLayer(index, layer, f"L{index}", kernel, out_tensor, in_tensors)
        names = ["in_t", "in1_t", "in2_t"]
        op.types = {names[i]: t.ctype for i, t in enumerate(in_tensors)}
        op.types["out_t"] = out_tensor.ctype
        if layer.op.unit == "array":
            op.fields += [Field("int", "R", self.rows), Field("int", "C", self.cols)]
        op.fields += [Field("int", k, int(v)) for k, v in dims.items()]
        for key, value in (consts or {}).items():
            if isinstance(value, tuple):
                t, value = value
                ctype = "int64_t" if ctype_of(t).startswith("int64") or t.bits > 31 else "int"
                op.fields.append(Field(ctype, key, int(value)))
            elif isinstance(value, str):
                op.fields.append(Field("int", key, value))
            else:
                op.fields.append(Field("int" if abs(int(value)) < 1 << 31 else "int64_t", key,
                                       int(value)))
        for name, t, values in arrays or []:
            ctype = ctype_of(t)
            op.arrays.append((ctype, name,
                              _fits(f"{layer.name}.{name}", np.asarray(values).reshape(-1), ctype)))
        if weight is not None:
            op.fields.append(Field("long", "W_OFF", self._weight(layer, weight)))
            op.weighted = True
        return op


def _allocate(ops: list, image: Tensor) -> list:
    """Give each tensor a buffer; a buffer is reused once its tensor is no longer read."""
    last_use = {}
    for op in ops:
        for t in op.inputs:
            last_use[t.name] = op.index
    last_use[ops[-1].out.name] = len(ops)
    buffers: list = []          # [name, ctype, size]
    free: dict = {}             # (ctype, size) -> [buffer names]
    for op in ops:
        key = (op.out.ctype, op.out.size)
        if free.get(key):
            op.out.buffer = free[key].pop()
        else:
            op.out.buffer = f"buf{len(buffers)}"
            buffers.append((op.out.buffer, op.out.ctype, op.out.size))
        for t in {t.name: t for t in op.inputs}.values():
            if t is not image and last_use.get(t.name) == op.index:
                free.setdefault((t.ctype, t.size), []).append(t.buffer)
    return buffers


def lower(model: IntegerModel, rows: int = 16, cols: int = 16) -> Plan:
    """Build the HLS plan of ``model`` for an ``rows x cols`` array (``IvitError`` for what
    the kernels cannot do)."""
    model.validate()
    types = model.tensor_types()
    image = Tensor("image", ctype_of(types["image"].dtype), types["image"].shape, buffer="image")
    tensors = {"image": image}
    low = _Lowering(rows, cols)
    ops: list = []
    offset = 0
    for index, layer in enumerate(model.layers):
        t = types[layer.name]
        out = Tensor(layer.name, ctype_of(t.dtype), tuple(t.shape), trace_offset=offset)
        offset += out.size
        ins = [tensors[name] for name in layer.inputs]
        low.current = (index, layer, ins, out)
        ops.append(layer.op.hls(layer, [types[s] for s in layer.inputs], t, low))
        tensors[layer.name] = out
    buffers = _allocate(ops, image)
    final = ops[-1].out
    if final.shape[0] != 1:
        raise IvitError(f"the last layer {final.name} has {final.shape[0]} rows; "
                        "expected the head's single row of logits")
    if final.ctype not in ("int8_t", "int16_t", "int32_t"):
        raise IvitError(f"the logits ({final.ctype}) do not fit the int32 output port")
    low.blob.extend(b"\0" * ((-len(low.blob)) % WEIGHT_ALIGN))
    return Plan(model, image, ops, buffers, bytes(low.blob), low.layout,
                int(final.shape[-1]), offset, rows, cols)
