"""Lower an integer model to the engine's program: slots, fused steps, a block loop, weights.

Each layer's ``OpDef.hls`` hook describes its config (dims, constants, per-channel arrays,
weight matrix). The lowering then

* fuses what the engine runs in one pass: a raw linear branch and its residual add, a linear
  layer and the element-wise GELU after it, and q.k^T -> Shiftmax -> P.v (``fusion.py``);
* finds the encoder blocks (``blocks.<i>.*`` layers of identical structure) and turns them
  into one loop: each layer position of a block is one *slot*, a config struct whose
  per-layer constants are tables indexed by the iteration;
* packs every engine weight matrix tile-major (``K x C`` column panels, each a whole number
  of 64-byte words) into the weights blob, in the order the engine reads it;
* places the steps' outputs in on-chip buffers (``buffers.py``).

A layer kind the engine has no unit for still runs: outside the block loop, through its
layer kernel with a plain config struct (``ivit::layer::KIND<CFG>(ins..., out[, weights])``)
and the op table's cycle figure.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import IvitError
from ..ir.model import IntegerModel, Layer
from ..ops.base import IntType
from ..ops.common import default_drain
from .buffers import allocate, partition
from .kernels import kernel
from .fusion import ENGINE_KINDS, find_steps, mark_row_stats, program_runs

#: Where the helper multipliers go: mode -> (epilogue lanes and attention drain in fabric,
#: vector lanes in fabric); the rest on DSP48E2 slices.
HELPER_MODES = {"dsp": (False, False), "vector-fabric": (False, True), "fabric": (True, True)}
#: im2col buffer words: a patch row each, or half a row where a bank holds one token row
#: (ops.common.im2col_word).
IM2COL_WORDS = ("row", "half")
#: The LayerNorm normalize product: "split" (the reciprocal's halves on the epilogue pool),
#: "whole" (the long vector pool) or "auto" (the cheaper: lanes.ln_norm_split).
LN_PRODUCTS = ("auto", "split", "whole")
#: Weight panels start on this byte boundary (one 512-bit AXI word).
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
_BLOCK = re.compile(r"^(.*blocks)\.(\d+)\.(.+)$")


def ctype_of(t: IntType) -> str:
    """Smallest standard C integer type holding ``t``."""
    for width in (8, 16, 32, 64):
        if t.bits <= width:
            return f"{'' if t.signed else 'u'}int{width}_t"
    raise IvitError(f"{t} values are wider than the HLS kernels support (64 bits)")


def numpy_dtype(ctype: str):
    """The numpy dtype of a C integer type name."""
    return _NUMPY[ctype]


def _int_ctype(values) -> str:
    return "int" if all(abs(int(v)) < 1 << 31 for v in values) else "int64_t"


@dataclass
class Tensor:
    """A layer output: C type, shape without the batch axis, buffer and trace offset. ``ld``:
    the row stride of its buffer, which may be wider than the tensor (0 until allocated)."""

    name: str
    ctype: str
    shape: tuple
    buffer: str = ""
    trace_offset: int = 0
    ld: int = 0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def stride(self) -> int:
        """Elements from one row to the next in its buffer."""
        return self.ld or int(self.shape[-1])


@dataclass
class HlsLayer:
    """One layer as its ``hls`` hook described it."""

    index: int
    layer: Layer
    kernel: str
    out: Tensor
    inputs: list
    types: dict = field(default_factory=dict)      # typedef name -> ctype
    dims: dict = field(default_factory=dict)       # name -> int (slot-invariant)
    consts: list = field(default_factory=list)     # (name, ctype or None for enums, value)
    arrays: list = field(default_factory=list)     # (ctype, name, values)
    w_off: int | None = None
    cname: str = ""
    # the weight-panel chain of an engine GEMM (link_panels): its first panel loaded by the
    # GEMM before (pre); the next GEMM's first panel, which it loads (offset, K; 0: none)
    pre: bool = False
    next_w_off: int = 0
    next_k: int = 0

    @property
    def weighted(self) -> bool:
        return self.w_off is not None


@dataclass
class Slot:
    """A config struct: one layer position, ``n`` iterations (1 outside the block loop)."""

    cname: str
    layers: list                                   # HlsLayer per iteration
    engine: bool

    @property
    def first(self) -> HlsLayer:
        return self.layers[0]

    @property
    def n(self) -> int:
        return len(self.layers)

    def tables(self) -> list:
        """(ctype, name, values per iteration) of the scalar constants."""
        out = []
        for k, (name, ctype, _v) in enumerate(self.first.consts):
            if ctype is None:
                continue
            values = [ly.consts[k][2] for ly in self.layers]
            out.append(("int64_t" if ctype == "int64_t" else _int_ctype(values), name, values))
        out.append(("int", "IDX", [ly.index for ly in self.layers]))
        out.append(("long", "TRACE", [ly.out.trace_offset for ly in self.layers]))
        if self.first.weighted:
            out.append(("long", "W_OFF", [ly.w_off for ly in self.layers]))
        if self.first.weighted and self.engine:
            out.append(("int", "PRE", [int(ly.pre) for ly in self.layers]))
            out.append(("long", "NEXT_W_OFF", [ly.next_w_off for ly in self.layers]))
            out.append(("int", "NEXT_K", [ly.next_k for ly in self.layers]))
        return out

    def enums(self) -> list:
        return [(name, v) for name, ctype, v in self.first.consts if ctype is None]


@dataclass
class Plan:
    """Everything the templates need to render a project for one model."""

    model: IntegerModel
    image: Tensor
    layers: list             # HlsLayer, in model order
    slots: list              # Slot
    prologue: list           # Step
    body: list               # Step (run `iterations` times)
    epilogue: list           # Step
    iterations: int
    buffers: list            # (name, ctype, shape, partition)
    weights: bytes
    weight_layout: list      # (layer name, offset, K, N, panels, panel bytes)
    num_classes: int
    trace_size: int
    rows: int
    cols: int
    lanes: int
    kmax: int
    bpc: int
    drain: int = 0           # epilogue lanes (rows of one column drained per cycle); 0 = min(R, C)
    types: dict = field(default_factory=dict)   # the model's tensor types (computed once)
    widths: dict = field(default_factory=dict)  # datapath widths, per-model sums (computed once)
    helpers: str = "dsp"     # helper multipliers in fabric: "dsp" (none), "vector-fabric", "fabric"
    batch: int = 1           # images the on-chip buffers hold (IVIT_MAX_BATCH)
    att_lanes: int = 0       # attention unit: drain rows and Shiftmax lanes; 0 = the vector lanes
    im2col_words: str = "row"  # im2col words: "row" (a patch row) or "half" (IM2COL_WORDS)
    ln_product: str = "auto"   # LayerNorm normalize product: LN_PRODUCTS

    def __post_init__(self):
        self.drain = min(self.drain or default_drain(self.rows, self.cols), self.rows)
        self.att_lanes = min(self.att_lanes or self.lanes, self.rows)

    @property
    def output(self) -> Tensor:
        return self.layers[-1].out

    @property
    def steps(self) -> list:
        return self.prologue + self.body + self.epilogue

    @property
    def head_dim(self) -> int:
        """Head dimension of the fused attention unit (0 without one)."""
        for st in self.steps:
            if st.kernel == "attention":
                return int(st.layers[0].layer.attrs.head_dim)
        return 0

    @property
    def row_stats_rows(self) -> int:
        """Rows per image of the LayerNorm statistics the drains gather (0: none do)."""
        return max([int(st.out.shape[0]) for st in self.steps if st.row_stats == "out"]
                   or [0])

    @property
    def row_stats_slots(self) -> int:
        """Slot rows of ``eng_sx`` / ``eng_sxx`` (``engine.h`` ``row_sums_slot``): every R-row
        tile of the batch's rows takes ceil(R / E) rows of E lanes."""
        if not self.row_stats_rows:
            return 0
        tiles = -(-self.batch * self.row_stats_rows // self.rows)
        return tiles * -(-self.rows // self.drain)

    def buffer_rows(self, shape) -> int:
        """Rows of a buffer holding tensors of ``shape``: one per image of the batch."""
        return self.batch * int(np.prod(shape[:-1]))

    def buffer_bytes(self) -> int:
        """Bytes of the on-chip activation buffers (every image of the batch)."""
        return sum(self.batch * math.prod(shape) * np.dtype(numpy_dtype(c)).itemsize
                   for _n, c, shape, _p in self.buffers)

    def constant_bytes(self) -> int:
        """Bytes of the per-layer constant arrays at their C types (the same for every engine:
        kept in ``widths``, the dict ``with_engine`` shares)."""
        if "_constant_bytes" not in self.widths:
            self.widths["_constant_bytes"] = sum(
                np.asarray(v).size * np.dtype(numpy_dtype(c)).itemsize
                for ly in self.layers for c, _n, v in ly.arrays)
        return self.widths["_constant_bytes"]

    def plain_weight_bytes(self) -> int:
        """Bytes of the weight matrices themselves (K x N each, no padding)."""
        return sum(k * n for _l, _o, k, n, _p, _b in self.weight_layout)

    def blob_bytes(self, cols: int | None = None) -> int:
        """Bytes of the weights blob for ``cols``-wide panels (default: this plan's)."""
        cols = cols or self.cols
        total = 0
        for _l, _o, k, n, panels, _b in self.weight_layout:
            total += -(-total // WEIGHT_ALIGN) * WEIGHT_ALIGN - total
            total += (-(-n // cols) * -(-(k * cols) // WEIGHT_ALIGN) * WEIGHT_ALIGN
                      if panels else k * n)
        return -(-total // WEIGHT_ALIGN) * WEIGHT_ALIGN

    def with_engine(self, rows: int, cols: int, lanes: int, bpc: int,
                    drain: int | None = None, helpers: str | None = None,
                    batch: int | None = None, att_lanes: int | None = None,
                    im2col_words: str | None = None, ln_product: str | None = None) -> "Plan":
        """The same program on another engine (and batch), for the model only (no weights
        blob, no per-layer trace or buffer names change): what the explorer sweeps."""
        import dataclasses

        lanes = min(lanes, rows)
        if im2col_words not in (None, *IM2COL_WORDS) or ln_product not in (None, *LN_PRODUCTS):
            raise IvitError(f"im2col words {im2col_words!r} / LayerNorm product {ln_product!r}: "
                            f"expected {', '.join(IM2COL_WORDS)} / {', '.join(LN_PRODUCTS)}")
        buffers = [(n, c, shape, partition(self.steps, n, rows, cols, lanes))
                   for n, c, shape, _p in self.buffers]
        return dataclasses.replace(self, buffers=buffers, weights=b"", rows=rows, cols=cols,
                                   lanes=lanes, bpc=bpc,
                                   drain=min(drain or default_drain(rows, cols), rows),
                                   helpers=helpers or self.helpers, batch=batch or self.batch,
                                   att_lanes=min(att_lanes or lanes, rows),
                                   im2col_words=im2col_words or self.im2col_words,
                                   ln_product=ln_product or self.ln_product)


def _fits(where: str, values, ctype: str) -> np.ndarray:
    values = np.asarray(values).astype(np.int64)
    info = np.iinfo(numpy_dtype(ctype))
    if values.size and (values.min() < info.min or values.max() > info.max):
        raise IvitError(f"{where}: values outside {ctype}; the HLS kernels cannot hold them")
    return values


class _Lowering:
    """The context the op table's ``hls`` hooks build their configs with."""

    def __init__(self, rows: int, cols: int, lanes: int):
        self.rows, self.cols, self.lanes = rows, cols, lanes
        self.blob = bytearray()
        self.layout: list = []
        self.current = None      # (index, layer, input Tensors, output Tensor)

    def enum(self, name: str, value: str) -> str:
        try:
            return ENUMS[name][value]
        except KeyError:
            raise IvitError(f"{name}={value!r} has no HLS kernel") from None

    def _align(self) -> None:
        self.blob.extend(b"\0" * ((-len(self.blob)) % WEIGHT_ALIGN))

    def _weight(self, layer: Layer, wt: np.ndarray, packed: bool) -> int:
        """Append a (K x N) int8 matrix to the blob; return its byte offset. Engine layers get
        tile-major panels (K x C, zero-padded to C columns and to whole 64-byte words)."""
        w = _fits(f"{layer.name}.weight", wt, "int8_t").astype(np.int8)
        k, n = w.shape
        self._align()
        offset = len(self.blob)
        if not packed:
            self.blob.extend(np.ascontiguousarray(w).tobytes())
            self.layout.append((layer.name, offset, k, n, 0, 0))
            return offset
        c = self.cols
        panels = -(-n // c)
        padded = np.zeros((k, panels * c), dtype=np.int8)
        padded[:, :n] = w
        stride = -(-(k * c) // WEIGHT_ALIGN) * WEIGHT_ALIGN
        for p in range(panels):
            panel = np.ascontiguousarray(padded[:, p * c:(p + 1) * c]).tobytes()
            self.blob.extend(panel + b"\0" * (stride - len(panel)))
        self.layout.append((layer.name, offset, k, n, panels, stride))
        return offset

    def layer(self, kernel: str, ins: list, out, dims: dict, consts: dict | None = None,
              arrays: list | None = None, weight: np.ndarray | None = None) -> HlsLayer:
        """Build the config of the current layer (called by ``OpDef.hls``)."""
        index, layer, in_tensors, out_tensor = self.current
        op = HlsLayer(index, layer, kernel, out_tensor, in_tensors)
        names = ["in_t", "in1_t", "in2_t"]
        op.types = {names[i]: t.ctype for i, t in enumerate(in_tensors)}
        op.types["out_t"] = out_tensor.ctype
        op.dims = {k: int(v) for k, v in dims.items()}
        for key, value in (consts or {}).items():
            if isinstance(value, tuple):
                t, value = value
                ctype = "int64_t" if t.bits > 31 or abs(int(value)) >= 1 << 31 else "int"
                op.consts.append((key, ctype, int(value)))
            elif isinstance(value, str):
                op.consts.append((key, None, value))
            else:
                op.consts.append((key, "int" if abs(int(value)) < 1 << 31 else "int64_t",
                                  int(value)))
        for name, t, values in arrays or []:
            ctype = ctype_of(t)
            op.arrays.append((ctype, name,
                              _fits(f"{layer.name}.{name}", np.asarray(values).reshape(-1), ctype)))
        if weight is not None:
            op.w_off = self._weight(layer, weight, layer.kind in ENGINE_KINDS)
        return op


def _signature(op: HlsLayer) -> tuple:
    """What must agree between iterations for a layer position to become one slot."""
    return (op.layer.kind, tuple(op.types.items()), tuple(op.dims.items()),
            tuple((n, c, v if c is None else None) for n, c, v in op.consts),
            tuple((c, n, np.asarray(v).size) for c, n, v in op.arrays), op.weighted,
            op.out.shape)


def _blocks(layers: list) -> tuple[int, int, int]:
    """(first index, layers per block, blocks) of the repeated encoder blocks, or (0, 0, 0)."""
    runs: list = []
    for i, op in enumerate(layers):
        m = _BLOCK.match(op.layer.name)
        key = (m.group(1), int(m.group(2))) if m else None
        if runs and runs[-1][0] == key:
            runs[-1][2] += 1
        else:
            runs.append([key, i, 1])
    blocks = [r for r in runs if r[0] is not None]
    if len(blocks) < 2 or len({r[0][0] for r in blocks}) != 1:
        return 0, 0, 0
    start, per = blocks[0][1], blocks[0][2]
    for b, (key, s, n) in enumerate(blocks):
        if key[1] != b or n != per or s != start + b * per:
            return 0, 0, 0
    for b in range(1, len(blocks)):
        for k in range(per):
            x, y = layers[start + k], layers[start + b * per + k]
            if (_signature(x) != _signature(y)
                    or _BLOCK.match(x.layer.name).group(3) != _BLOCK.match(y.layer.name).group(3)
                    or x.layer.kind not in ENGINE_KINDS):
                return 0, 0, 0
    return start, per, len(blocks)


def lower(model: IntegerModel, rows: int = 16, cols: int = 16, lanes: int | None = None,
          bpc: int = 64, drain: int | None = None, helpers: str = "dsp", batch: int = 1,
          att_lanes: int | None = None, im2col_words: str = "row",
          ln_product: str = "auto") -> Plan:
    """Build the engine program of ``model`` for an ``rows x cols`` array, ``lanes`` vector
    lanes (default ``cols``; at most ``rows``: a vector step takes L rows of one column),
    ``bpc`` DDR bytes per cycle on the weight port, ``drain`` epilogue lanes (rows of one
    column a GEMM drain takes per cycle; default min(rows, cols)), ``helpers``: the epilogue
    and vector multipliers on DSP48E2 slices (``dsp``), the vector lanes' bound to LUT fabric
    (``vector-fabric``) or all of them (``fabric``); ``batch`` images held on chip and run
    through every unit together (each weight panel read once per batch); ``att_lanes`` the
    attention unit's drain rows and Shiftmax lanes (default ``lanes``); ``im2col_words``: the
    patch embedding's im2col buffer in words of a patch row (``row``) or, where a bank holds
    one token row, of half a row (``half``: a block RAM instead of distributed RAM, one
    patch-row run loaded a cycle instead of two); ``ln_product``: the LayerNorm normalize
    product as two products of the reciprocal's halves on the epilogue pool (``split``), one
    on the long vector pool (``whole``) or the one of fewer DSPs, then LUTs (``auto``)."""
    if helpers not in HELPER_MODES:
        raise IvitError(f"helpers={helpers!r}: expected one of {', '.join(HELPER_MODES)}")
    if im2col_words not in IM2COL_WORDS:
        raise IvitError(f"im2col words {im2col_words!r}: expected one of {', '.join(IM2COL_WORDS)}")
    if ln_product not in LN_PRODUCTS:
        raise IvitError(f"LayerNorm product {ln_product!r}: expected one of "
                        f"{', '.join(LN_PRODUCTS)}")
    if int(batch) < 1:
        raise IvitError(f"--batch {batch}: need at least 1")
    model.validate()
    # a vector step takes L rows of one column, one per row bank: no more lanes than banks
    lanes = min(lanes or cols, rows)
    types = model.tensor_types()
    image = Tensor("image", ctype_of(types["image"].dtype), types["image"].shape, buffer="image")
    tensors = {"image": image}
    low = _Lowering(rows, cols, lanes)
    layers: list = []
    offset = 0
    for index, layer in enumerate(model.layers):
        t = types[layer.name]
        out = Tensor(layer.name, ctype_of(t.dtype), tuple(t.shape), trace_offset=offset)
        offset += out.size
        ins = [tensors[name] for name in layer.inputs]
        low.current = (index, layer, ins, out)
        op = layer.op.hls(layer, [types[s] for s in layer.inputs], t, low)
        layers.append(op)
        tensors[layer.name] = out
    final = layers[-1].out
    if final.shape[0] != 1:
        raise IvitError(f"the last layer {final.name} has {final.shape[0]} rows; "
                        "expected the head's single row of logits")
    if final.ctype not in ("int8_t", "int16_t", "int32_t"):
        raise IvitError(f"the logits ({final.ctype}) do not fit the int32 output port")
    low._align()

    steps = find_steps(layers, types)
    if cols > rows and any(kernel(st.kernel).reads_key_tokens for st in steps):
        raise IvitError(f"a {rows}x{cols} array: q.k^T reads {cols} tokens of one column per "
                        f"cycle from the {rows} row banks of the qkv buffer; use at most as "
                        "many columns as rows")
    start, per, nblocks = _blocks(layers)
    buffers = allocate(steps, image)
    prologue, body, epilogue, iterations = steps, [], [], 1
    if nblocks:
        first = [k for k, st in enumerate(steps) if st.layers[0].index >= start]
        end = start + per * nblocks
        in_loop = [k for k in first if steps[k].layers[0].index < end]
        per_block = len([k for k in in_loop if steps[k].layers[0].index < start + per])
        chunks = [steps[in_loop[0] + b * per_block: in_loop[0] + (b + 1) * per_block]
                  for b in range(nblocks)]
        if all(len(ch) == per_block and [s.key() for s in ch] == [s.key() for s in chunks[0]]
               for ch in chunks) and len(in_loop) == per_block * nblocks:
            prologue = steps[:in_loop[0]]
            body = chunks[0]
            epilogue = steps[in_loop[-1] + 1:]
            iterations = nblocks
            for k, st in enumerate(body):
                st.iterations = [ch[k] for ch in chunks]
    mark_row_stats(prologue, body, epilogue, iterations)
    link_panels(program_runs(prologue, body, epilogue, iterations),
                {name: k for name, _o, k, _n, panels, _b in low.layout if panels})
    slots: list = []
    for st in prologue + body + epilogue:
        group = st.iterations or [st]
        for q in range(len(st.layers)):
            slot = Slot(f"L{len(slots)}", [g.layers[q] for g in group],
                        st.layers[q].layer.kind in ENGINE_KINDS)
            for ly in slot.layers:
                ly.cname = slot.cname
            st.slots.append(slot)
            slots.append(slot)
    kmax = max([k for _l, _o, k, _n, p, _b in low.layout if p] or [1])
    partitioned = [(name, ctype, tuple(shape), partition(steps, name, rows, cols, lanes))
                   for name, ctype, shape in buffers]
    return Plan(model, image, layers, slots, prologue, body, epilogue, iterations, partitioned,
                bytes(low.blob), low.layout, int(final.shape[-1]), offset, rows, cols, lanes,
                kmax, bpc, min(drain or default_drain(rows, cols), rows), types,
                helpers=helpers, batch=int(batch), att_lanes=min(att_lanes or lanes, rows),
                im2col_words=im2col_words, ln_product=ln_product)


def link_panels(runs: list, k_of: dict) -> None:
    """Chain the engine's DDR GEMMs in the order the program runs them (``runs``:
    ``(step, instance)`` pairs of one batch, ``program_runs``): each loads the next one's
    first weight panel (``k_of``: K rows per weighted layer) while its last panel computes,
    so that one starts computing at once. Between two of them only units that leave the
    panels alone run (LayerNorm, attention, plain kernels)."""
    gemms = [inst.layers[0] for step, inst in runs
             if step.engine and step.weighted and step.array]
    for ly in gemms:
        ly.pre, ly.next_w_off, ly.next_k = False, 0, 0
    for a, b in zip(gemms, gemms[1:]):
        a.next_w_off, a.next_k = b.w_off, k_of[b.layer.name]
        b.pre = True
