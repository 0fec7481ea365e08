"""Division by a per-layer constant as a multiplication, with the proof that it is exact.

The engine computes ``floor(n / d)`` for a constant ``d`` and ``|n| <= bound`` as
``((n + d*B) * mul >> shift) - B`` (``ivit::eng::div_const``):

* ``B = ceil(bound / d)`` makes the dividend ``n' = n + d*B`` non-negative, and
  ``floor(n'/d) = floor(n/d) + B`` because ``d*B`` is a multiple of ``d``;
* with ``n' < 2^N``, ``shift = N + bitlen(d)`` and ``mul = ceil(2^shift / d)``, the error
  ``mul*d - 2^shift < d <= 2^(shift-N)`` keeps ``floor(n' * mul / 2^shift) = floor(n'/d)`` for
  every ``0 <= n' < 2^N`` (Granlund & Montgomery, 1994, Thm. 4.2);
* ``n' * mul < 2^63``: the product fits the int64 multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import IvitError


@dataclass(frozen=True)
class ConstDivisor:
    """The constants of ``floor(n / d)`` for ``|n| <= bound``."""

    d: int
    bound: int
    mul: int
    shift: int
    offset: int      # d * B
    b: int           # B

    def apply(self, n: int) -> int:
        """The engine's computation, in Python integers."""
        return ((n + self.offset) * self.mul >> self.shift) - self.b


def const_divisor(d: int, bound: int) -> ConstDivisor:
    """Constants for an exact ``floor(n / d)`` with ``|n| <= bound`` (``IvitError`` when the
    product would not fit int64)."""
    if d < 1 or bound < 0:
        raise IvitError(f"constant divisor {d} with bound {bound}: need d >= 1, bound >= 0")
    b = -(-bound // d)
    top = bound + d * b                      # largest n' (n' >= 0 by construction)
    n_bits = max(top.bit_length(), 1)
    shift = n_bits + d.bit_length()
    mul = -(-(1 << shift) // d)
    assert mul * d - (1 << shift) < d <= 1 << (shift - n_bits)
    if top * mul >= 1 << 63:
        raise IvitError(f"division by {d} over |n| <= {bound} needs a product wider than int64")
    return ConstDivisor(d, bound, mul, shift, d * b, b)
