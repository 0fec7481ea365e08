"""``layernorm``: I-LayerNorm with γ folded into the per-channel requant and β into an offset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import spec
from ..spec.layernorm import ISQRT_MAX_INPUT, LN_FRAC_BITS, LN_MEAN_FRAC_BITS
from . import bounds
from .base import IntType, OpDef, ParamSpec, RtlParams, TensorType, choices, expect, expect_shape
from .common import DYADIC_E, DYADIC_M, LN_OFFSET
from .registry import register
from .vector_cost import layernorm_cycles


@dataclass(frozen=True)
class LayerNormAttrs:
    out_bits: int
    #: "all" tokens, or only the class token (the final norm before the head)
    tokens: str = choices("all", "cls")


@register
class LayerNorm(OpDef):
    """``out = sat(rhu(n·m_c + B_c, e_c))`` with ``n = ilayernorm_normalize(x)`` (§10)."""

    kind = "layernorm"
    Attrs = LayerNormAttrs

    def params(self, attrs):
        return {"m": ParamSpec(DYADIC_M, "(C,) γ·sqrt(C)/(2^16·S_out)"),
                "e": ParamSpec(DYADIC_E, "(C,)"),
                "bias": ParamSpec(LN_OFFSET, "(C,) β·2^e/S_out")}

    def output(self, layer, ins):
        (x,) = ins
        expect(layer, len(x.shape) == 2, f"expects (tokens, channels), input is {x.shape}")
        for key in ("m", "e", "bias"):
            expect_shape(layer, key, layer.params[key], (x.shape[1],))
        rows = 1 if layer.attrs.tokens == "cls" else x.shape[0]
        return TensorType((rows, x.shape[1]), IntType(layer.attrs.out_bits))

    def golden(self, layer, x):
        if layer.attrs.tokens == "cls":
            x = x[:, :1, :]
        p = layer.params
        return spec.ilayernorm(x, p["m"], p["e"], p["bias"], layer.attrs.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        p = layer.params
        channels = ins[0].shape[1]
        var = channels * ((2 * in_bounds[0]) << LN_MEAN_FRAC_BITS) ** 2
        proof.add(layer, "variance sum", var, ISQRT_MAX_INPUT + 1)
        bounds.requant(proof, layer, 1 << LN_FRAC_BITS, p["m"], p["e"], p["bias"])
        return IntType(layer.attrs.out_bits).magnitude

    def cycles(self, layer, ins, out, engine, row_stats: bool = False):
        # every token: the merged loop (ROWS = IN_ROWS in layernorm<CFG>); the class token:
        # three loops; row_stats: the unit before gathered the statistics (layernorm<CFG, true>)
        return layernorm_cycles(out.shape[0], out.shape[1], engine.lanes,
                                merged=layer.attrs.tokens == "all", stats=row_stats)

    def hls(self, layer, ins, out, ctx):
        from ..hls.recip import const_divisor
        from ..spec.layernorm import LN_MEAN_FRAC_BITS

        p = layer.params
        cols = ins[0].shape[1]
        # the row mean floor(16 sum / C) by a multiplication (exact, proven in hls.recip)
        div = const_divisor(cols, cols * ins[0].dtype.magnitude << LN_MEAN_FRAC_BITS)
        return ctx.layer("layernorm", ins, out,
                         dims={"ROWS": out.shape[0], "COLS": out.shape[1],
                               "DIV_MUL": div.mul, "DIV_SHIFT": div.shift,
                               "DIV_OFF": div.offset, "DIV_B": div.b,
                               # input rows per image (more than ROWS for the class token's)
                               "IN_ROWS": int(ins[0].shape[0])},
                         consts={"OUT_BITS": layer.attrs.out_bits},
                         arrays=[("m", DYADIC_M, p["m"]), ("e", DYADIC_E, p["e"]),
                                 ("bias", LN_OFFSET, p["bias"])])

    def datapath_widths(self, layer, ins):
        return {"ln_in": ins[0].dtype.bits,           # x (its square)
                "ln_diff": ins[0].dtype.bits + 6}     # 16x - mean

    def rtl(self, layer, ins, out):
        p = layer.params
        return RtlParams(scalars={"OUT_BITS": layer.attrs.out_bits},
                         arrays={"m": (p["m"], DYADIC_M), "e": (p["e"], DYADIC_E),
                                 "bias": (p["bias"], LN_OFFSET)},
                         unit="ivit_ilayernorm",
                         unit_params={"IN_W": ins[0].dtype.bits, "LEN": ins[0].shape[1]})

    def engine(self, layer, ins, ctx):
        x, p = ins[0], layer.params
        rows = 1 if layer.attrs.tokens == "cls" else x.rows
        out = ctx.new(layer.name, rows, x.chans)
        bias = np.asarray(p["bias"], dtype=np.int64)
        ctx.const(ctx.C_LO, bias & 0xFFFFFFFF, x.chans, layer.name)
        ctx.const(ctx.C_HI, bias >> 32, x.chans, layer.name)
        ctx.const(ctx.C_M, p["m"], x.chans, layer.name)
        ctx.const(ctx.C_E, p["e"], x.chans, layer.name)
        ctx.vec(layer.name, ctx.V_LN, x, out, rows, sat=layer.attrs.out_bits)
        return out
