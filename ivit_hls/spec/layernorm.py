"""I-LayerNorm: integer mean and variance, integer Newton square root, one division per row."""

from __future__ import annotations

import numpy as np

from .fixedpoint import bit_length, requant

#: Newton steps that make ``isqrt`` exact for every ``0 <= V < 2^62`` (proof in the spec).
ISQRT_ITERATIONS = 6
#: Largest variance sum the square root accepts.
ISQRT_MAX_INPUT = (1 << 62) - 1
#: Fractional bits kept by the row mean: ``y = (x << 4) - ((Σx << 4) // C)`` centers each
#: row to 1/16 of an input step, so the floor of the mean costs at most 2^-4 of one step.
LN_MEAN_FRAC_BITS = 4
#: Fractional bits of the normalized value ``n ≈ 2^F · y / sqrt(Σy²)``.
LN_FRAC_BITS = 16
#: The per-row reciprocal is ``2^K // sqrt(Σy²)``.
LN_RECIP_SHIFT = 46


def isqrt(v) -> np.ndarray:
    """Exact ``floor(sqrt(V))`` of int64 ``0 <= V < 2^62`` by a fixed 6-step Newton iteration.

    Start ``x0 = 2^ceil(bitlen(V)/2)``; step ``x = min(x, (x + V // x) >> 1)``; ``V == 0`` gives 0.
    """
    try:
        v = np.asarray(v, dtype=np.int64)
    except OverflowError:  # a Python int at or beyond 2^63: out of range like any other
        raise ValueError("isqrt: input outside [0, 2^62)") from None
    if np.any(v < 0) or np.any(v > ISQRT_MAX_INPUT):
        raise ValueError("isqrt: input outside [0, 2^62)")
    x = np.int64(1) << ((bit_length(v) + 1) >> 1)
    for _ in range(ISQRT_ITERATIONS):
        x = np.minimum(x, (x + v // np.maximum(x, 1)) >> 1)
    return np.where(v == 0, 0, x)


def ilayernorm_normalize(x) -> np.ndarray:
    """Normalize each row (last axis) to ``n = round(2^16 · y / isqrt(Σy²))``, ``|n| <= 2^16``.

    ``y = (x << 4) - ((Σx << 4) // C)``: the row centered on its floor mean kept to 4
    fractional bits. ``n`` stands for ``y/σ · 2^16 / sqrt(C)``. ``Σy² == 0`` gives ``n = 0``.
    """
    x = np.asarray(x, dtype=np.int64)
    c = x.shape[-1]
    peak = int(np.abs(x.astype(np.float64)).max(initial=0))
    if c * (2.0 * peak * 2 ** LN_MEAN_FRAC_BITS) ** 2 > ISQRT_MAX_INPUT:
        raise ValueError(f"ilayernorm: {c} channels of magnitude {peak} overflow the variance sum")
    f = LN_MEAN_FRAC_BITS
    y = (x << f) - ((x.sum(axis=-1, keepdims=True) << f) // c)
    var = (y * y).sum(axis=-1, keepdims=True)
    sd = isqrt(var)
    recip = np.where(sd > 0, (np.int64(1) << LN_RECIP_SHIFT) // np.maximum(sd, 1), 0)
    shift = LN_RECIP_SHIFT - LN_FRAC_BITS
    return (y * recip + (np.int64(1) << (shift - 1))) >> shift


def ilayernorm(x, m, e, bias, out_bits: int) -> np.ndarray:
    """I-LayerNorm with the affine part folded: ``sat((n·m_c + B_c + 2^(e_c-1)) >> e_c)``.

    ``(m_c, e_c)`` carries ``γ_c·sqrt(C) / (2^16·S_out)`` and ``B_c = round(β_c·2^e_c / S_out)``.
    """
    return requant(ilayernorm_normalize(x), m, e, out_bits, offset=bias)


__all__ = ["ISQRT_ITERATIONS", "ISQRT_MAX_INPUT", "LN_FRAC_BITS", "LN_MEAN_FRAC_BITS", "LN_RECIP_SHIFT", "isqrt",
           "ilayernorm_normalize", "ilayernorm"]
