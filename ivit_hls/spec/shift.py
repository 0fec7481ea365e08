"""Shift-based nonlinearities: ShiftExp, Shiftmax (I-ViT Alg. 1) and ShiftGELU (Alg. 2)."""

from __future__ import annotations

import math

import numpy as np

from .fixedpoint import bit_length

#: ShiftExp pre-shifts its input so that ``I0 = round(2^k / S)`` has at least this many bits.
EXP_I0_MIN_BITS = 8
#: Bits of the fixed-point sigmoid inside ShiftGELU (sigma in [0, 2^15]).
GELU_SIGMOID_BITS = 15
#: The Shiftmax reciprocal ``2^M // sum`` keeps this many bits (M = bitlen(I0 << N) + 30).
_SHIFTMAX_RECIP_BITS = 30


def exp_constants(scale: float) -> tuple[int, int]:
    """ShiftExp constants ``(k, I0)`` for an input of real scale ``scale``.

    ``k`` is the smallest non-negative pre-shift with ``2^k / scale >= 2^8`` and
    ``I0 = round(2^k / scale)`` is the integer that stands for 1.0 after the pre-shift.
    """
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"exp_constants: scale must be positive and finite, got {scale}")
    k = max(0, math.ceil(math.log2(scale * 2 ** EXP_I0_MIN_BITS)))
    while k > 0 and 2.0 ** (k - 1) / scale >= 2 ** EXP_I0_MIN_BITS:
        k -= 1
    while 2.0 ** k / scale < 2 ** EXP_I0_MIN_BITS:
        k += 1
    i0 = int(round(2.0 ** k / scale))
    return k, i0


def shift_exp(u, i0: int, n: int) -> np.ndarray:
    """ShiftExp: integer ``≈ I0 · 2^N · exp(u / I0)`` for ``u <= 0``.

    ``p = u + (u>>1) - (u>>4)`` turns the natural exponent into base 2 (log2 e ≈ 1.0111b),
    clamped at ``-N·I0``; ``q = (-p) // I0`` and ``r = p + q·I0 ∈ (-I0, 0]`` split it into an
    integer and a fractional part; ``2^(r/I0) ≈ 1 + r/(2·I0)`` gives ``v = I0 + (r >> 1)``;
    the result is ``v << (N - q)`` (exact: ``q <= N``).
    """
    u = np.asarray(u, dtype=np.int64)
    if np.any(u > 0):
        raise ValueError("shift_exp: input must be <= 0")
    p = u + (u >> 1) - (u >> 4)
    p = np.maximum(p, -n * i0)
    q = (-p) // i0
    r = p + q * i0
    v = i0 + (r >> 1)
    return v << (n - q)


def shiftmax_div_bits(i0: int, n: int) -> int:
    """The shift M of Shiftmax's per-row reciprocal ``f = 2^M // sum`` (``f <= 2^31``)."""
    return int((i0 << n).bit_length()) + _SHIFTMAX_RECIP_BITS


def shiftmax(x, k: int, i0: int, n: int, out_bits: int) -> np.ndarray:
    """Shiftmax over the last axis: unsigned probabilities with scale ``2^-(out_bits-1)``.

    ``e = ShiftExp((x - rowmax) << k)``, then ``shiftmax_normalize``.
    """
    x = np.asarray(x, dtype=np.int64)
    u = (x - x.max(axis=-1, keepdims=True)) << k
    return shiftmax_normalize(shift_exp(u, i0, n), i0, n, out_bits)


def shiftmax_normalize(e, i0: int, n: int, out_bits: int) -> np.ndarray:
    """Shiftmax's division: one reciprocal per row ``f = 2^M // Σe``, then
    ``P = (e·f + 2^(M-Q-1)) >> (M-Q)`` with ``Q = out_bits - 1``, so ``0 <= P <= 2^Q``."""
    e = np.asarray(e, dtype=np.int64)
    total = e.sum(axis=-1, keepdims=True)
    m_bits = shiftmax_div_bits(i0, n)
    if m_bits > 62:
        raise ValueError(f"shiftmax: 2^M with M={m_bits} exceeds int64 (needs bitlen(I0)+N <= 32)")
    factor = (np.int64(1) << m_bits) // total
    shift = m_bits - (out_bits - 1)
    return (e * factor + (np.int64(1) << (shift - 1))) >> shift


def _times_1702(xs: np.ndarray) -> np.ndarray:
    """``1.6875·x`` with shifts (I-ViT's shifter form of GELU's 1.702 factor)."""
    return xs + (xs >> 1) + (xs >> 3) + (xs >> 4)


def shift_gelu(x, k: int, i0: int, n: int, form: str = "symmetric") -> np.ndarray:
    """ShiftGELU core: ``x · σ_q`` where ``σ_q ≈ 2^15 · sigmoid(1.702·x·S)``.

    The result has real scale ``S · 2^-15``; the layer requantizes it to its output scale.
    ``z = 1.6875·(x << k)`` (units 1/I0). ``form="symmetric"`` (default):
    ``t = ShiftExp(-|z|)``, ``E0 = I0 << N``, ``σ = E0/(E0+t)`` for ``z >= 0`` else
    ``t/(E0+t)``. ``form="rowmax"`` (the paper): ``M' = max(rowmax(z), 0)``,
    ``σ = ShiftExp(z-M') / (ShiftExp(z-M') + ShiftExp(-M'))`` per token (last axis).
    Either way ``σ_q = (num << 15) // den``.
    """
    x = np.asarray(x, dtype=np.int64)
    z = _times_1702(x << k)
    if form == "symmetric":
        t = shift_exp(-np.abs(z), i0, n)
        e0 = np.int64(i0) << n
        num = np.where(z >= 0, e0, t)
        den = e0 + t
    elif form == "rowmax":
        top = np.maximum(z.max(axis=-1, keepdims=True), 0)
        num = shift_exp(z - top, i0, n)
        den = num + shift_exp(-top, i0, n)
    else:
        raise ValueError(f"shift_gelu: unknown form {form!r} (symmetric or rowmax)")
    sigma = (num << GELU_SIGMOID_BITS) // den
    return x * sigma


def shiftmax_row_sum_bound(length: int, out_bits: int) -> int:
    """Upper bound of ``Σ P`` over a row: each rounded P exceeds its exact value by <= 1/2."""
    return (1 << (out_bits - 1)) + (length + 1) // 2


__all__ = [
    "EXP_I0_MIN_BITS", "GELU_SIGMOID_BITS", "exp_constants", "shift_exp", "shiftmax",
    "shiftmax_div_bits", "shiftmax_normalize", "shift_gelu", "shiftmax_row_sum_bound", "bit_length",
]
