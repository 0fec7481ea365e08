"""GELU forms beyond I-ViT's ShiftGELU: the division-free ``"shift"`` form and the table form.

``"shift"`` (the default of ``spec.shift_gelu``) evaluates ``GELU(a) = a·Φ(a)`` with
``Φ(-y) ≈ 2^-(1 + 1.09375·y + 0.5625·y²)`` for ``y = |a| >= 0`` (fitted; the float model errs
by at most 7.8e-4 in ``y·Φ(-y)``, against 0.020 for ``x·σ(1.702x)``), built from one per-layer
reciprocal ``round(2^20/I0)`` (``y`` on a fixed-point grid of ``2^-10``), one squarer, shifts and adds, and the
corrected ShiftExp mantissa; no per-element division. ``"table"`` is the accuracy floor of any
int8-input GELU: a per-layer table of correctly rounded GELU values at the output scale.
"""

from __future__ import annotations

import math

import numpy as np

#: Fractional bits of ``y = |x|·S`` in the shift form.
GELU_Y_FRAC = 10
#: ``y`` is capped below ``2^GELU_Y_INT_BITS`` (at ``|a| >= 8`` every form gives Φ(-y)·2^15 = 0).
GELU_Y_INT_BITS = 3
#: Extra bits of the per-layer reciprocal ``R = round(2^(F + 10) / I0)`` (12-13 bits for
#: ``I0`` in [256, 512]).
GELU_R_SHIFT = 10
#: Fixed-point sigma bits (shared with ``spec.shift.GELU_SIGMOID_BITS``).
_SIGMA_BITS = 15


def gelu_recip(i0: int) -> int:
    """The shift form's per-layer reciprocal ``R = round(2^20 / I0)`` (Python int).

    ``y = (((|x|·R) << k) + 2^9) >> 10 ≈ |x|·2^k/I0 · 2^10 = |a|·2^10`` (``2^k/I0 ≈ S``).
    """
    if not 1 <= i0 <= 1 << (GELU_Y_FRAC + GELU_R_SHIFT):
        raise ValueError(f"gelu_recip: need 1 <= I0 <= 2^20, got I0={i0}")
    return ((1 << (GELU_Y_FRAC + GELU_R_SHIFT)) + (i0 >> 1)) // i0


def gelu_shift_core(x, k: int, i0: int) -> np.ndarray:
    """ShiftGELU, form ``"shift"``: ``x·σ_q`` with ``σ_q ≈ 2^15·Φ(x·S)`` (real scale S·2^-15).

    ``y = min((((|x|·R) << k) + 2^9) >> 10, 2^13 - 1)`` (``R = gelu_recip(I0)``); ``h = 2^10 + y + (y>>4) + (y>>5)
    + (y²>>11) + (y²>>14)`` (``2^10·(1 + 1.09375y' + 0.5625y'²)``, ``y' = y/2^10``);
    ``q = h >> 10``, ``g = h & 1023``; ``P = (exp2_neg_frac(g, 1024) << 15) >> (q + 10)``
    (``≈ 2^15·Φ(-|a|)``, ``0 <= P <= 2^14 + 16``); ``σ_q = 2^15 - P`` for ``x >= 0``, else ``P``.
    """
    from .shift import exp2_neg_frac

    x = np.asarray(x, dtype=np.int64)
    r = gelu_recip(i0)
    peak = int(np.abs(x).max(initial=0))
    if k < 0 or peak.bit_length() + r.bit_length() + k > 62:
        raise ValueError(f"shift_gelu: (|x|·R) << k overflows int64 (max |x| = {peak}, k = {k}, "
                         f"I0 = {i0})")
    f = GELU_Y_FRAC
    y = np.minimum((((np.abs(x) * np.int64(r)) << k) + (1 << (GELU_R_SHIFT - 1))) >> GELU_R_SHIFT,
                   (1 << (f + GELU_Y_INT_BITS)) - 1)
    y2 = y * y
    h = (1 << f) + y + (y >> 4) + (y >> 5) + (y2 >> (f + 1)) + (y2 >> (f + 4))
    q = h >> f
    g = h & ((1 << f) - 1)
    p = (exp2_neg_frac(g, 1 << f, "corrected") << _SIGMA_BITS) >> np.minimum(q + f, 62)
    sigma = np.where(x >= 0, (1 << _SIGMA_BITS) - p, p)
    return x * sigma


def gelu_table(s_in: float, s_out: float, in_bits: int, out_bits: int) -> np.ndarray:
    """Per-layer GELU table: entry ``x + 2^(in_bits-1)`` is ``sat(floor(GELU(x·s_in)/s_out + ½))``.

    GELU is the exact erf form in float64 (correctly rounded to the output grid except on
    float64 ties); the result is already at the layer's output scale (int64, 2^in_bits entries).
    """
    s_in, s_out = float(s_in), float(s_out)
    if not (s_in > 0 and s_out > 0 and math.isfinite(s_in) and math.isfinite(s_out)):
        raise ValueError(f"gelu_table: scales must be positive and finite, got {s_in}, {s_out}")
    if not (1 <= in_bits <= 16 and 2 <= out_bits <= 32):
        raise ValueError(f"gelu_table: need 1 <= in_bits <= 16 and 2 <= out_bits <= 32")
    half = 1 << (in_bits - 1)
    a = np.arange(-half, half, dtype=np.float64) * s_in
    erf = np.array([math.erf(v / math.sqrt(2.0)) for v in a])
    val = np.floor(0.5 * a * (1.0 + erf) / s_out + 0.5)
    lim = float(1 << (out_bits - 1))
    return np.clip(val, -lim, lim - 1).astype(np.int64)


def gelu_lookup(x, table) -> np.ndarray:
    """``table[x + 2^(in_bits-1)]`` for a ``gelu_table`` of ``2^in_bits`` entries."""
    x = np.asarray(x, dtype=np.int64)
    table = np.asarray(table, dtype=np.int64)
    size = table.shape[0]
    if table.ndim != 1 or size < 2 or size & (size - 1):
        raise ValueError("gelu_lookup: the table must hold 2^in_bits entries")
    half = size // 2
    if x.size and (int(x.min()) < -half or int(x.max()) >= half):
        raise ValueError(f"gelu_lookup: input outside the table's range [-{half}, {half})")
    return table[x + half]


__all__ = ["GELU_Y_FRAC", "GELU_Y_INT_BITS", "GELU_R_SHIFT", "gelu_recip", "gelu_shift_core",
           "gelu_table", "gelu_lookup"]
