"""``residual_add``: both branches requantized to the output scale, summed, saturated once."""

from __future__ import annotations

from dataclasses import dataclass

from .. import spec
from . import bounds
from .base import IntType, OpDef, ParamSpec, RtlParams, TensorType, expect, expect_shape
from .common import DYADIC_E, DYADIC_M
from .registry import register
from .vector_cost import residual_cycles


@dataclass(frozen=True)
class ResidualAddAttrs:
    m_b: int
    e_b: int
    out_bits: int


@register
class ResidualAdd(OpDef):
    """``sat(rhu(a·m_a[c], e_a[c]) + rhu(b·m_b, e_b))``: a = branch (per channel), b = stream."""

    kind = "residual_add"
    Attrs = ResidualAddAttrs
    inputs = ("branch", "residual")

    def params(self, attrs):
        return {"m_a": ParamSpec(DYADIC_M, "(C,)"), "e_a": ParamSpec(DYADIC_E, "(C,)")}

    def output(self, layer, ins):
        a, b = ins
        expect(layer, tuple(a.shape) == tuple(b.shape),
               f"branch {a.shape} and residual {b.shape} differ")
        expect(layer, abs(layer.attrs.m_b) < 1 << 31, "dyadic multiplier m_b must fit 32 bits")
        for key in ("m_a", "e_a"):
            expect_shape(layer, key, layer.params[key], (a.shape[-1],))
        return TensorType(tuple(a.shape), IntType(layer.attrs.out_bits))

    def golden(self, layer, branch, residual):
        a, p = layer.attrs, layer.params
        return spec.residual_add(branch, p["m_a"], p["e_a"], residual, a.m_b, a.e_b, a.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        a, p = layer.attrs, layer.params
        bounds.requant(proof, layer, in_bounds[0], p["m_a"], p["e_a"])
        bounds.requant(proof, layer, in_bounds[1], a.m_b, a.e_b)
        return IntType(a.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return residual_cycles(out.shape[0], out.shape[1], engine.lanes)

    def hls(self, layer, ins, out, ctx):
        a, p = layer.attrs, layer.params
        return ctx.layer("residual_add", ins, out,
                         dims={"ROWS": out.shape[0], "COLS": out.shape[1]},
                         consts={"M_B": (DYADIC_M, a.m_b), "E_B": (DYADIC_E, a.e_b),
                                 "OUT_BITS": a.out_bits},
                         arrays=[("m_a", DYADIC_M, p["m_a"]), ("e_a", DYADIC_E, p["e_a"])])

    def datapath_widths(self, layer, ins):
        # the second input is the residual stream (the first, the branch)
        return {"res": ins[1].dtype.bits}

    def rtl(self, layer, ins, out):
        a, p = layer.attrs, layer.params
        return RtlParams(scalars={"M_B": a.m_b, "E_B": a.e_b, "OUT_BITS": a.out_bits},
                         arrays={"m_a": (p["m_a"], DYADIC_M), "e_a": (p["e_a"], DYADIC_E)},
                         unit="ivit_residual_add",
                         unit_params={"A_W": ins[0].dtype.bits, "B_W": ins[1].dtype.bits,
                                      "OUT_W": a.out_bits})

    def engine(self, layer, ins, ctx):
        branch, stream = ins
        a, p = layer.attrs, layer.params
        if a.out_bits != 16:
            raise ctx.refuse(f"{layer.name} must write 16 bits, not {a.out_bits}")
        out = ctx.new(layer.name, branch.rows, branch.chans)
        ctx.const(ctx.C_M, p["m_a"], branch.chans, layer.name)
        ctx.const(ctx.C_E, p["e_a"], branch.chans, layer.name)
        ctx.vec(layer.name, ctx.V_RES, branch, out, branch.rows, b=stream, m_b=a.m_b,
                e_b=a.e_b)
        return out
