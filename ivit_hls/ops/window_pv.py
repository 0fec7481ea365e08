"""``window_pv``: Swin window attention context P·v, written back to natural token order (§14)."""

from __future__ import annotations

import numpy as np

from .. import spec
from . import bounds
from .base import GemmShape, IntType, OpDef, RtlParams, TensorType, expect
from .common import DYADIC_E, DYADIC_M, gemm_cycles
from .registry import register
from .window_qk import INDEX32, WindowAttnAttrs, check_window_qkv, windowed_heads
from .windows import window_index


@register
class WindowPV(OpDef):
    """``out[index[w·N + n], h·hd:(h+1)·hd] = requant(P_wh·v_wh, m, e, out_bits)[n]``:
    probabilities (nW, H, N, N) and natural-order qkv → (T, H·hd) natural order."""

    kind = "window_pv"
    Attrs = WindowAttnAttrs
    inputs = ("probs", "qkv")
    unit = "array"

    def parse(self, raw, where):
        if isinstance(raw, dict) and isinstance(raw.get("grid"), int):
            raw = dict(raw, grid=[raw["grid"], raw["grid"]])
        return super().parse(raw, where)

    def output(self, layer, ins):
        probs, qkv = ins
        nw, n, t = check_window_qkv(layer, qkv)
        a = layer.attrs
        expect(layer, tuple(probs.shape) == (nw, a.heads, n, n),
               f"probabilities {probs.shape} are not ({nw}, {a.heads}, {n}, {n})")
        return TensorType((t, a.heads * a.head_dim), IntType(a.out_bits))

    def gemm(self, layer, ins):
        a = layer.attrs
        n = a.window * a.window
        return GemmShape(n, a.head_dim, n, a.heads * ins[1].shape[0] // n)

    def golden(self, layer, probs, qkv):
        a = layer.attrs
        v = windowed_heads(qkv, 2, a)
        ctx = spec.requant(spec.int_matmul(probs, v), a.m, a.e, a.out_bits)  # (B, nW, H, N, hd)
        b = ctx.shape[0]
        ctx = ctx.transpose(0, 1, 3, 2, 4).reshape(b, -1, a.heads * a.head_dim)
        out = np.empty_like(ctx)
        out[:, window_index(a.grid[0], a.grid[1], a.window, a.shift)] = ctx
        return out

    def bounds(self, layer, in_bounds, ins, proof):
        row_sum = proof.row_sums.get(layer.inputs[0], in_bounds[0] * ins[0].shape[-1])
        acc = row_sum * in_bounds[1]
        proof.add(layer, "int32 accumulator (row sum of P x max|v|)", acc, bounds.INT32)
        bounds.requant(proof, layer, acc, layer.attrs.m, layer.attrs.e)
        return IntType(layer.attrs.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return gemm_cycles(self.gemm(layer, ins), engine)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        n = a.window * a.window
        return ctx.layer("window_pv", ins, out,
                         dims={"T": out.shape[0], "NW": ins[0].shape[0], "N": n, "H": a.heads,
                               "HD": a.head_dim},
                         consts={"M": (DYADIC_M, a.m), "E": (DYADIC_E, a.e),
                                 "OUT_BITS": a.out_bits},
                         arrays=[("index", INDEX32,
                                  window_index(a.grid[0], a.grid[1], a.window, a.shift))])

    def rtl(self, layer, ins, out):
        a = layer.attrs
        p = ins[0].dtype
        return RtlParams(scalars={"M": a.m, "E": a.e, "OUT_BITS": a.out_bits, "HEADS": a.heads,
                                  "HEAD_DIM": a.head_dim, "WINDOW": a.window, "SHIFT": a.shift},
                         unit="ivit_systolic",
                         unit_params={"A_W": p.bits + (0 if p.signed else 1),
                                      "OUT_W": a.out_bits})
