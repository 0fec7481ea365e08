"""Pieces several layer kinds share: parameter types, GEMM helpers, the engine's unit costs."""

from __future__ import annotations

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
    peak = int(np.abs(acc).max(initial=0))
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


# -- unit cost models of the engine (the HLS estimate; see ivit_hls.perf) ---------------------
def gemm_cycles(shape: GemmShape, engine: Engine) -> int:
    """An output-stationary R x C array: each R x C output tile streams K steps plus R + C
    cycles of operand skew; the drain of a finished tile overlaps the next tile."""
    r, c = engine.rows, engine.cols
    return shape.repeats * ceil_div(shape.m, r) * ceil_div(shape.n, c) * (shape.k + r + c)


def vector_cycles(size: int, passes: int, engine: Engine) -> int:
    """The vector unit: ``lanes`` elements per cycle, ``passes`` passes over the data."""
    return passes * ceil_div(size, engine.lanes)
