"""``window_qk``: Swin window attention scores with the relative position bias (§14)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import spec
from . import bounds
from .base import GemmShape, IntType, OpDef, ParamSpec, RtlParams, TensorType, expect, expect_shape
from .common import DYADIC_E, DYADIC_M, gemm_cycles
from .registry import register
from .windows import check_geometry, window_index

#: The relative position bias at the score scale (added after the requant, saturated once).
BIAS16 = IntType(16)
#: Token indices in the HLS config struct.
INDEX32 = IntType(32)


@dataclass(frozen=True)
class WindowAttnAttrs:
    heads: int
    head_dim: int
    grid: tuple[int, int]
    window: int
    shift: int
    m: int
    e: int
    out_bits: int


def check_window_qkv(layer, qkv) -> tuple[int, int, int]:
    """(windows, tokens per window, tokens) of a window-attention layer reading ``qkv``."""
    a = layer.attrs
    expect(layer, a.heads >= 1 and a.head_dim >= 1, "heads and head_dim must be positive")
    expect(layer, abs(a.m) < 1 << 31, "dyadic multiplier m must fit 32 bits")
    nw, n, t = check_geometry(layer, a.grid, a.window, a.shift)
    expect(layer, tuple(qkv.shape) == (t, 3 * a.heads * a.head_dim),
           f"qkv {qkv.shape} is not ({t}, 3*{a.heads}*{a.head_dim})")
    return nw, n, t


def windowed_heads(qkv: np.ndarray, part: int, a) -> np.ndarray:
    """q (0), k (1) or v (2) of (B, T, 3·H·hd) natural tokens as (B, nW, H, N, hd) windows."""
    idx = window_index(a.grid[0], a.grid[1], a.window, a.shift)
    width = a.heads * a.head_dim
    x = qkv[:, idx, part * width:(part + 1) * width]
    b = x.shape[0]
    n = a.window * a.window
    return x.reshape(b, -1, n, a.heads, a.head_dim).transpose(0, 1, 3, 2, 4)


@register
class WindowQK(OpDef):
    """``s = sat(requant(q_w·k_wᵀ, m, e) + bias[h])`` per window w and head h:
    (T, 3·H·hd) natural tokens → (nW, H, N, N)."""

    kind = "window_qk"
    Attrs = WindowAttnAttrs
    inputs = ("qkv",)
    unit = "array"

    def parse(self, raw, where):
        if isinstance(raw, dict) and isinstance(raw.get("grid"), int):
            raw = dict(raw, grid=[raw["grid"], raw["grid"]])
        return super().parse(raw, where)

    def params(self, attrs):
        return {"bias": ParamSpec(BIAS16, "(H, N, N) relative position bias at the score scale")}

    def output(self, layer, ins):
        nw, n, _ = check_window_qkv(layer, ins[0])
        a = layer.attrs
        expect_shape(layer, "bias", layer.params["bias"], (a.heads, n, n))
        return TensorType((nw, a.heads, n, n), IntType(a.out_bits))

    def gemm(self, layer, ins):
        a = layer.attrs
        n = a.window * a.window
        return GemmShape(n, n, a.head_dim, a.heads * ins[0].shape[0] // n)

    def golden(self, layer, qkv):
        a = layer.attrs
        q, k = windowed_heads(qkv, 0, a), windowed_heads(qkv, 1, a)
        raw = spec.requant(spec.int_matmul(q, k.swapaxes(-1, -2)), a.m, a.e)
        return spec.saturate(raw + np.asarray(layer.params["bias"], dtype=np.int64), a.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        a = layer.attrs
        acc = a.head_dim * in_bounds[0] * in_bounds[0]
        proof.add(layer, "int32 accumulator", acc, bounds.INT32)
        raw = bounds.requant(proof, layer, acc, a.m, a.e)
        proof.add(layer, "score + relative position bias", raw + bounds.amax(layer.params["bias"]),
                  bounds.INT64)
        return IntType(a.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return gemm_cycles(self.gemm(layer, ins), engine)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        nw, n, t = out.shape[0], a.window * a.window, ins[0].shape[0]
        return ctx.layer("window_qk", ins, out,
                         dims={"T": t, "NW": nw, "N": n, "H": a.heads, "HD": a.head_dim},
                         consts={"M": (DYADIC_M, a.m), "E": (DYADIC_E, a.e),
                                 "OUT_BITS": a.out_bits},
                         arrays=[("index", INDEX32,
                                  window_index(a.grid[0], a.grid[1], a.window, a.shift)),
                                 ("bias", BIAS16, np.asarray(layer.params["bias"]).reshape(-1))])

    def rtl(self, layer, ins, out):
        a = layer.attrs
        return RtlParams(scalars={"M": a.m, "E": a.e, "OUT_BITS": a.out_bits, "HEADS": a.heads,
                                  "HEAD_DIM": a.head_dim, "WINDOW": a.window, "SHIFT": a.shift},
                         arrays={"bias": (np.asarray(layer.params["bias"]).reshape(-1), BIAS16)},
                         unit="ivit_systolic",
                         unit_params={"A_W": ins[0].dtype.bits, "OUT_W": a.out_bits})
