"""``ibert_gelu``: the I-BERT ablation of ShiftGELU (polynomial i-erf; ``spec/ibert.py``),
requantized to the layer's output scale. Not part of the default semantics."""

from __future__ import annotations

from dataclasses import dataclass

from .. import spec
from ..spec.ibert import ibert_gelu
from . import bounds
from .base import IntType, OpDef, RtlParams, TensorType, expect
from .common import DYADIC_E, DYADIC_M, vector_cycles
from .registry import register


@dataclass(frozen=True)
class IBertGeluAttrs:
    q_clip: int
    q_one_erf: int
    q_one: int
    m: int
    e: int
    out_bits: int


def consts_of(a) -> dict:
    """The integer constants ``spec.ibert.ibert_gelu`` reads."""
    return {"q_clip": a.q_clip, "q_one_erf": a.q_one_erf, "q_one": a.q_one}


@register
class IBertGelu(OpDef):
    """``requant(x·(i-erf(x) + q_one), m, e, out_bits)``."""

    kind = "ibert_gelu"
    Attrs = IBertGeluAttrs

    def output(self, layer, ins):
        a = layer.attrs
        expect(layer, a.q_clip >= 1 and a.q_one_erf >= 1 and a.q_one >= 1,
               "needs q_clip, q_one_erf, q_one >= 1")
        expect(layer, abs(a.m) < 1 << 31, "dyadic multiplier m must fit 32 bits")
        return TensorType(tuple(ins[0].shape), IntType(a.out_bits))

    def golden(self, layer, x):
        a = layer.attrs
        return spec.requant(ibert_gelu(x, consts_of(a)), a.m, a.e, a.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        a = layer.attrs
        core = in_bounds[0] * (a.q_one_erf + a.q_one)
        proof.add(layer, "x * (i-erf + 1)", core, bounds.INT64)
        bounds.requant(proof, layer, core, a.m, a.e)
        return IntType(a.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return vector_cycles(out.size, 1, engine)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        return ctx.layer("ibert_gelu", ins, out,
                         dims={"ROWS": out.size // out.shape[-1], "COLS": out.shape[-1]},
                         consts={"Q_CLIP": a.q_clip, "Q_ONE_ERF": a.q_one_erf,
                                 "Q_ONE": a.q_one, "M": (DYADIC_M, a.m), "E": (DYADIC_E, a.e),
                                 "OUT_BITS": a.out_bits})

    def rtl(self, layer, ins, out):
        a = layer.attrs
        return RtlParams(scalars={"Q_CLIP": a.q_clip, "Q_ONE_ERF": a.q_one_erf,
                                  "Q_ONE": a.q_one, "M": a.m, "E": a.e,
                                  "OUT_BITS": a.out_bits},
                         unit="ivit_ibert_gelu",
                         unit_params={"IN_W": ins[0].dtype.bits, "OUT_W": a.out_bits})
