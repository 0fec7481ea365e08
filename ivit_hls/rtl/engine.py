"""The RTL engine's program: descriptor table, weight and constant packing, buffer allocation.

``build_program(model, cfg)`` lowers layers of an integer model onto ``hw/rtl/ivit_engine``:
every layer becomes one or more 512-bit descriptors (GEMM, vector, constant loads, trace
stores) that the engine's controller walks, and the weights blob (the kernel's ``weights``
argument) holds the descriptor table followed by the packed constants and weight panels.
The layouts are documented in docs/rtl.md; ``pack_tensor`` / ``unpack_tensor`` convert
between numpy arrays and the engine's DDR image of a buffer tensor (one N-lane word of
int32 per bus beat).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import IvitError
from ..ops.common import patches_of

OP_END, OP_LOAD, OP_STORE, OP_CONST, OP_GEMM, OP_VEC, OP_HDR = range(7)
BASE_IMAGE, BASE_WEIGHTS, BASE_LOGITS = range(3)
B_DDR, B_KT, B_V = range(3)
V_LN, V_SMAX, V_GELU, V_RES = range(4)
#: constant table fields
C_LO, C_M, C_E, C_HI = range(4)
#: descriptor size in bytes (16 little-endian 32-bit words)
DESC_BYTES = 64
#: trace-store flag in word 0
TRACE_FLAG = 1 << 24
#: unit parameters fixed in the engine (ivit_engine_vec)
K_MAX, I0_BITS, N_MAX = 15, 12, 31


@dataclass(frozen=True)
class EngineConfig:
    """HDL parameters of ``ivit_engine`` (N: array rows = columns = lanes = buffer banks)."""

    n: int = 8
    data_w: int = 512
    sdepth: int = 8192
    pdepth: int = 128
    cdepth: int = 64
    max_beats: int = 32
    #: Shiftmax's ShiftExp form and the GELU form the engine's units compute
    exp_form: str = "corrected"
    gelu_form: str = "shift"

    def __post_init__(self):
        if self.exp_form not in ("corrected", "paper") or \
                self.gelu_form not in ("shift", "symmetric"):
            raise IvitError(f"engine: exp_form corrected/paper and gelu_form shift/symmetric, "
                            f"not {self.exp_form}/{self.gelu_form}")
        if self.n not in (2, 4, 8, 16) or self.data_w not in (256, 512, 1024):
            raise IvitError(f"engine: N must be 2/4/8/16 and DATA_W 256/512/1024, "
                            f"not {self.n}/{self.data_w}")
        if self.n * 32 > self.data_w:
            raise IvitError(f"engine: a buffer word (N*32 = {self.n * 32} bits) must fit a "
                            f"{self.data_w}-bit beat")

    @property
    def beat_bytes(self) -> int:
        return self.data_w // 8

    @property
    def desc_stride(self) -> int:
        return max(DESC_BYTES, self.beat_bytes)

    def hdl_params(self) -> dict:
        """Parameters of the ``ivit_engine`` module."""
        return {"N": self.n, "DATA_W": self.data_w, "SDEPTH": self.sdepth,
                "PDEPTH": self.pdepth, "CDEPTH": self.cdepth, "MAX_BEATS": self.max_beats,
                "EXP_FORM": int(self.exp_form == "corrected"),
                "GELU_FORM": int(self.gelu_form == "shift")}


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Tensor:
    """A tensor in the activation buffer: row t, channel c in bank t mod N at word
    ``base + (t // N) * stride + c // N``, lane c mod N."""

    name: str
    rows: int
    chans: int
    n: int
    base: int = 0

    @property
    def stride(self) -> int:
        return _cdiv(self.chans, self.n)

    @property
    def row_groups(self) -> int:
        return _cdiv(self.rows, self.n)

    @property
    def words(self) -> int:
        return self.row_groups * self.stride

    @property
    def beats(self) -> int:
        """Bus beats of the tensor in DDR (one buffer word of every row per beat)."""
        return self.rows * self.stride


@dataclass
class Step:
    """One descriptor: opcode, sub-op, output saturation, 15 operand words."""

    op: int
    sub: int = 0
    sat: int = 0
    flags: int = 0
    words: list = field(default_factory=lambda: [0] * 15)
    layer: str = ""
    info: dict = field(default_factory=dict)   # what the cycle model needs
    data_fields: tuple = ()                     # words holding offsets into the data region

    def encode(self, data_base: int) -> bytes:
        w = list(self.words)
        for i in self.data_fields:
            w[i] += data_base
        head = self.op | (self.sub << 8) | (self.sat << 16) | self.flags
        return np.array([head] + w, dtype=np.uint64).astype(np.uint32).tobytes()


@dataclass
class TraceEntry:
    """Where a layer's output lands in the logits region, and how to cut it back out."""

    layer: str
    offset: int
    tensor: Tensor
    shape: tuple
    head_rows: int = 0     # > 0: (heads, rows, chans) stored as heads blocks of padded rows


@dataclass
class Program:
    """The engine's inputs for one model (or one block): weights blob, buffer plan, trace map."""

    cfg: EngineConfig
    steps: list
    blob: bytes
    input: Tensor
    output: Tensor
    output_shape: tuple
    trace: list
    logits_bytes: int
    image_rows: int
    layers: list

    def pack_input(self, x: np.ndarray) -> bytes:
        """The ``image`` buffer for input ``x`` (2-D rows x channels, padded to the tensor)."""
        return pack_tensor(x, self.input, self.cfg)


def pack_tensor(x: np.ndarray, t: Tensor, cfg: EngineConfig) -> bytes:
    """Rows of ``x`` as the engine reads them: each N-channel word of int32 in its own beat."""
    x = np.asarray(x, dtype=np.int64)
    rows = np.zeros((t.rows, t.stride * cfg.n), dtype=np.int64)
    rows[:x.shape[0], :x.shape[1]] = x
    beats = np.zeros((t.rows * t.stride, cfg.data_w // 32), dtype=np.int64)
    beats[:, :cfg.n] = rows.reshape(-1, cfg.n)
    return beats.astype(np.uint64).astype(np.uint32).tobytes()


def unpack_tensor(data: bytes, rows: int, chans: int, cfg: EngineConfig) -> np.ndarray:
    """Inverse of ``pack_tensor``: (rows, chans) int64 from the engine's DDR words."""
    stride = _cdiv(chans, cfg.n)
    arr = np.frombuffer(data[:rows * stride * cfg.beat_bytes], dtype=np.int32)
    arr = arr.reshape(rows * stride, cfg.data_w // 32)[:, :cfg.n].astype(np.int64)
    return arr.reshape(rows, stride * cfg.n)[:, :chans]


class _Allocator:
    """First-fit allocation of buffer words; tensors are freed after their last reader."""

    def __init__(self, depth: int, n: int):
        self.depth, self.n = depth, n
        self.free = [(0, depth)]
        self.peak = 0

    def alloc(self, t: Tensor) -> Tensor:
        for i, (start, size) in enumerate(self.free):
            if size >= t.words:
                t.base = start
                self.free[i] = (start + t.words, size - t.words)
                self.peak = max(self.peak, start + t.words)
                return t
        raise IvitError(f"engine: the activation buffer ({self.depth} words per bank) cannot "
                        f"hold {t.name} ({t.words} words); raise SDEPTH")

    def release(self, t: Tensor) -> None:
        self.free.append((t.base, t.words))
        self.free.sort()
        merged = []
        for start, size in self.free:
            if merged and merged[-1][0] + merged[-1][1] == start:
                merged[-1] = (merged[-1][0], merged[-1][1] + size)
            elif size:
                merged.append((start, size))
        self.free = merged


class _Builder:
    def __init__(self, cfg: EngineConfig, tensor_types: dict):
        self.cfg = cfg
        self.types = tensor_types
        self.steps: list[Step] = []
        self.data = bytearray()

    # -- data region --------------------------------------------------------------------
    def put(self, raw: bytes) -> tuple[int, int]:
        """Append ``raw`` at a beat boundary; return (offset, beats)."""
        bb = self.cfg.beat_bytes
        off = len(self.data)
        beats = _cdiv(len(raw), bb)
        self.data += raw + bytes(beats * bb - len(raw))
        return off, beats

    def const(self, fld: int, values, chans: int, layer: str) -> None:
        per_beat = self.cfg.data_w // 32
        v = np.zeros(_cdiv(max(chans, 1), per_beat) * per_beat, dtype=np.int64)
        vals = np.asarray(values, dtype=np.int64).ravel()
        v[:chans] = vals if vals.size > 1 else vals[0]    # padding channels stay 0
        off, beats = self.put(v.astype(np.uint64).astype(np.uint32).tobytes())
        if beats > self.cfg.cdepth:
            raise IvitError(f"engine: {layer} needs {beats} constant beats, CDEPTH is "
                            f"{self.cfg.cdepth}")
        s = Step(OP_CONST, sub=fld, layer=layer, data_fields=(0,),
                 info={"beats": beats})
        s.words[0], s.words[2] = off, beats
        self.steps.append(s)

    # -- steps --------------------------------------------------------------------------
    def gemm(self, layer, a: Tensor, out: Tensor, k: int, n_cols: int, sat: int, mode: int,
             a_choff=0, b: Tensor | None = None, b_choff=0, o_base=None, o_cw=0,
             weight=None, bias=0, m=1 << 30, e=30, rows=None):
        n = self.cfg.n
        n_ct = _cdiv(n_cols, n)
        cols = n_ct * n
        for fld, v in ((C_LO, bias), (C_M, m), (C_E, e)):
            v = np.asarray(v, dtype=np.int64).ravel()
            self.const(fld, v if v.size > 1 else np.full(n_cols, v[0]), n_cols, layer)
        rows = a.rows if rows is None else rows
        w = [0] * 15
        w[0], w[1], w[2] = a.base, a.stride, a_choff
        panel_off, panel_beats = 0, 0
        if mode == B_DDR:
            wt = np.zeros((cols, k), dtype=np.int64)
            wt[:weight.shape[0]] = weight
            # panel c: K steps of N int8 (B[k, c*N + j] = W[c*N + j, k]), tile-major
            panels = wt.reshape(n_ct, n, k).transpose(0, 2, 1).astype(np.int8).tobytes()
            per = k * n
            first = None
            for c in range(n_ct):
                off, panel_beats = self.put(panels[c * per:(c + 1) * per])
                first = off if first is None else first
            panel_off = first
            if panel_beats > self.cfg.pdepth:
                raise IvitError(f"engine: {layer} needs {panel_beats}-beat weight panels, "
                                f"PDEPTH is {self.cfg.pdepth}")
        else:
            w[3], w[4], w[5] = b.base, b.stride, b_choff
        w[6] = out.base if o_base is None else o_base
        w[7], w[8] = out.stride, o_cw
        w[9], w[10], w[11] = _cdiv(rows, n), n_ct, k
        w[12], w[13] = panel_off, panel_beats
        s = Step(OP_GEMM, sub=mode, sat=sat, words=w, layer=layer,
                 data_fields=(12,) if mode == B_DDR else (),
                 info={"n_rg": _cdiv(rows, n), "n_ct": n_ct, "k": k,
                       "panel_beats": panel_beats})
        self.steps.append(s)

    def vec(self, layer, op: int, a: Tensor, out: Tensor, rows: int, sat: int = 32,
            b: Tensor | None = None, a_base=None, o_base=None, k=0, i0=0, nn=0, m_b=0, e_b=0,
            r=0):
        w = [0] * 15
        w[0], w[1] = a.base if a_base is None else a_base, a.stride
        if b is not None:
            w[2], w[3] = b.base, b.stride
        w[4], w[5] = out.base if o_base is None else o_base, out.stride
        w[6], w[7], w[8] = rows, a.stride, a.chans
        w[9] = k | (i0 << 4) | (nn << 16)
        w[10], w[11], w[12] = m_b & 0xFFFFFFFF, e_b, r
        if a.stride > self.cfg.max_beats and op in (V_LN, V_SMAX):
            raise IvitError(f"engine: {layer} rows of {a.chans} need MAX_BEATS >= {a.stride}")
        self.steps.append(Step(OP_VEC, sub=op, sat=sat, words=w, layer=layer,
                               info={"rows": rows, "wpr": a.stride, "len": a.chans}))

    def move(self, op: int, base_sel: int, offset: int, t: Tensor, rows: int,
             trace: bool = False, layer: str = "", data: bool = False):
        w = [0] * 15
        w[0], w[1] = offset & 0xFFFFFFFF, offset >> 32
        w[2], w[3], w[4], w[5], w[6] = t.base, t.stride, rows, t.stride, rows * t.stride
        self.steps.append(Step(op, sub=base_sel, flags=TRACE_FLAG if trace else 0, words=w,
                               layer=layer, data_fields=(0,) if data else (),
                               info={"beats": rows * t.stride, "trace": trace}))


def build_program(model, cfg: EngineConfig | None = None, layers=None, trace: bool = True
                  ) -> Program:
    """Lower ``layers`` (default: every layer) of ``model`` to the engine, batch 1.

    The first layer's input comes from the ``image`` buffer: the patch matrix (with a
    leading zero row for the class token) for ``patch_embed``, else the 2-D input tensor.
    With ``trace`` every layer's output is also stored after the logits (flag bit 24).
    """
    from .engine_lower import lower_layer   # the per-kind lowering uses this module

    cfg = cfg or EngineConfig()
    n = cfg.n
    types = model.tensor_types()
    layers = list(model.layers if layers is None else layers)
    bld = _Builder(cfg, types)
    alloc = _Allocator(cfg.sdepth, n)
    last_use = {}
    for i, ly in enumerate(layers):
        for src in ly.inputs:
            last_use[src] = i
    tensors: dict[str, Tensor] = {}

    first = layers[0]
    ext = first.inputs[0]
    rows, chans = first.op.engine_input(first, types[ext])
    x_in = alloc.alloc(Tensor("image", rows, chans, n))
    tensors[ext] = x_in
    bld.steps.append(Step(OP_HDR))   # strides patched below
    bld.move(OP_LOAD, BASE_IMAGE, 0, x_in, x_in.rows, layer=ext)

    trace_entries: list[TraceEntry] = []
    pending_trace = []
    for i, ly in enumerate(layers):
        ins = [tensors[s] for s in ly.inputs]
        shape = types[ly.name].shape
        out = lower_layer(bld, alloc, ly, ins, n)
        tensors[ly.name] = out
        pending_trace.append((ly, out, shape))
        for src in set(ly.inputs):
            if last_use.get(src) == i:
                alloc.release(tensors[src])
        if trace:
            bld.move(OP_STORE, BASE_LOGITS, 0, out, out.rows, trace=True, layer=ly.name)
            trace_entries.append(TraceEntry(ly.name, 0, out, tuple(shape),
                                            getattr(out, "info_head_rows", 0)))
    final = tensors[layers[-1].name]
    out_shape = tuple(types[layers[-1].name].shape)
    out_bytes = final.beats * cfg.beat_bytes
    bld.move(OP_STORE, BASE_LOGITS, 0, final, final.rows, layer=layers[-1].name)
    bld.steps.append(Step(OP_END))

    # trace offsets after the logits, each at a beat boundary
    off = _cdiv(out_bytes, 4096) * 4096
    stores = [s for s in bld.steps if s.op == OP_STORE and s.flags & TRACE_FLAG]
    for s, te in zip(stores, trace_entries):
        te.offset = off
        s.words[0], s.words[1] = off & 0xFFFFFFFF, off >> 32
        off += te.tensor.beats * cfg.beat_bytes
    logits_bytes = off
    image_bytes = x_in.beats * cfg.beat_bytes
    hdr = bld.steps[0]
    hdr.words[0], hdr.words[2] = image_bytes, logits_bytes

    data_base = _cdiv(len(bld.steps) * cfg.desc_stride, 4096) * 4096
    table = bytearray()
    for s in bld.steps:
        table += s.encode(data_base) + bytes(cfg.desc_stride - DESC_BYTES)
    blob = bytes(table) + bytes(data_base - len(table)) + bytes(bld.data)
    return Program(cfg=cfg, steps=bld.steps, blob=blob, input=x_in, output=final,
                   output_shape=out_shape, trace=trace_entries, logits_bytes=logits_bytes,
                   image_rows=x_in.rows, layers=[ly.name for ly in layers])


def image_rows(model, image: np.ndarray) -> np.ndarray:
    """The patch matrix of one image with a leading zero row (the class token's slot)."""
    a = model.layers[0].attrs
    pt = patches_of(np.asarray(image, dtype=np.int64)[None], a.patch)[0]
    return np.concatenate([np.zeros((1, pt.shape[1]), dtype=np.int64), pt])


def decode_trace(prog: Program, logits_region: bytes) -> dict:
    """Per-layer outputs (golden shapes, batch axis dropped) from the logits region."""
    cfg, out = prog.cfg, {}
    for te in prog.trace:
        t = te.tensor
        raw = logits_region[te.offset:te.offset + t.beats * cfg.beat_bytes]
        arr = unpack_tensor(raw, t.rows, t.chans, cfg)
        if te.head_rows:
            rg = _cdiv(te.head_rows, cfg.n) * cfg.n
            heads = t.rows // rg
            arr = arr.reshape(heads, rg, t.chans)[:, :te.head_rows]
        out[te.layer] = arr.reshape(te.shape[-arr.ndim:]) if arr.ndim == len(te.shape) \
            else arr
    return out
