"""``patch_merge``: Swin's 2x2 neighbourhood concatenation (the data movement of PatchMerging;
its LayerNorm and reduction follow as ``layernorm`` and ``linear`` layers; §14)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import OpDef, RtlParams, TensorType, expect
from .common import vector_cycles
from .registry import register


@dataclass(frozen=True)
class PatchMergeAttrs:
    grid: tuple[int, int]


@register
class PatchMerge(OpDef):
    """(gh·gw, C) → (gh/2·gw/2, 4C): output token (i, j) holds input tokens
    (2i, 2j), (2i+1, 2j), (2i, 2j+1), (2i+1, 2j+1), in that order (timm's channel order)."""

    kind = "patch_merge"
    Attrs = PatchMergeAttrs

    def parse(self, raw, where):
        if isinstance(raw, dict) and isinstance(raw.get("grid"), int):
            raw = dict(raw, grid=[raw["grid"], raw["grid"]])
        return super().parse(raw, where)

    def output(self, layer, ins):
        gh, gw = layer.attrs.grid
        expect(layer, gh >= 2 and gw >= 2 and gh % 2 == 0 and gw % 2 == 0,
               f"grid {gh}x{gw} must be even and at least 2x2")
        (x,) = ins
        expect(layer, len(x.shape) == 2 and x.shape[0] == gh * gw,
               f"expects ({gh * gw}, C) tokens, input is {x.shape}")
        return TensorType((gh * gw // 4, 4 * x.shape[1]), x.dtype)

    def golden(self, layer, x):
        gh, gw = layer.attrs.grid
        b, _, c = x.shape
        y = x.reshape(b, gh // 2, 2, gw // 2, 2, c).transpose(0, 1, 3, 4, 2, 5)
        return y.reshape(b, gh * gw // 4, 4 * c)

    def bounds(self, layer, in_bounds, ins, proof):
        return in_bounds[0]  # a permutation

    def cycles(self, layer, ins, out, engine):
        return vector_cycles(out.size, 1, engine)

    def hls(self, layer, ins, out, ctx):
        gh, gw = layer.attrs.grid
        return ctx.layer("patch_merge", ins, out,
                         dims={"GH": gh, "GW": gw, "CH": ins[0].shape[1]})

    def rtl(self, layer, ins, out):
        # no arithmetic: the merge is the read order of the token buffer; values pass
        # through a register stage of the input width
        gh, gw = layer.attrs.grid
        return RtlParams(scalars={"GH": gh, "GW": gw, "CH": ins[0].shape[1]},
                         unit="ivit_delay", unit_params={"W": ins[0].dtype.bits, "LAT": 1})
