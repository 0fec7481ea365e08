"""``window_shiftmax``: Shiftmax over window rows with the shifted-window mask (§14).

A masked logit takes no part in the row: it is excluded from the row maximum, its exp value
is defined as 0 (not computed), so it adds nothing to the row sum and its probability is
``rhu(0·f, M-Q) = 0`` exactly, for every ``exp_form``. Every row keeps its own diagonal
(a token shares its region with itself), so the row sum stays ``>= I0·2^N > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import spec
from ..spec.shift import shiftmax_div_bits, shiftmax_row_sum_bound
from .base import IntType, OpDef, RtlParams, TensorType, choices, expect
from .common import vector_cycles
from .registry import register
from .shiftmax import SHIFTMAX_PASSES
from .windows import check_geometry, window_labels, window_mask

#: Region labels of the windowed positions in the HLS config struct (0..8).
LABEL8 = IntType(8, signed=False)


def masked_shiftmax(x, masked, k: int, i0: int, n: int, out_bits: int,
                    exp_form: str = "corrected") -> np.ndarray:
    """Shiftmax over the last axis where ``masked`` (broadcast to ``x``) marks logits that
    get probability exactly 0; each row must keep at least one logit."""
    x = np.asarray(x, dtype=np.int64)
    keep = ~np.broadcast_to(np.asarray(masked, dtype=bool), x.shape)
    if not keep.any(axis=-1).all():
        raise ValueError("masked_shiftmax: a row has every logit masked")
    top = np.where(keep, x, np.iinfo(np.int64).min).max(axis=-1, keepdims=True)
    d = np.where(keep, x - top, 0)
    e = np.where(keep, spec.shift_exp(d << k, i0, n, exp_form=exp_form), 0)
    return spec.shiftmax_normalize(e, i0, n, out_bits, exp_form=exp_form)


@dataclass(frozen=True)
class WindowShiftmaxAttrs:
    k: int
    i0: int
    n: int
    out_bits: int
    grid: tuple[int, int]
    window: int
    shift: int
    exp_form: str = choices("corrected", "paper", default="corrected")


@register
class WindowShiftmax(OpDef):
    """Unsigned probabilities (nW, H, N, N); masked logits give exactly 0."""

    kind = "window_shiftmax"
    Attrs = WindowShiftmaxAttrs
    inputs = ("scores",)

    def parse(self, raw, where):
        if isinstance(raw, dict) and isinstance(raw.get("grid"), int):
            raw = dict(raw, grid=[raw["grid"], raw["grid"]])
        return super().parse(raw, where)

    def output(self, layer, ins):
        a = layer.attrs
        expect(layer, a.k >= 0 and a.i0 >= 1 and a.n >= 1 and a.out_bits >= 2,
               "needs k >= 0, i0 >= 1, n >= 1, out_bits >= 2")
        expect(layer, a.out_bits - 1 < shiftmax_div_bits(a.i0, a.n),
               "out_bits too wide for the reciprocal's precision")
        nw, n, _ = check_geometry(layer, a.grid, a.window, a.shift)
        s = tuple(ins[0].shape)
        expect(layer, len(s) == 4 and s[0] == nw and s[2:] == (n, n),
               f"scores {s} are not ({nw}, H, {n}, {n})")
        return TensorType(s, IntType(a.out_bits, signed=False))

    def golden(self, layer, scores):
        a = layer.attrs
        mask = window_mask(a.grid[0], a.grid[1], a.window, a.shift)[:, None]  # (nW, 1, N, N)
        return masked_shiftmax(scores, mask, a.k, a.i0, a.n, a.out_bits, a.exp_form)

    def bounds(self, layer, in_bounds, ins, proof):
        a = layer.attrs
        length = int(ins[0].shape[-1])
        proof.add(layer, "pre-shifted exponent (x - max) << k", 2 * (2 * in_bounds[0] << a.k),
                  1 << 63)
        proof.add(layer, "row sum of ShiftExp", length * (a.i0 << a.n), 1 << 62)
        proof.add(layer, "normalization product e*factor <= 2^M",
                  1 << shiftmax_div_bits(a.i0, a.n), 1 << 63)
        proof.row_sums[layer.name] = shiftmax_row_sum_bound(length, a.out_bits)
        return 1 << (a.out_bits - 1)

    def cycles(self, layer, ins, out, engine):
        return vector_cycles(out.size, SHIFTMAX_PASSES, engine)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        nw, h, n, _ = out.shape
        return ctx.layer("window_shiftmax", ins, out, dims={"NW": nw, "H": h, "LEN": n},
                         consts={"K": a.k, "I0": a.i0, "N": a.n, "OUT_BITS": a.out_bits,
                                 "EXP_FORM": ctx.enum("exp_form", a.exp_form)},
                         arrays=[("label", LABEL8,
                                  window_labels(a.grid[0], a.grid[1], a.window, a.shift))])

    def rtl(self, layer, ins, out):
        a = layer.attrs
        return RtlParams(scalars={"K": a.k, "I0": a.i0, "N": a.n, "OUT_BITS": a.out_bits,
                                  "WINDOW": a.window, "SHIFT": a.shift},
                         arrays={"label": (window_labels(a.grid[0], a.grid[1], a.window,
                                                         a.shift), LABEL8)},
                         unit="ivit_shiftmax",
                         unit_params={"IN_W": ins[0].dtype.bits, "OUT_W": a.out_bits,
                                      "I0_W": max(a.i0.bit_length(), 1),
                                      "LEN": int(ins[0].shape[-1])})
