"""Proven quantities of range analysis, and the bounds several layer kinds share.

A ``Bound`` is one quantity a layer computes: its worst-case magnitude (derived from the
bounds of the layer's inputs and from its integer parameters) and the limit of its container.
``declared`` bounds are format invariants (a dyadic multiplier is below 2^31 by construction);
``info`` reports headroom over the derived ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

INT32 = 1 << 31
INT64 = 1 << 63


@dataclass(frozen=True)
class Bound:
    """One proven quantity: worst-case magnitude ``bound`` that must stay under ``limit``."""

    layer: str
    quantity: str
    bound: int
    limit: int
    declared: bool = False
    #: what to print when it fails, when "can reach X" does not say it (e.g. a shift of 0)
    problem: str = ""

    @property
    def ok(self) -> bool:
        return 0 <= self.bound < self.limit

    @property
    def headroom_bits(self) -> float:
        return math.log2(self.limit) - math.log2(max(self.bound, 1))

    def describe(self) -> str:
        """One line: the layer, the quantity, how far it can reach and its limit."""
        if self.problem:
            return f"layer {self.layer}: {self.quantity}: {self.problem}"
        return (f"layer {self.layer}: {self.quantity} can reach {self.bound} "
                f"(2^{math.log2(max(self.bound, 1)):.1f}), over its limit "
                f"2^{math.log2(self.limit):.0f}")


@dataclass
class Proof:
    """The records of one range analysis, in layer order."""

    records: list = field(default_factory=list)
    #: max row sum of each Shiftmax output (the P·V bound needs it)
    row_sums: dict = field(default_factory=dict)

    def add(self, layer, quantity: str, bound: int, limit: int, **kw) -> None:
        self.records.append(Bound(layer.name, quantity, int(bound), int(limit), **kw))


def amax(arr) -> int:
    """max |v| of an integer array (0 for an empty one)."""
    a = np.asarray(arr)
    if a.size == 0:
        return 0
    return max(abs(int(a.min())), abs(int(a.max())))


def requant(proof: Proof, layer, acc: int, m, e, offset=0) -> int:
    """Bounds of a dyadic requant ``(acc·m + offset + 2^(e-1)) >> e``; returns the result's
    max |v| before saturation."""
    e = np.asarray(e, dtype=np.int64)
    e_min, e_max = int(e.min(initial=31)), int(e.max(initial=31))
    proof.add(layer, "dyadic multiplier |m|", amax(m), INT32, declared=True)
    if e_min < 1 or e_max > 62:
        bad = e_min if e_min < 1 else e_max
        proof.add(layer, "dyadic shift e", -1, 63, declared=True,
                  problem=f"a shift of {bad} is outside 1..62")
    else:
        proof.add(layer, "dyadic shift e", e_max, 63, declared=True)
    total = acc * amax(m) + amax(offset) + (1 << (max(e_max, 1) - 1))
    proof.add(layer, "requant product acc*m + offset + 2^(e-1)", total, INT64)
    return total >> max(e_min, 1)


def gemm_acc(weight, bias, x_bound: int) -> int:
    """Worst |acc| of ``x·Wᵀ + bias`` with |x| <= x_bound, per output channel, maximised."""
    w = np.abs(np.asarray(weight, dtype=np.int64))
    return int((w.sum(axis=1) * x_bound).max(initial=0)) + amax(bias)
