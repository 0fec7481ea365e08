"""Pieces several layer kinds share: parameter types, GEMM helpers, the engine's unit costs."""

from __future__ import annotations

import functools

import numpy as np

from .. import spec
from .base import Engine, GemmShape, IntType, ceil_div

#: Hardware types of the parameters (the kernels' containers; one place for every level).
WEIGHT8 = IntType(8)
BIAS32 = IntType(32)
ACC32 = IntType(32)
DYADIC_M = IntType(32)
DYADIC_E = IntType(6, signed=False)     # 1..62
LN_OFFSET = IntType(64)

_INT32_LIMIT = 1 << 31


def check_acc(layer, acc: np.ndarray) -> np.ndarray:
    """Refuse an accumulator that left int32 (range analysis should have caught it)."""
    peak = max(int(acc.max(initial=0)), -int(acc.min(initial=0)))
    if peak >= _INT32_LIMIT:
        raise OverflowError(f"layer {layer.name}: accumulator {peak} does not fit int32")
    return acc


def weight_t(layer) -> spec.IntMatrix:
    """The layer's weight, transposed for ``x @ Wᵀ``, converted once per layer object."""
    cached = layer.cache.get("weight_t")
    if cached is None:
        cached = layer.cache["weight_t"] = spec.IntMatrix(np.asarray(layer.params["weight"]).T)
    return cached


def split_heads(x: np.ndarray, part: int, heads: int, head_dim: int) -> np.ndarray:
    """Slice q (part 0), k (1) or v (2) from a (B, T, 3·H·hd) tensor as (B, H, T, hd)."""
    b, t, _ = x.shape
    width = heads * head_dim
    sl = x[:, :, part * width:(part + 1) * width]
    return sl.reshape(b, t, heads, head_dim).transpose(0, 2, 1, 3)


def patches_of(image: np.ndarray, patch: int) -> np.ndarray:
    """(B, C, H, W) → (B, gh·gw, C·p·p), each patch flattened in (c, kh, kw) order."""
    b, c, h, w = image.shape
    gh, gw = h // patch, w // patch
    x = image.reshape(b, c, gh, patch, gw, patch).transpose(0, 2, 4, 1, 3, 5)
    return x.reshape(b, gh * gw, c * patch * patch)


# -- unit cost models of the engine (mirrors of hw/hls/ivit/engine.h; see ivit_hls.perf) ----
#: Pipeline depths and latencies of the engine's units, as engine.h writes them.
GEMM_DEPTH = 6
EPI_DEPTH = 8
DDR_LATENCY = 64
VEC_DEPTH = 8
ROW_DIV_DEPTH = 68
WORD_BYTES = 64


def ddr_bytes_per_cycle(engine: Engine) -> int:
    """Bytes per cycle the weight port delivers (64 = one 512-bit word per cycle)."""
    return int(getattr(engine, "ddr_bytes_per_cycle", WORD_BYTES))


def panel_stride(k: int, c: int) -> int:
    """Bytes of one tile-major K x C weight panel (a whole number of 64-byte words)."""
    return ceil_div(k * c, WORD_BYTES) * WORD_BYTES


def default_drain(rows: int, cols: int) -> int:
    """Epilogue lanes when none are given: min(R, C) (a square array drains in C cycles)."""
    return max(1, min(rows, cols))


def drain_lanes(engine: Engine) -> int:
    """Epilogue lanes: results drained per cycle, E rows of one column (at most R)."""
    e = int(getattr(engine, "drain_lanes", 0) or default_drain(engine.rows, engine.cols))
    return min(e, engine.rows)


def drain_cycles(engine: Engine) -> int:
    """Cycles of draining one R x C tile, column by column, E rows of a column per cycle
    (engine.h ``drain_cycles``)."""
    return engine.cols * ceil_div(engine.rows, drain_lanes(engine))


def panel_load_steps(k: int, c: int, bpc: int) -> int:
    """Iterations of one weight-panel load: two C-byte rows per cycle (the two ports of the
    panel half being written), no faster than the port's ``bpc`` bytes per cycle."""
    return max(ceil_div(k, 2), ceil_div(k * c, bpc))


def gemm_trips(m: int, n: int, k: int, slices: int, engine: Engine, load: int,
               preloaded: bool = False, next_load: int = 0) -> int:
    """Iterations of the engine's flat GEMM loop (engine.h ``gemm_trips``): the first panel's
    load (``load`` steps; none for on-chip operands or when the GEMM before loaded it,
    ``preloaded``), then per column panel ``tiles`` windows of max(K * slices, drain) steps
    (the MAC of one tile, the drain of the one before, the next panel's load), stretched to
    ``load`` when that is longer (the last panel's to ``next_load``, the next GEMM's first
    panel), then the last tile's drain."""
    tiles, panels = ceil_div(m, engine.rows), ceil_div(n, engine.cols)
    d = drain_cycles(engine)
    comp = tiles * max(k * slices, d)
    return ((0 if preloaded else load) + (panels - 1) * max(comp, load) + max(comp, next_load)
            + d)


@functools.lru_cache(maxsize=65536)
def gemm_ddr(m: int, n: int, k: int, engine: Engine, slices: int = 1, preloaded: bool = False,
             next_k: int = 0) -> tuple[int, int]:
    """(cycles, DDR weight bytes) of a GEMM with weights from DDR: column panels outermost
    (each weight byte read once, all panels one sequential stream, the first beat's latency
    counted once), the next panel loading while the current one computes. In a chain of
    GEMMs (``ivit_hls.hls.lower.link_panels``) its first panel may be on chip already
    (``preloaded``) and its last panel's window loads the next GEMM's first (``next_k`` rows;
    0: none)."""
    bpc = ddr_bytes_per_cycle(engine)
    load = panel_load_steps(k, engine.cols, bpc)
    next_load = panel_load_steps(next_k, engine.cols, bpc) if next_k else 0
    return (gemm_trips(m, n, k, slices, engine, load, preloaded, next_load) + DDR_LATENCY
            + GEMM_DEPTH + EPI_DEPTH,
            ceil_div(n, engine.cols) * panel_stride(k, engine.cols))


#: A bank at most this many words deep, or of at most this many bits, is distributed RAM
#: (``perf.onchip.LUTRAM_DEPTH``, ``LUTRAM_BITS``; units_gemm.h ``IM2COL_LUTRAM_*``).
IM2COL_LUTRAM_DEPTH = 64
IM2COL_LUTRAM_BITS = 2048


def im2col_word(patch: int, k: int, rows_per_bank: int, half: bool, elem_bits: int) -> int:
    """Elements of one im2col buffer word (units_gemm.h ``im2col_word``): a patch row, or
    with ``half`` (``im2col_words="half"``), where whole-row words leave a bank
    (``rows_per_bank`` rows of ``k`` elements of ``elem_bits``) distributed RAM by its depth
    and half-row words make it block RAM (over 64 words deep and 2 Kb), half a patch row (an
    even patch)."""
    depth = rows_per_bank * ceil_div(k, patch)
    block = (2 * depth > IM2COL_LUTRAM_DEPTH
             and depth * patch * elem_bits > IM2COL_LUTRAM_BITS)
    return patch // 2 if half and depth <= IM2COL_LUTRAM_DEPTH and block and patch % 2 == 0 \
        else patch


def patch_load_steps(size: int, patch: int, word: int, elem_bytes: int) -> int:
    """Steps of one image's load into the im2col buffer (units_gemm.h ``patch_load_steps``):
    two buffer words a cycle through the banks' two ports (two ``patch``-element runs, patch
    rows, of whole-row words; one of half-row words), no faster than the port's 64-byte
    words. ``size`` = C*H*W, ``word`` = ``im2col_word``."""
    runs_per_step = 2 * word // patch
    return max(ceil_div(size // patch, runs_per_step), ceil_div(size, WORD_BYTES // elem_bytes))


def gemm_cycles(shape: GemmShape, engine: Engine) -> int:
    """Cycles of a GEMM with DDR weights (linear layers, the patch embedding)."""
    return shape.repeats * gemm_ddr(shape.m, shape.n, shape.k, engine)[0]


def onchip_gemm_cycles(shape: GemmShape, engine: Engine, slices: int = 1) -> int:
    """Cycles of an unfused attention GEMM (both operands on chip): one flat engine loop per
    repeat (head and image), drains overlapped with the next tile across row strips."""
    return shape.repeats * (gemm_trips(shape.m, shape.n, shape.k, slices, engine, 0)
                            + GEMM_DEPTH + EPI_DEPTH)


def row_vector_cycles(rows: int, length: int, passes: int, engine: Engine) -> int:
    """The vector unit: ``lanes`` elements per cycle, ``passes`` passes over each row."""
    return rows * passes * ceil_div(length, engine.lanes) + VEC_DEPTH


def vector_cycles(size: int, passes: int, engine: Engine) -> int:
    """``size`` elements as one row through the vector unit (kinds without their own unit)."""
    return row_vector_cycles(1, size, passes, engine)


def slices_of(t) -> int:
    """Byte slices an A operand of type ``t`` takes through the 8-bit PEs (1 or 2)."""
    return 1 if t.bits <= 8 else 2
