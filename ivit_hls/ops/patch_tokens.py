"""``patch_tokens``: the patch convolution as a GEMM, requantized, without class token or
positions (Swin's patch embedding, whose LayerNorm follows as its own layer; §14)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import spec
from . import bounds
from .base import GemmShape, IntType, OpDef, ParamSpec, RtlParams, TensorType, expect, expect_shape
from .common import BIAS32, DYADIC_E, DYADIC_M, WEIGHT8, check_acc, gemm_cycles, patches_of, weight_t
from .registry import register


@dataclass(frozen=True)
class PatchTokensAttrs:
    patch: int
    in_chans: int
    dim: int
    grid: tuple[int, int]
    out_bits: int


@register
class PatchTokens(OpDef):
    """``tokens = sat(requant(patches·Wᵀ + bias, m_c, e_c), out_bits)``: image → (gh·gw, dim)."""

    kind = "patch_tokens"
    Attrs = PatchTokensAttrs
    inputs = ("image",)
    unit = "array"

    def parse(self, raw, where):
        if isinstance(raw, dict) and isinstance(raw.get("grid"), int):
            raw = dict(raw, grid=[raw["grid"], raw["grid"]])
        return super().parse(raw, where)

    def params(self, attrs):
        return {"weight": ParamSpec(WEIGHT8, "(dim, in_chans·patch²)"),
                "bias": ParamSpec(BIAS32), "m": ParamSpec(DYADIC_M), "e": ParamSpec(DYADIC_E)}

    def output(self, layer, ins):
        a = layer.attrs
        gh, gw = a.grid
        expect(layer, min(a.patch, a.in_chans, a.dim, gh, gw) >= 1,
               "patch, in_chans, dim and grid must be positive")
        expect(layer, tuple(ins[0].shape) == (a.in_chans, gh * a.patch, gw * a.patch),
               f"expects a ({a.in_chans}, {gh * a.patch}, {gw * a.patch}) image, input is "
               f"{ins[0].shape}")
        p = layer.params
        expect_shape(layer, "weight", p["weight"], (a.dim, a.in_chans * a.patch * a.patch))
        for key in ("bias", "m", "e"):
            expect_shape(layer, key, p[key], (a.dim,))
        return TensorType((gh * gw, a.dim), IntType(a.out_bits))

    def gemm(self, layer, ins):
        a = layer.attrs
        return GemmShape(a.grid[0] * a.grid[1], a.dim, a.in_chans * a.patch * a.patch)

    def golden(self, layer, image):
        p = layer.params
        acc = check_acc(layer, spec.int_matmul(patches_of(image, layer.attrs.patch),
                                               weight_t(layer)) + p["bias"])
        return spec.requant(acc, p["m"], p["e"], layer.attrs.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        p = layer.params
        acc = bounds.gemm_acc(p["weight"], p["bias"], in_bounds[0])
        proof.add(layer, "int32 accumulator", acc, bounds.INT32)
        bounds.requant(proof, layer, acc, p["m"], p["e"])
        return IntType(layer.attrs.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return gemm_cycles(self.gemm(layer, ins), engine)

    def hls(self, layer, ins, out, ctx):
        a, p = layer.attrs, layer.params
        return ctx.layer("patch_tokens", ins, out,
                         dims={"CH": a.in_chans, "P": a.patch, "GH": a.grid[0], "GW": a.grid[1],
                               "DIM": a.dim},
                         consts={"OUT_BITS": a.out_bits},
                         arrays=[("bias", BIAS32, p["bias"]), ("m", DYADIC_M, p["m"]),
                                 ("e", DYADIC_E, p["e"])],
                         weight=np.asarray(p["weight"]).T)

    def rtl(self, layer, ins, out):
        a, p = layer.attrs, layer.params
        return RtlParams(scalars={"OUT_BITS": a.out_bits, "PATCH": a.patch, "DIM": a.dim},
                         arrays={"bias": (p["bias"], BIAS32), "m": (p["m"], DYADIC_M),
                                 "e": (p["e"], DYADIC_E)},
                         unit="ivit_systolic",
                         unit_params={"A_W": ins[0].dtype.bits, "OUT_W": a.out_bits})
