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
# Below this average chunk length, chunked float32 BLAS is slower than one float64 product
# (measured: 197x1536x384 in float32 chunks of 32 still beats float64 by 1.7x).
_MIN_CHUNK = 32


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
    e = np.asarray(e, dtype=np.int64)
    y = np.asarray(np.multiply(acc, np.asarray(m, dtype=np.int64), dtype=np.int64))
    # offset + 2^(e-1) first: int64 addition is associative, so this is (acc·m + offset) + half
    rnd = np.asarray(offset, dtype=np.int64) + (np.int64(1) << (e - 1))
    if np.broadcast_shapes(y.shape, rnd.shape, e.shape) == y.shape and y.base is None:
        y += rnd
        y >>= e
    else:
        y = (y + rnd) >> e
    if bits is not None:
        lo, hi = signed_range(bits)
        np.clip(y, lo, hi, out=y)
    return y

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
    itself; wrapping a constant once lets ``int_matmul`` reuse the conversions and bounds.
    """

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.int64)
        # Python ints: exact even for INT64_MIN, whose int64 abs stays negative
        self.absmax = max(int(self.values.max(initial=0)), -int(self.values.min(initial=0)))
        self._float = {}
        self._row_absmax = None

    def as_float(self, dtype) -> np.ndarray:
        """The values as a C-contiguous float array of ``dtype`` (converted once)."""
        if dtype not in self._float:
            self._float[dtype] = np.ascontiguousarray(self.values, dtype=dtype)
        return self._float[dtype]

    def row_absmax(self) -> np.ndarray:
        """``max |b_kj|`` for each index ``k`` of the contracted axis (over all other axes).

        Only called once ``absmax <= 2^24`` is known, so the int64 abs cannot wrap.
        """
        if self._row_absmax is None:
            v = np.abs(self.values)
            k_axis = v.ndim - 2 if v.ndim >= 2 else 0
            other = tuple(ax for ax in range(v.ndim) if ax != k_axis)
            self._row_absmax = v.max(axis=other) if other else v
        return self._row_absmax


def k_chunks(weights, limit: int = _FLOAT32_EXACT) -> list[int] | None:
    """Split the contracted axis into chunks ``[c_i, c_{i+1})`` with ``Σ_chunk weights <= limit``.

    ``weights[k] >= 0`` bounds the magnitude of every product at index ``k``. Greedy: each
    chunk runs as far as the limit allows, which gives the fewest chunks. Returns the
    boundaries ``[0, c_1, ..., K]``, or ``None`` when one weight alone exceeds ``limit``.
    """
    w = np.asarray(weights, dtype=np.int64)
    if w.size and int(w.max()) > limit:
        return None
    cum = np.concatenate(([0], np.cumsum(w)))
    bounds = [0]
    while bounds[-1] < w.size:
        start = bounds[-1]
        # the last end e with cum[e] - cum[start] <= limit; e > start since w[start] <= limit
        bounds.append(int(np.searchsorted(cum, cum[start] + limit, side="right")) - 1)
    return bounds


def _row_sum_bound(a: np.ndarray, amax: int) -> int:
    """``max_i Σ_k |a_ik|`` exactly while it is below 2^53 (and some value >= 2^53 otherwise)."""
    if amax * a.shape[-1] < 1 << 63:
        return int(np.abs(a).sum(axis=-1).max(initial=0))  # int64 sums cannot wrap here
    # float64 rounding is monotone and every sum is of non-negative terms: a computed sum
    # below 2^53 is exact, and an exact sum at or above 2^53 is computed at or above it.
    return int(np.abs(a.astype(np.float64)).sum(axis=-1).max(initial=0))


def int_matmul(a, b) -> np.ndarray:
    """Exact integer matrix product ``a @ b`` (int64 result) through float BLAS.

    Why it is exact: BLAS forms each output ``c_ij`` as sums of subsets of the products
    ``a_ik·b_kj`` (in any order, with or without FMA). If every such subset sum is an integer
    of magnitude at most ``F`` (2^24 for float32, whose integers are exact up to 2^24
    inclusive; 2^53 for float64), every product and every addition is exact, whatever the
    order. All subset sums of row ``i`` are bounded by ``Σ_k |a_ik|·|b_kj|``, so:

    1. ``max_i Σ_k |a_ik| · max|b| <= 2^24``: one float32 product.
    2. otherwise, if ``max|a|·max|b| <= 2^24``: float32 products over chunks of the
       contracted axis with ``Σ_{k in chunk} max_i|a_ik| · max_j|b_kj| <= 2^24`` (``k_chunks``),
       which bounds every partial sum inside a chunk; the chunk results (exact integers)
       are summed in int64, which cannot overflow because the whole sum is below 2^53.
       Used while the chunks average at least ``_MIN_CHUNK`` (shorter ones are slower than
       float64 BLAS).
    3. otherwise, if the row bound is below 2^53: one float64 product.
    4. otherwise ``OverflowError`` (the bound is ``>= 2^53``, exactness is not guaranteed).

    The conversions to float are exact too: each nonzero ``|a_ik|`` is at most the bound
    divided by ``max|b|`` (and likewise for ``b``); if one operand is all zeros, the other's
    rounded (finite) values only meet zeros. ``b`` may be an ``IntMatrix``; shapes follow
    ``np.matmul``.
    """
    a = np.asarray(a, dtype=np.int64)
    b = b if isinstance(b, IntMatrix) else IntMatrix(b)
    k = a.shape[-1]
    amax = max(int(a.max(initial=0)), -int(a.min(initial=0)))
    pair = amax * b.absmax
    if k * pair <= _FLOAT32_EXACT:  # cheap test first: no pass over |a|
        return _float_matmul(a, b, np.float32)
    bound = _row_sum_bound(a, amax) * b.absmax
    if bound >= _FLOAT64_EXACT:
        raise OverflowError(f"int_matmul: partial sums up to {bound} may exceed 2^53")
    if bound <= _FLOAT32_EXACT:
        return _float_matmul(a, b, np.float32)
    if pair <= _FLOAT32_EXACT:
        col = np.abs(a).max(axis=tuple(range(a.ndim - 1)))  # max_i |a_ik|
        chunks = k_chunks(col * b.row_absmax())
        if chunks is not None and (len(chunks) - 1) * _MIN_CHUNK <= k:
            return _chunked_matmul(a, b, chunks)
    return _float_matmul(a, b, np.float64)


def _float_matmul(a: np.ndarray, b: IntMatrix, dtype) -> np.ndarray:
    return np.matmul(a.astype(dtype), b.as_float(dtype)).astype(np.int64)


def _chunked_matmul(a: np.ndarray, b: IntMatrix, chunks: list[int]) -> np.ndarray:
    af = a.astype(np.float32)
    bf = b.as_float(np.float32)
    acc = None
    for start, end in zip(chunks[:-1], chunks[1:]):
        part = np.matmul(af[..., start:end], bf[start:end] if bf.ndim == 1
                         else bf[..., start:end, :]).astype(np.int64)
        acc = part if acc is None else np.add(acc, part, out=acc)
    return acc


def residual_add(a, m_a, e_a, b, m_b, e_b, bits: int) -> np.ndarray:
    """Residual add: each branch requantized to the output scale, summed, saturated once.

    ``sat_bits(((a·m_a + 2^(e_a-1)) >> e_a) + ((b·m_b + 2^(e_b-1)) >> e_b))``.
    """
    return saturate(requant(a, m_a, e_a) + requant(b, m_b, e_b), bits)
