"""``mean_pool``: the average over tokens of Swin's pooled head, as one dyadic requant (§14)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import spec
from . import bounds
from .base import IntType, OpDef, RtlParams, TensorType, expect
from .common import DYADIC_E, DYADIC_M, vector_cycles
from .registry import register


@dataclass(frozen=True)
class MeanPoolAttrs:
    m: int
    e: int
    out_bits: int


@register
class MeanPool(OpDef):
    """``y_c = sat(rhu(Σ_t x_tc · m, e))``, ``m/2^e ≈ S_in / (T·S_out)``: (T, C) → (1, C)."""

    kind = "mean_pool"
    Attrs = MeanPoolAttrs

    def output(self, layer, ins):
        (x,) = ins
        expect(layer, len(x.shape) == 2, f"expects (tokens, channels), input is {x.shape}")
        expect(layer, abs(layer.attrs.m) < 1 << 31, "dyadic multiplier m must fit 32 bits")
        return TensorType((1, x.shape[1]), IntType(layer.attrs.out_bits))

    def golden(self, layer, x):
        a = layer.attrs
        return spec.requant(x.sum(axis=1, keepdims=True), a.m, a.e, a.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        a = layer.attrs
        total = ins[0].shape[0] * in_bounds[0]
        proof.add(layer, "token sum", total, bounds.INT32)
        bounds.requant(proof, layer, total, a.m, a.e)
        return IntType(a.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return vector_cycles(ins[0].size, 1, engine)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        return ctx.layer("mean_pool", ins, out,
                         dims={"ROWS": ins[0].shape[0], "COLS": ins[0].shape[1]},
                         consts={"M": (DYADIC_M, a.m), "E": (DYADIC_E, a.e),
                                 "OUT_BITS": a.out_bits})

    def rtl(self, layer, ins, out):
        a = layer.attrs
        return RtlParams(scalars={"M": a.m, "E": a.e, "OUT_BITS": a.out_bits,
                                  "TOKENS": ins[0].shape[0]},
                         unit="ivit_requant",
                         unit_params={"IN_W": 32, "OUT_W": a.out_bits})
