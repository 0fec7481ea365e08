"""Fixed-point primitives: quantization, saturation, dyadic requantization, exact int GEMM."""

from __future__ import annotations

import numpy as np

#: Widths of the dyadic multiplier: |m| in [2^30, 2^31) and the shift e in [1, 62].
DYADIC_MANTISSA_BITS = 31
DYADIC_MAX_SHIFT = 62

# float64 holds every integer below 2^53 exactly, so a float64 BLAS product of integer
# matrices is exact as long as every partial sum stays below that.
_FLOAT64_EXACT = 2 ** 53
_FLOAT32_EXACT = 2 ** 24


def signed_range(bits: int) -> tuple[int, int]:
    """Return the inclusive range ``(lo, hi)`` of a signed ``bits``-bit integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def saturate(x, bits: int, signed: bool = True) -> np.ndarray:
    """Clamp ``x`` to a ``bits``-bit signed (or unsigned) integer range; returns int64."""
    x = np.asarray(x, dtype=np.int64)
    if signed:
        lo, hi = signed_range(bits)
    else:
        lo, hi = 0, (1 << bits) - 1
    return np.clip(x, lo, hi)


def quantize(x, scale, bits: int) -> np.ndarray:
    """Symmetric quantization of real values: ``clip(round_half_even(x / scale), ±(2^(b-1)-1))``.

    Computed in float64. ``scale`` broadcasts against ``x`` (per-channel scales on the last
    axis, or on axis 0 after the caller reshapes). A zero scale maps everything to 0.
    """
    x = np.asarray(x, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    safe = np.where(scale > 0, scale, 1.0)
    q = np.round(x / safe)
    q = np.where(scale > 0, q, 0.0)
    hi = (1 << (bits - 1)) - 1
    return np.clip(q, -hi, hi).astype(np.int64)


def dyadic(ratio) -> tuple[np.ndarray, np.ndarray]:
    """Split real ratios into dyadic pairs ``(m, e)`` with ``ratio ≈ m / 2^e``.

    ``|m|`` is in ``[2^30, 2^31)`` (round half to even on the 31-bit mantissa, the 2^31 case
    renormalised; just below 2^30, where that would need ``e = 0``, ``|m| = 2^31 - 1``,
    ``e = 1``) and ``e`` in ``[1, 62]``. A ratio too small for ``e <= 62`` keeps ``e = 62``
    and a shorter ``m`` (possibly 0); a zero ratio gives ``(0, 31)``. A ratio of 2^30 or more
    cannot be represented and raises ``ValueError``. ``m`` may be negative.
    """
    r = np.asarray(ratio, dtype=np.float64)
    if not np.all(np.isfinite(r)):
        raise ValueError("dyadic: ratio is not finite")
    mant, exp = np.frexp(r)
    m = np.round(mant * 2.0 ** DYADIC_MANTISSA_BITS).astype(np.int64)
    full = np.abs(m) == (1 << DYADIC_MANTISSA_BITS)
    m = np.where(full, m // 2, m)
    exp = np.where(full, exp + 1, exp).astype(np.int64)
    e = DYADIC_MANTISSA_BITS - exp
    edge = full & (e == 0) & (np.abs(r) < 2.0 ** 30)
    m = np.where(edge, np.sign(m) * ((1 << DYADIC_MANTISSA_BITS) - 1), m)
    e = np.where(edge, 1, e)
    tiny = e > DYADIC_MAX_SHIFT
    # only tiny ratios take this branch; zeroing the others keeps the cast in range
    m = np.where(tiny, np.round(np.where(tiny, r, 0.0) * 2.0 ** DYADIC_MAX_SHIFT).astype(np.int64), m)
    e = np.where(tiny, DYADIC_MAX_SHIFT, e)
    zero = r == 0
    m = np.where(zero, 0, m).astype(np.int64)
    e = np.where(zero, DYADIC_MANTISSA_BITS, e).astype(np.int64)
    if np.any(e < 1):
        raise ValueError(f"dyadic: ratio {float(np.max(np.abs(r))):.6g} is too large (>= 2^30)")
    return m, e


def round_shift(x, e) -> np.ndarray:
    """Divide by ``2^e`` rounding half up: ``(x + 2^(e-1)) >> e`` (``e >= 1``)."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(e, dtype=np.int64)
    return (x + (np.int64(1) << (e - 1))) >> e


def requant(acc, m, e, bits: int | None = None, offset=0) -> np.ndarray:
    """Dyadic requantization: ``sat_bits((acc*m + offset + 2^(e-1)) >> e)`` in int64.

    ``m``, ``e`` and ``offset`` broadcast against ``acc`` (per-channel on the last axis).
    ``bits=None`` skips the saturation (used where a sum is saturated once afterwards).
    The caller guarantees ``|acc*m| + |offset| + 2^(e-1) < 2^63`` (range analysis proves it).
    """
    acc = np.asarray(acc, dtype=np.int64)
    prod = acc * np.asarray(m, dtype=np.int64) + np.asarray(offset, dtype=np.int64)
    y = round_shift(prod, e)
    return y if bits is None else saturate(y, bits)


def bit_length(x) -> np.ndarray:
    """Number of bits of each non-negative int64 (0 for 0), like ``int.bit_length``."""
    t = np.asarray(x, dtype=np.int64).copy()
    if np.any(t < 0):
        raise ValueError("bit_length: negative input")
    n = np.zeros_like(t)
    for sh in (32, 16, 8, 4, 2, 1):
        big = t >= (np.int64(1) << sh)
        n += np.where(big, sh, 0)
        t = np.where(big, t >> sh, t)
    return n + (t > 0)


class IntMatrix:
    """A constant integer operand (e.g. a weight matrix) with its float copies kept.

    Converting a large int64 matrix to float on every product costs more than the product
    itself; wrapping a constant once lets ``int_matmul`` reuse the conversions.
    """

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.int64)
        self.absmax = int(np.abs(self.values.astype(np.float64)).max(initial=0))
        self._float = {}

    def as_float(self, dtype) -> np.ndarray:
        if dtype not in self._float:
            self._float[dtype] = np.ascontiguousarray(self.values, dtype=dtype)
        return self._float[dtype]


def int_matmul(a, b) -> np.ndarray:
    """Exact integer matrix product ``a @ b`` (int64 result) through float BLAS.

    Every partial sum of row ``i`` is bounded by ``Σ_k |a_ik| · max|b|``: below 2^24 the
    product runs in float32, below 2^53 in float64 (both exact there); otherwise it raises
    ``OverflowError``. ``b`` may be an ``IntMatrix``.
    """
    a = np.asarray(a, dtype=np.int64)
    b = b if isinstance(b, IntMatrix) else IntMatrix(b)
    # float64 abs: np.abs(INT64_MIN) stays negative in int64
    bound = int(np.abs(a.astype(np.float64)).sum(axis=-1).max(initial=0)) * b.absmax
    if bound >= _FLOAT64_EXACT:
        raise OverflowError(f"int_matmul: partial sums up to {bound} may exceed 2^53")
    dtype = np.float32 if bound < _FLOAT32_EXACT else np.float64
    return np.matmul(a.astype(dtype), b.as_float(dtype)).astype(np.int64)

def residual_add(a, m_a, e_a, b, m_b, e_b, bits: int) -> np.ndarray:
    """Residual add: each branch requantized to the output scale, summed, saturated once.

    ``sat_bits(((a·m_a + 2^(e_a-1)) >> e_a) + ((b·m_b + 2^(e_b-1)) >> e_b))``.
    """
    return saturate(requant(a, m_a, e_a) + requant(b, m_b, e_b), bits)
