"""``shiftmax``: ShiftExp of the max-subtracted row, one integer division per row (§7–8)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import spec
from ..spec.shift import shiftmax_div_bits, shiftmax_row_sum_bound
from .base import IntType, OpDef, RtlParams, TensorType, choices, expect
from .registry import register
from .vector_cost import shiftmax_cycles

#: Passes over a row of the plain kernels' softmax forms (window Shiftmax, I-BERT softmax
#: price themselves with it): max, exp + sum, normalize.
SHIFTMAX_PASSES = 3

# Rows whose range is narrower than this go through a table of ShiftExp over that range
# (exact by construction, and several times faster than the int64 arithmetic per element).
_LUT_LIMIT = 1 << 12


@dataclass(frozen=True)
class ShiftmaxAttrs:
    k: int
    i0: int
    n: int
    out_bits: int
    #: "paper" is I-ViT's ShiftExp; "corrected" adds the shift-and-add bias correction.
    #: Files written before the correction existed hold the paper's form (the default).
    exp_form: str = choices("corrected", "paper", default="paper")


@register
class Shiftmax(OpDef):
    """Unsigned probabilities ``0 <= P <= 2^(out_bits-1)`` over the last axis."""

    kind = "shiftmax"
    Attrs = ShiftmaxAttrs
    inputs = ("scores",)

    def output(self, layer, ins):
        a = layer.attrs
        expect(layer, a.k >= 0 and a.i0 >= 1 and a.n >= 1 and a.out_bits >= 2,
               "needs k >= 0, i0 >= 1, n >= 1, out_bits >= 2")
        expect(layer, a.out_bits - 1 < shiftmax_div_bits(a.i0, a.n),
               "out_bits too wide for the reciprocal's precision")
        return TensorType(tuple(ins[0].shape), IntType(a.out_bits, signed=False))

    def golden(self, layer, scores):
        a = layer.attrs
        d = scores - scores.max(axis=-1, keepdims=True)
        lo = int(d.min(initial=0))
        if -lo >= _LUT_LIMIT:
            return spec.shiftmax(scores, a.k, a.i0, a.n, a.out_bits, exp_form=a.exp_form)
        table = spec.shift_exp(np.arange(lo, 1, dtype=np.int64) << a.k, a.i0, a.n,
                               exp_form=a.exp_form)
        return spec.shiftmax_normalize(table[d - lo], a.i0, a.n, a.out_bits,
                                       exp_form=a.exp_form)

    def bounds(self, layer, in_bounds, ins, proof):
        a = layer.attrs
        length = int(ins[0].shape[-1])
        shifted = 2 * in_bounds[0] << a.k
        proof.add(layer, "pre-shifted exponent (x - max) << k", 2 * shifted, 1 << 63)
        # the corrected mantissa may exceed I0 by its correction (at most 6·I0/4096 + 1)
        e_max = (a.i0 + (6 * a.i0 // 4096 + 1 if a.exp_form == "corrected" else 0)) << a.n
        proof.add(layer, "row sum of ShiftExp", length * e_max, 1 << 62)
        proof.add(layer, "normalization product e*factor <= 2^M",
                  1 << shiftmax_div_bits(a.i0, a.n), 1 << 63)
        proof.row_sums[layer.name] = shiftmax_row_sum_bound(length, a.out_bits)
        return 1 << (a.out_bits - 1)

    def cycles(self, layer, ins, out, engine):
        rows = out.size // out.shape[-1]
        return shiftmax_cycles(rows, out.shape[-1], engine.lanes)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        rows = out.size // out.shape[-1]
        return ctx.layer("shiftmax", ins, out, dims={"ROWS": rows, "LEN": out.shape[-1]},
                         consts={"K": a.k, "I0": a.i0, "N": a.n, "OUT_BITS": a.out_bits,
                                 "EXP_FORM": ctx.enum("exp_form", a.exp_form)})

    def datapath_widths(self, layer, ins):
        # every exponential <= the top element's (x - max = 0) plus the corrected mantissa's
        # excess; the row sum >= the top element's, so factor <= 2^M // e(0)
        a = layer.attrs
        e_max = (a.i0 + (6 * a.i0 // 4096 + 1 if a.exp_form == "corrected" else 0)) << a.n
        e0 = int(spec.shift_exp(np.array([0]), a.i0, a.n, a.exp_form)[0])
        factor = (1 << shiftmax_div_bits(a.i0, a.n)) // max(1, e0)
        return {"exp": e_max.bit_length() + 1, "factor": factor.bit_length() + 1}

    def rtl(self, layer, ins, out):
        a = layer.attrs
        return RtlParams(scalars={"K": a.k, "I0": a.i0, "N": a.n, "OUT_BITS": a.out_bits},
                         unit="ivit_shiftmax",
                         unit_params={"IN_W": ins[0].dtype.bits, "OUT_W": a.out_bits,
                                      "EXP_FORM": 1 if a.exp_form == "corrected" else 0,
                                      "I0_W": max(a.i0.bit_length(), 1),
                                      "LEN": int(ins[0].shape[-1])})

    def engine(self, layer, ins, ctx):
        s, a = ins[0], layer.attrs
        ctx.check_unit(layer, a.k, a.i0, a.n)
        ctx.check_form(layer, "the ShiftExp form", a.exp_form, ctx.cfg.exp_form, "exp_form")
        t = s.chans
        rg = ctx.cdiv(t, ctx.n)
        out = ctx.new(layer.name, s.rows, t)
        for hh in range(s.rows // (rg * ctx.n)):
            base = hh * rg * s.stride
            ctx.vec(f"{layer.name}[{hh}]", ctx.V_SMAX, s, out, t, a_base=s.base + base,
                    o_base=out.base + base, k=a.k, i0=a.i0, nn=a.n)
        out.info_head_rows = t
        return out
