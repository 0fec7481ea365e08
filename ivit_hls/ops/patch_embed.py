"""``patch_embed``: the patch convolution as a GEMM, requantized into the residual stream."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import spec
from . import bounds
from .base import (GemmShape, IntType, OpDef, ParamSpec, RtlParams, TensorType, ceil_div,
                   expect, expect_shape)
from .common import (BIAS32, DDR_LATENCY, DYADIC_E, DYADIC_M, WEIGHT8, check_acc, gemm_cycles,
                     im2col_word, patch_load_steps, patches_of, weight_t)
from .registry import register


@dataclass(frozen=True)
class PatchEmbedAttrs:
    patch: int
    in_chans: int
    dim: int
    grid: tuple[int, int]
    out_bits: int


@register
class PatchEmbed(OpDef):
    """``tokens = sat(requant(patches·Wᵀ + bias, m_c, e_c) + pos)``; the class token row
    ``cls`` (class token + position 0) is prepended: output ``(1 + gh·gw, dim)``."""

    kind = "patch_embed"
    Attrs = PatchEmbedAttrs
    inputs = ("image",)
    unit = "array"

    def parse(self, raw, where):
        if isinstance(raw, dict) and isinstance(raw.get("grid"), int):  # a square grid as one int
            raw = dict(raw, grid=[raw["grid"], raw["grid"]])
        return super().parse(raw, where)

    def params(self, attrs):
        tok = IntType(attrs.out_bits)
        return {"weight": ParamSpec(WEIGHT8, "(dim, in_chans·patch²)"),
                "bias": ParamSpec(BIAS32), "m": ParamSpec(DYADIC_M), "e": ParamSpec(DYADIC_E),
                "cls": ParamSpec(tok, "(dim,) class token + position 0"),
                "pos": ParamSpec(tok, "(gh·gw, dim) positions 1..")}

    def output(self, layer, ins):
        (img,) = ins
        a = layer.attrs
        gh, gw = a.grid
        expect(layer, min(a.patch, a.in_chans, a.dim, gh, gw) >= 1,
               "patch, in_chans, dim and grid must be positive")
        expect(layer, tuple(img.shape) == (a.in_chans, gh * a.patch, gw * a.patch),
               f"expects a ({a.in_chans}, {gh * a.patch}, {gw * a.patch}) image, input is "
               f"{img.shape}")
        p = layer.params
        expect_shape(layer, "weight", p["weight"], (a.dim, a.in_chans * a.patch * a.patch))
        for key in ("bias", "m", "e", "cls"):
            expect_shape(layer, key, p[key], (a.dim,))
        expect_shape(layer, "pos", p["pos"], (gh * gw, a.dim))
        return TensorType((1 + gh * gw, a.dim), IntType(a.out_bits))

    def gemm(self, layer, ins):
        a = layer.attrs
        return GemmShape(a.grid[0] * a.grid[1], a.dim, a.in_chans * a.patch * a.patch)

    def golden(self, layer, image):
        p = layer.params
        acc = spec.int_matmul(patches_of(image, layer.attrs.patch),
                                               weight_t(layer))
        acc += p["bias"]
        check_acc(layer, acc)
        tokens = spec.saturate(spec.requant(acc, p["m"], p["e"]) + p["pos"], layer.attrs.out_bits)
        cls = np.broadcast_to(np.asarray(p["cls"], dtype=np.int64),
                              (image.shape[0], 1, np.asarray(p["cls"]).shape[-1]))
        return np.concatenate([cls, tokens], axis=1)

    def bounds(self, layer, in_bounds, ins, proof):
        p = layer.params
        acc = bounds.gemm_acc(p["weight"], p["bias"], in_bounds[0])
        proof.add(layer, "int32 accumulator", acc, bounds.INT32)
        bounds.requant(proof, layer, acc, p["m"], p["e"])
        return IntType(layer.attrs.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        width = next(w for w in (8, 16, 32, 64) if ins[0].dtype.bits <= w)
        a = layer.attrs
        k, tokens = a.in_chans * a.patch * a.patch, 1 + a.grid[0] * a.grid[1]
        # one image on its own (layer_cycles), whole-row im2col words (the default)
        word = im2col_word(a.patch, k, ceil_div(tokens, engine.rows), False, width)
        load = patch_load_steps(ins[0].size, a.patch, word, width // 8) + DDR_LATENCY  # once
        # the GEMM runs over token rows: the class token comes out of its drain too
        g = self.gemm(layer, ins)
        return load + gemm_cycles(replace(g, m=g.m + 1), engine)

    def hls(self, layer, ins, out, ctx):
        a, p = layer.attrs, layer.params
        tok = IntType(a.out_bits)
        return ctx.layer("patch_embed", ins, out,
                         dims={"CH": a.in_chans, "P": a.patch, "GH": a.grid[0], "GW": a.grid[1],
                               "DIM": a.dim},
                         consts={"OUT_BITS": a.out_bits},
                         arrays=[("bias", BIAS32, p["bias"]), ("m", DYADIC_M, p["m"]),
                                 ("e", DYADIC_E, p["e"]), ("cls", tok, p["cls"]),
                                 # transposed: a drain step reads E patches of one channel;
                                 # one pad entry first, for the class token's lane
                                 ("pos", tok, np.concatenate(
                                     [[0], np.asarray(p["pos"]).T.reshape(-1)]))],
                         weight=np.asarray(p["weight"]).T)

    def rtl(self, layer, ins, out):
        a, p = layer.attrs, layer.params
        tok = IntType(a.out_bits)
        return RtlParams(scalars={"OUT_BITS": a.out_bits, "PATCH": a.patch, "DIM": a.dim},
                         arrays={"bias": (p["bias"], BIAS32), "m": (p["m"], DYADIC_M),
                                 "e": (p["e"], DYADIC_E), "cls": (p["cls"], tok),
                                 "pos": (p["pos"], tok)},
                         unit="ivit_systolic",
                         unit_params={"A_W": ins[0].dtype.bits, "OUT_W": a.out_bits})

    def engine(self, layer, ins, ctx):
        # tokens = sat(requant(acc) + pos): the GEMM keeps int32, the residual unit adds pos;
        # row 0 (the class token) is loaded over the output afterwards
        x, (a, p) = ins[0], (layer.attrs, layer.params)
        if a.out_bits != 16:
            raise ctx.refuse(f"{layer.name} needs a 16-bit token stream, not {a.out_bits}")
        w = np.asarray(p["weight"], dtype=np.int64)
        acc = ctx.new(layer.name, x.rows, w.shape[0])
        ctx.gemm(layer.name, x, acc, k=w.shape[1], n_cols=w.shape[0], sat=32, mode=ctx.B_DDR,
                 weight=w, bias=p["bias"], m=p["m"], e=p["e"])
        pos = np.zeros((x.rows, a.dim), dtype=np.int64)
        pos[1:] = p["pos"]
        pos_t = ctx.new(layer.name + ".pos", x.rows, a.dim)
        ctx.load(layer.name, pos, pos_t)
        out = ctx.new(layer.name, x.rows, a.dim)
        ctx.const(ctx.C_M, 1 << 30, a.dim, layer.name)
        ctx.const(ctx.C_E, 30, a.dim, layer.name)
        ctx.vec(layer.name, ctx.V_RES, acc, out, x.rows, b=pos_t, m_b=1 << 30, e_b=30)
        ctx.load(layer.name, np.asarray(p["cls"])[None],
                 ctx.view(layer.name + ".cls", 1, a.dim, out.base))
        ctx.release(acc)
        ctx.release(pos_t)
        return out

    def engine_input(self, layer, in_type):
        a = layer.attrs   # the patch matrix with a leading zero row (the class token's slot)
        return a.grid[0] * a.grid[1] + 1, a.in_chans * a.patch * a.patch
