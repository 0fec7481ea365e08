"""Range analysis: prove from constants and shapes that no integer overflows its width.

Each layer's worst-case magnitudes are derived from the bounds of its inputs (the declared
widths of the tensors it reads) and its integer parameters, following the formulas of
``docs/integer-spec.md``. ``check`` refuses a model at the first quantity that could exceed
its container, naming the layer, the quantity and the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import RangeError
from ..spec.layernorm import ISQRT_MAX_INPUT, LN_FRAC_BITS, LN_MEAN_FRAC_BITS
from ..spec.shift import GELU_SIGMOID_BITS, shiftmax_div_bits, shiftmax_row_sum_bound
from .model import IntegerModel, Layer

INT32 = 1 << 31
INT64 = 1 << 63


@dataclass(frozen=True)
class Bound:
    """One proven quantity: its worst-case magnitude and the limit it must stay under."""

    layer: str
    quantity: str
    bound: int
    limit: int

    @property
    def ok(self) -> bool:
        return self.bound < self.limit

    @property
    def headroom_bits(self) -> float:
        return math.log2(self.limit) - math.log2(max(self.bound, 1))


def _amax(arr) -> int:
    return int(np.abs(np.asarray(arr, dtype=np.int64)).max(initial=0))


def _requant_bounds(layer: Layer, acc: int, m, e, offset=0) -> list[Bound]:
    """The dyadic constants' declared widths (|m| < 2^31, 1 <= e <= 62) and the product."""
    e = np.asarray(e, dtype=np.int64)
    e_min, e_max = int(e.min()), int(e.max())
    total = acc * _amax(m) + _amax(offset) + (1 << (max(e_max, 1) - 1))
    return [Bound(layer.name, "dyadic multiplier |m|", _amax(m), INT32),
            Bound(layer.name, "dyadic shift e (must be 1..62)", e_max if e_min >= 1 else 99, 63),
            Bound(layer.name, "requant product acc*m + offset + 2^(e-1)", total, INT64)]


def _gemm_bound(layer: Layer, weight, bias, x_bound: int) -> int:
    w = np.abs(np.asarray(weight, dtype=np.int64))
    return int((w.sum(axis=1) * x_bound).max(initial=0)) + _amax(bias)


class _Analyzer:
    def __init__(self, model: IntegerModel):
        self.model = model
        self.bounds: dict[str, int] = {"image": 1 << (model.config["input"]["bits"] - 1)}
        self.row_sums: dict[str, int] = {}
        self.records: list[Bound] = []

    def add(self, b: Bound) -> None:
        self.records.append(b)

    def extend(self, bounds: list[Bound]) -> None:
        self.records.extend(bounds)

    def run(self) -> list[Bound]:
        for layer in self.model.layers:
            ins = [self.bounds[s] for s in layer.inputs]
            out = getattr(self, f"_{layer.kind}")(layer, *ins)
            self.bounds[layer.name] = out
        return self.records

    def _patch_embed(self, layer, x):
        p = layer.params
        acc = _gemm_bound(layer, p["weight"], p["bias"], x)
        self.add(Bound(layer.name, "int32 accumulator", acc, INT32))
        self.extend(_requant_bounds(layer, acc, p["m"], p["e"]))
        return 1 << (layer.attrs["out_bits"] - 1)

    def _linear(self, layer, x):
        p = layer.params
        acc = _gemm_bound(layer, p["weight"], p["bias"], x)
        self.add(Bound(layer.name, "int32 accumulator", acc, INT32))
        if layer.attrs["out_bits"] is None:
            return acc
        self.extend(_requant_bounds(layer, acc, p["m"], p["e"]))
        return 1 << (layer.attrs["out_bits"] - 1)

    def _qk_matmul(self, layer, qkv):
        a = layer.attrs
        acc = a["head_dim"] * qkv * qkv
        self.add(Bound(layer.name, "int32 accumulator", acc, INT32))
        self.extend(_requant_bounds(layer, acc, a["m"], a["e"]))
        return 1 << (a["out_bits"] - 1)

    def _shiftmax(self, layer, x):
        a = layer.attrs
        length = int(self.model.config["tokens"])
        shifted = 2 * x << a["k"]
        self.add(Bound(layer.name, "pre-shifted exponent (x - max) << k", 2 * shifted, INT64))
        e_max = a["i0"] << a["n"]
        self.add(Bound(layer.name, "row sum of ShiftExp", length * e_max, INT64 >> 1))
        self.add(Bound(layer.name, "normalization product e*factor <= 2^M",
                       1 << shiftmax_div_bits(a["i0"], a["n"]), INT64))
        self.row_sums[layer.name] = shiftmax_row_sum_bound(length, a["out_bits"])
        return 1 << (a["out_bits"] - 1)

    def _pv_matmul(self, layer, probs, qkv):
        a = layer.attrs
        acc = self.row_sums[layer.inputs[0]] * qkv
        self.add(Bound(layer.name, "int32 accumulator (row sum of P x max|v|)", acc, INT32))
        self.extend(_requant_bounds(layer, acc, a["m"], a["e"]))
        return 1 << (a["out_bits"] - 1)

    def _gelu(self, layer, x):
        a = layer.attrs
        z = 2 * (x << a["k"])
        self.add(Bound(layer.name, "1.6875 * (x << k)", z, INT64))
        num = (a["i0"] << a["n"]) << GELU_SIGMOID_BITS
        self.add(Bound(layer.name, "sigmoid numerator << 15", 2 * num, INT64))
        core = x << GELU_SIGMOID_BITS
        self.extend(_requant_bounds(layer, core, a["m"], a["e"]))
        return 1 << (a["out_bits"] - 1)

    def _layernorm(self, layer, x):
        p = layer.params
        channels = int(np.asarray(p["m"]).size)
        var = channels * ((2 * x) << LN_MEAN_FRAC_BITS) ** 2
        self.add(Bound(layer.name, "variance sum", var, ISQRT_MAX_INPUT + 1))
        self.extend(_requant_bounds(layer, 1 << LN_FRAC_BITS, p["m"], p["e"], p["bias"]))
        return 1 << (layer.attrs["out_bits"] - 1)

    def _residual_add(self, layer, branch, residual):
        a, p = layer.attrs, layer.params
        self.extend(_requant_bounds(layer, branch, p["m_a"], p["e_a"]))
        self.extend(_requant_bounds(layer, residual, a["m_b"], a["e_b"]))
        return 1 << (a["out_bits"] - 1)


def analyze(model: IntegerModel) -> list[Bound]:
    """Every proven bound of the model, in layer order."""
    return _Analyzer(model).run()


def check(model: IntegerModel) -> list[Bound]:
    """Like ``analyze`` but raise ``RangeError`` at the first bound over its limit."""
    records = analyze(model)
    for b in records:
        if not b.ok:
            raise RangeError(f"layer {b.layer}: {b.quantity} can reach {b.bound} "
                             f"(2^{math.log2(b.bound):.1f}), over its limit "
                             f"2^{math.log2(b.limit):.0f}")
    return records
