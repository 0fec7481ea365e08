"""``ibert_softmax``: the I-BERT ablation of Shiftmax (polynomial i-exp, Shiftmax's exact
normalisation; ``ivit_hls/spec/ibert.py``). Not part of the default semantics."""

from __future__ import annotations

from dataclasses import dataclass

from ..spec.ibert import ibert_softmax
from ..spec.shift import shiftmax_row_sum_bound
from .base import IntType, OpDef, RtlParams, TensorType, expect
from .common import vector_cycles
from .registry import register
from .shiftmax import SHIFTMAX_PASSES

#: Bits of 2^M // Σ kept by the reciprocal (as in ``spec.ibert``).
_RECIP_BITS = 30


@dataclass(frozen=True)
class IBertSoftmaxAttrs:
    k: int
    q_ln2: int
    q_b: int
    q_c: int
    out_bits: int


def div_bits(a) -> int:
    """M of the row reciprocal ``2^M // Σe``: ``bitlen(q_b² + q_c) + 30``."""
    return (a.q_b * a.q_b + a.q_c).bit_length() + _RECIP_BITS


@register
class IBertSoftmax(OpDef):
    """``P = ibert_softmax(x, k, {q_ln2, q_b, q_c}, out_bits)`` over the last axis, unsigned."""

    kind = "ibert_softmax"
    Attrs = IBertSoftmaxAttrs
    inputs = ("scores",)

    def output(self, layer, ins):
        a = layer.attrs
        expect(layer, a.k >= 0 and a.q_ln2 >= 1 and a.q_b >= 1 and a.q_c >= 0
               and a.out_bits >= 2, "needs k >= 0, q_ln2 >= 1, q_b >= 1, q_c >= 0")
        expect(layer, div_bits(a) <= 62, "the row reciprocal 2^M needs M <= 62")
        return TensorType(tuple(ins[0].shape), IntType(a.out_bits, signed=False))

    def golden(self, layer, scores):
        a = layer.attrs
        return ibert_softmax(scores, a.k, {"q_ln2": a.q_ln2, "q_b": a.q_b, "q_c": a.q_c},
                             a.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        a = layer.attrs
        length = int(ins[0].shape[-1])
        proof.add(layer, "pre-shifted exponent (x - max) << k", 2 * (2 * in_bounds[0] << a.k),
                  1 << 63)
        peak = (a.q_b + a.q_ln2) ** 2 + a.q_c   # |q_p + q_b| <= q_b + q_ln2 before the shift
        proof.add(layer, "i-exp polynomial (q_p + q_b)^2 + q_c", peak, 1 << 63)
        proof.add(layer, "row sum of i-exp", length * peak, 1 << 62)
        proof.add(layer, "normalization product e*factor <= 2^M", 1 << div_bits(a), 1 << 63)
        proof.row_sums[layer.name] = shiftmax_row_sum_bound(length, a.out_bits)
        return 1 << (a.out_bits - 1)

    def cycles(self, layer, ins, out, engine):
        return vector_cycles(out.size, SHIFTMAX_PASSES, engine)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        return ctx.layer("ibert_softmax", ins, out,
                         dims={"ROWS": out.size // out.shape[-1], "LEN": out.shape[-1]},
                         consts={"K": a.k, "Q_LN2": a.q_ln2, "Q_B": a.q_b, "Q_C": a.q_c,
                                 "OUT_BITS": a.out_bits})

    def rtl(self, layer, ins, out):
        a = layer.attrs
        c_w = max(a.q_ln2.bit_length(), a.q_b.bit_length()) + 1
        return RtlParams(scalars={"K": a.k, "Q_LN2": a.q_ln2, "Q_B": a.q_b, "Q_C": a.q_c,
                                  "OUT_BITS": a.out_bits},
                         unit="ivit_ibert_exp",
                         unit_params={"IN_W": ins[0].dtype.bits + 1 + a.k, "C_W": c_w})
