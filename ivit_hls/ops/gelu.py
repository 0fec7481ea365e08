"""``gelu``: ShiftGELU (or a selectable variant), requantized to the layer's output scale (§9)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import spec
from ..spec.gelu import gelu_lookup
from ..spec.shift import GELU_SIGMOID_BITS
from . import bounds
from .base import IntType, OpDef, ParamSpec, RtlParams, TensorType, choices, expect, expect_shape
from .common import DYADIC_E, DYADIC_M
from .registry import register
from .vector_cost import gelu_cycles

#: Forms computed element by element (the golden model tabulates them over the input range).
_ELEMENTWISE = ("shift", "symmetric")
_LUT_LIMIT = 1 << 12


@dataclass(frozen=True)
class GeluAttrs:
    k: int
    i0: int
    n: int
    #: "shift" (default), "symmetric" (exact division), "rowmax" (the paper's),
    #: "table" (a per-layer table of correctly rounded GELU for int8 inputs)
    form: str = choices("shift", "symmetric", "rowmax", "table")
    m: int
    e: int
    out_bits: int


@register
class Gelu(OpDef):
    """``requant(x·σ_q, m, e, out_bits)`` with the form's sigmoid; the table form looks the
    output up directly (``table[x + 2^(in_bits-1)]``)."""

    kind = "gelu"
    Attrs = GeluAttrs

    def params(self, attrs):
        if attrs.form == "table":
            return {"table": ParamSpec(IntType(attrs.out_bits), "(2^in_bits,) GELU at the "
                                       "output scale, indexed by x + 2^(in_bits-1)")}
        return {}

    def output(self, layer, ins):
        (x,) = ins
        a = layer.attrs
        expect(layer, a.k >= 0 and a.i0 >= 1 and a.n >= 1, "needs k >= 0, i0 >= 1, n >= 1")
        if a.form == "table":
            expect(layer, x.dtype.bits <= 12, f"a table needs a narrow input, not {x.dtype}")
            expect_shape(layer, "table", layer.params["table"], (1 << x.dtype.bits,))
        return TensorType(tuple(x.shape), IntType(a.out_bits))

    def golden(self, layer, x):
        a = layer.attrs
        if a.form == "table":
            return gelu_lookup(x, layer.params["table"])
        lo, hi = int(x.min(initial=0)), int(x.max(initial=0))
        if a.form not in _ELEMENTWISE or hi - lo >= _LUT_LIMIT:
            core = spec.shift_gelu(x, a.k, a.i0, a.n, a.form)
            return spec.requant(core, a.m, a.e, a.out_bits)
        domain = np.arange(lo, hi + 1, dtype=np.int64)
        table = spec.requant(spec.shift_gelu(domain, a.k, a.i0, a.n, a.form),
                             a.m, a.e, a.out_bits)
        return table[x - lo]

    def bounds(self, layer, in_bounds, ins, proof):
        a = layer.attrs
        if a.form == "table":
            return IntType(a.out_bits).magnitude
        x = in_bounds[0]
        if a.form == "shift":
            from ..spec.gelu import gelu_recip

            # y = ((|x|·R) << k + 2^9) >> 10 is capped at 2^13 - 1 afterwards; h < 2^16
            proof.add(layer, "(|x|·R) << k", (x * gelu_recip(a.i0)) << a.k, bounds.INT64 >> 1)
            y_cap = (1 << 13) - 1
            h = (1 << 10) + y_cap + (y_cap >> 4) + (y_cap >> 5) + (y_cap * y_cap >> 11) + (
                y_cap * y_cap >> 14)
            proof.add(layer, "sigmoid exponent h", h, 1 << 16)
        else:
            proof.add(layer, "1.6875 * (x << k)", 2 * (x << a.k), bounds.INT64)
            num = (a.i0 << a.n) << GELU_SIGMOID_BITS
            proof.add(layer, "sigmoid numerator << sigma bits", 2 * num, bounds.INT64)
        bounds.requant(proof, layer, x << GELU_SIGMOID_BITS, a.m, a.e)
        return IntType(a.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        rows = out.size // out.shape[-1]
        return gelu_cycles(rows, out.shape[-1], engine.lanes, layer.attrs.form == "rowmax")

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        arrays = []
        if a.form == "table":
            arrays.append(("table", IntType(a.out_bits), layer.params["table"]))
        rows = out.size // out.shape[-1]
        return ctx.layer("gelu", ins, out, dims={"ROWS": rows, "COLS": out.shape[-1],
                               "IN_BITS": ins[0].dtype.bits},
                         consts={"K": a.k, "I0": a.i0, "N": a.n, "M": (DYADIC_M, a.m),
                                 "E": (DYADIC_E, a.e), "OUT_BITS": a.out_bits,
                                 "FORM": ctx.enum("gelu_form", a.form)},
                         arrays=arrays)

    def datapath_widths(self, layer, ins):
        # the shift form's multipliers (the other forms' per-element division is not priced)
        return {"gelu_in": ins[0].dtype.bits, "gelu": layer.attrs.form == "shift"}

    def rtl(self, layer, ins, out):
        a = layer.attrs
        arrays = {}
        if a.form == "table":
            arrays["table"] = (layer.params["table"], IntType(a.out_bits))
        scalars = {"K": a.k, "I0": a.i0, "N": a.n, "M": a.m, "E": a.e, "OUT_BITS": a.out_bits}
        in_w = ins[0].dtype.bits
        if a.form == "table":
            unit, params = "ivit_gelu_table", {"IN_W": in_w, "OUT_W": a.out_bits}
        elif a.form == "shift":
            from ..spec.gelu import gelu_recip

            scalars["R"] = gelu_recip(a.i0)
            unit = "ivit_gelu_shift"
            params = {"IN_W": in_w, "K_W": 4, "R_W": max(scalars["R"].bit_length(), 1),
                      "OUT_W": in_w + GELU_SIGMOID_BITS + 2}
        else:   # symmetric (rowmax runs on the same unit with a row-max pass in front)
            unit = "ivit_shiftgelu"
            params = {"IN_W": in_w, "OUT_W": in_w + GELU_SIGMOID_BITS + 2,
                      "I0_W": max(a.i0.bit_length(), 1)}
        return RtlParams(scalars=scalars, arrays=arrays, unit=unit, unit_params=params)

    def engine(self, layer, ins, ctx):
        x, a = ins[0], layer.attrs
        ctx.check_form(layer, "GELU form", a.form, ctx.cfg.gelu_form, "gelu_form")
        ctx.check_unit(layer, a.k, a.i0, a.n)
        from ..spec.gelu import gelu_recip

        r = gelu_recip(a.i0) if a.form == "shift" else 0
        if r >= 1 << 13:
            raise ctx.refuse(f"{layer.name} GELU reciprocal {r} needs more than 13 bits")
        out = ctx.new(layer.name, x.rows, x.chans)
        ctx.const(ctx.C_M, a.m, x.chans, layer.name)
        ctx.const(ctx.C_E, a.e, x.chans, layer.name)
        ctx.vec(layer.name, ctx.V_GELU, x, out, x.rows, sat=a.out_bits, k=a.k, i0=a.i0,
                nn=a.n, r=r)
        return out
