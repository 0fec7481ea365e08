"""Lower an integer model to an HLS plan: typed tensors, shared buffers, constants, weights.

The plan is plain data that the jinja templates render: one kernel call per layer with its
per-layer constants (params header) and weight offset (one int8 weights blob on m_axi).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import IvitError
from ..ir.model import IntegerModel, Layer

#: Weight matrices start on this byte boundary in the weights blob (one AXI burst line).
WEIGHT_ALIGN = 64

_SIGNED = {8: "int8_t", 16: "int16_t", 32: "int32_t"}
_UNSIGNED = {8: "uint8_t", 16: "uint16_t", 32: "uint32_t"}
_NUMPY = {"int8_t": np.int8, "int16_t": np.int16, "int32_t": np.int32, "int64_t": np.int64,
          "uint8_t": np.uint8, "uint16_t": np.uint16, "uint32_t": np.uint32}


def ctype_for(bits: int, signed: bool = True) -> str:
    """Smallest standard C integer type holding ``bits`` (un)signed bits."""
    table = _SIGNED if signed else _UNSIGNED
    for width in sorted(table):
        if bits <= width:
            return table[width]
    raise IvitError(f"{bits}-bit tensors are wider than the HLS kernels support (32 bits)")


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
class Op:
    """One kernel call: the layer, its C identifier, output and input tensors, its data."""

    index: int
    layer: Layer
    cname: str
    out: Tensor
    inputs: list
    data: dict = field(default_factory=dict)


@dataclass
class Plan:
    """Everything the templates need to render a project for one model."""

    model: IntegerModel
    image: Tensor
    ops: list
    buffers: list            # (name, ctype, size)
    arrays: list             # (cname, ctype, ndarray) constant per-channel arrays
    scalars: list            # (cname, ctype, int)
    weights: bytes           # the int8 weights blob
    weight_layout: list      # (layer name, offset, rows, cols) of each transposed matrix
    num_classes: int
    trace_size: int

    @property
    def output(self) -> Tensor:
        return self.ops[-1].out


def _fits(name: str, values: np.ndarray, ctype: str) -> np.ndarray:
    values = np.asarray(values).astype(np.int64)
    info = np.iinfo(numpy_dtype(ctype))
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise IvitError(f"{name}: values outside {ctype}; the HLS kernels cannot hold them")
    return values


def _out_tensor(layer: Layer, ins: list) -> Tensor:
    a = layer.attrs
    kind = layer.kind
    if kind == "patch_embed":
        gh, gw = (a["grid"], a["grid"]) if isinstance(a["grid"], int) else a["grid"]
        return Tensor(layer.name, ctype_for(a["out_bits"]), (1 + gh * gw, a["dim"]))
    x = ins[0]
    if kind == "layernorm":
        rows = 1 if a["tokens"] == "cls" else x.shape[0]
        return Tensor(layer.name, ctype_for(a["out_bits"]), (rows, x.shape[1]))
    if kind == "linear":
        out_dim, in_dim = layer.params["weight"].shape
        if in_dim != x.shape[-1]:
            raise IvitError(f"layer {layer.name}: weight expects {in_dim} inputs, gets {x.shape[-1]}")
        bits = a["out_bits"]
        return Tensor(layer.name, "int32_t" if bits is None else ctype_for(bits),
                      (x.shape[0], out_dim))
    if kind in ("qk_matmul", "pv_matmul"):
        qkv = ins[0] if kind == "qk_matmul" else ins[1]
        h, hd = a["heads"], a["head_dim"]
        if qkv.shape[-1] != 3 * h * hd:
            raise IvitError(f"layer {layer.name}: qkv width {qkv.shape[-1]} != 3*{h}*{hd}")
        t = qkv.shape[0]
        shape = (h, t, t) if kind == "qk_matmul" else (t, h * hd)
        return Tensor(layer.name, ctype_for(a["out_bits"]), shape)
    if kind == "shiftmax":
        return Tensor(layer.name, ctype_for(a["out_bits"], signed=False), x.shape)
    if kind == "gelu":
        return Tensor(layer.name, ctype_for(a["out_bits"]), x.shape)
    if kind == "residual_add":
        if ins[0].shape != ins[1].shape:
            raise IvitError(f"layer {layer.name}: branch {ins[0].shape} != residual {ins[1].shape}")
        return Tensor(layer.name, ctype_for(a["out_bits"]), x.shape)
    raise IvitError(f"layer {layer.name}: kind {kind!r} has no HLS kernel")


class _Lowering:
    def __init__(self, model: IntegerModel):
        self.model = model
        self.arrays: list = []
        self.scalars: list = []
        self.blob = bytearray()
        self.layout: list = []

    def array(self, op: Op, key: str, values, ctype: str) -> str:
        cname = f"{op.cname}_{key}"
        self.arrays.append((cname, ctype, _fits(f"{op.layer.name}.{key}", values, ctype)))
        return cname

    def scalar(self, op: Op, key: str, value, ctype: str = "int64_t") -> str:
        cname = f"{op.cname}_{key}".upper()
        self.scalars.append((cname, ctype, int(_fits(f"{op.layer.name}.{key}",
                                                      np.array([value]), ctype)[0])))
        return cname

    def weight(self, op: Op, weight: np.ndarray) -> int:
        """Append W transposed (in x out, int8) to the blob; return its byte offset."""
        w = _fits(f"{op.layer.name}.weight", weight, "int8_t").astype(np.int8)
        pad = (-len(self.blob)) % WEIGHT_ALIGN
        self.blob.extend(b"\0" * pad)
        offset = len(self.blob)
        self.blob.extend(np.ascontiguousarray(w.T).tobytes())
        self.layout.append((op.layer.name, offset, int(w.shape[1]), int(w.shape[0])))
        return offset

    def dyadic(self, op: Op, m_key: str, e_key: str, p: dict) -> tuple[str, str]:
        return self.array(op, m_key, p[m_key], "int32_t"), self.array(op, e_key, p[e_key], "uint8_t")

    def constants(self, op: Op) -> dict:
        layer, p, a = op.layer, op.layer.params, op.layer.attrs
        kind = layer.kind
        d: dict = {}
        if kind == "patch_embed":
            gh, gw = (a["grid"], a["grid"]) if isinstance(a["grid"], int) else a["grid"]
            d.update(chans=a["in_chans"], patch=a["patch"], gh=gh, gw=gw, dim=a["dim"],
                     w_off=self.weight(op, p["weight"]))
            d["bias"] = self.array(op, "bias", p["bias"], "int32_t")
            d["m"], d["e"] = self.dyadic(op, "m", "e", p)
            d["cls"] = self.array(op, "cls", p["cls"], op.out.ctype)
            d["pos"] = self.array(op, "pos", np.asarray(p["pos"]).reshape(-1), op.out.ctype)
        elif kind == "layernorm":
            d["m"], d["e"] = self.dyadic(op, "m", "e", p)
            d["bias"] = self.array(op, "bias", p["bias"], "int64_t")
        elif kind == "linear":
            d["w_off"] = self.weight(op, p["weight"])
            d["bias"] = self.array(op, "bias", p["bias"], "int32_t")
            if a["out_bits"] is not None:
                d["m"], d["e"] = self.dyadic(op, "m", "e", p)
        elif kind in ("qk_matmul", "pv_matmul", "gelu"):
            d["m"] = self.scalar(op, "m", a["m"])
            d["e"] = self.scalar(op, "e", a["e"], "int32_t")
            if kind == "gelu":
                if a["form"] not in ("symmetric", "rowmax"):
                    raise IvitError(f"layer {layer.name}: unknown GELU form {a['form']!r}")
                d.update(k=int(a["k"]), n=int(a["n"]), form=a["form"])
                d["i0"] = self.scalar(op, "i0", a["i0"])
        elif kind == "shiftmax":
            d.update(k=int(a["k"]), n=int(a["n"]))
            d["i0"] = self.scalar(op, "i0", a["i0"])
        elif kind == "residual_add":
            d["m_a"], d["e_a"] = self.dyadic(op, "m_a", "e_a", p)
            d["m_b"] = self.scalar(op, "m_b", a["m_b"])
            d["e_b"] = self.scalar(op, "e_b", a["e_b"], "int32_t")
        return d


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


def lower(model: IntegerModel) -> Plan:
    """Build the HLS plan of ``model`` (raises ``IvitError`` for what the kernels cannot do)."""
    model.validate()
    cfg = model.config
    image = Tensor("image", ctype_for(cfg["input"]["bits"]),
                   (cfg["in_chans"], cfg["img_size"], cfg["img_size"]), buffer="image")
    tensors = {"image": image}
    low = _Lowering(model)
    ops: list = []
    offset = 0
    for index, layer in enumerate(model.layers):
        ins = [tensors[name] for name in layer.inputs]
        out = _out_tensor(layer, ins)
        out.trace_offset = offset
        offset += out.size
        op = Op(index, layer, f"L{index}", out, ins)
        op.data = low.constants(op)
        tensors[layer.name] = out
        ops.append(op)
    buffers = _allocate(ops, image)
    final = ops[-1].out
    if final.shape[0] != 1:
        raise IvitError(f"the last layer {final.name} has {final.shape[0]} rows; "
                        "expected the head's single row of logits")
    if final.ctype not in ("int8_t", "int16_t", "int32_t"):
        raise IvitError(f"the logits ({final.ctype}) do not fit the int32 output port")
    pad = (-len(low.blob)) % WEIGHT_ALIGN
    low.blob.extend(b"\0" * pad)
    return Plan(model, image, ops, buffers, low.arrays, low.scalars, bytes(low.blob),
                low.layout, int(final.shape[-1]), offset)


def gemm_shapes(plan: Plan) -> list:
    """(layer name, kind, M, N, K, repeats) of every GEMM in the plan (for the perf model)."""
    shapes = []
    for op in plan.ops:
        kind, a = op.layer.kind, op.layer.attrs
        if kind == "patch_embed":
            d = op.data
            shapes.append((op.layer.name, kind, d["gh"] * d["gw"], d["dim"],
                           d["chans"] * d["patch"] ** 2, 1))
        elif kind == "linear":
            shapes.append((op.layer.name, kind, op.out.shape[0], op.out.shape[1],
                           op.inputs[0].shape[1], 1))
        elif kind == "qk_matmul":
            t = op.out.shape[1]
            shapes.append((op.layer.name, kind, t, t, a["head_dim"], a["heads"]))
        elif kind == "pv_matmul":
            t = op.out.shape[0]
            shapes.append((op.layer.name, kind, t, a["head_dim"], t, a["heads"]))
    return shapes
