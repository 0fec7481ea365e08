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
#: ShiftExp forms: ``"corrected"`` (default) and ``"paper"`` (I-ViT Alg. 1 as first specified).
EXP_FORMS = ("corrected", "paper")
#: Intercepts ``C_j`` (units of I0/4096) of the corrected mantissa's three lines (see
#: ``exp2_neg_frac``), fitted so that it stays within ±0.53 % of ``2^-g`` and ``v(0) <= 2·v(I0-1)`` (ShiftExp monotone).
EXP_CORR_C = (-6, 196, 508)


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


def _check_exp_form(exp_form: str, where: str) -> None:
    if exp_form not in EXP_FORMS:
        raise ValueError(f"{where}: unknown exp_form {exp_form!r} (corrected or paper)")


def exp_corr_constants(i0: int) -> tuple[int, int, int]:
    """Per-layer intercepts ``b_j = ((C_j·I0 + 32) >> 6) + 32`` of the corrected mantissa."""
    return tuple(((cj * i0 + 32) >> 6) + 32 for cj in EXP_CORR_C)


def exp2_neg_frac(a, i0: int, exp_form: str = "corrected") -> np.ndarray:
    """Mantissa ``≈ I0 · 2^(-a/I0)`` of ShiftExp for a fraction ``0 <= a < I0`` (int64).

    ``"paper"``: the chord ``I0 - ceil(a/2)`` (``1 + f/2``, over-estimates by up to 6.1 %).
    ``"corrected"``: ``I0 - min((41a + b0) >> 6, (31a + b1) >> 6, (24a + b2) >> 6)`` with
    ``(b0, b1, b2) = exp_corr_constants(I0)``: the chord ``a/2`` plus the concave three-line
    correction ``min(9a/64 + C0·I0/4096, C1·I0/4096 - a/64, C2·I0/4096 - a/8)``, each line
    rounded once (so the mantissa is monotone); ``41a = (a<<5) + (a<<3) + a``,
    ``31a = (a<<5) - a``, ``24a = (a<<4) + (a<<3)``. Within ±0.53 % of ``I0·2^(-a/I0)`` plus
    one unit.
    """
    a = np.asarray(a, dtype=np.int64)
    if exp_form == "paper":
        return i0 - ((a + 1) >> 1)
    b0, b1, b2 = exp_corr_constants(i0)
    low = np.minimum(np.minimum((41 * a + b0) >> 6, (31 * a + b1) >> 6), (24 * a + b2) >> 6)
    return i0 - low


def shift_exp(u, i0: int, n: int, exp_form: str = "corrected") -> np.ndarray:
    """ShiftExp: integer ``≈ I0 · 2^N · exp(u / I0)`` for ``u <= 0``.

    ``exp_form="paper"`` (I-ViT Alg. 1): ``p = u + (u>>1) - (u>>4)`` turns the natural
    exponent into base 2 (log2 e ≈ 1.0111b), clamped at ``-N·I0``; ``q = (-p) // I0`` and
    ``r = p + q·I0 ∈ (-I0, 0]`` split it into an integer and a fractional part;
    ``2^(r/I0) ≈ 1 + r/(2·I0)`` gives ``v = I0 + (r >> 1)``; the result is ``v << (N - q)``
    (exact: ``q <= N``); a clamped input gives ``I0`` (it stands for ``2^-N``).

    ``exp_form="corrected"`` (default): ``p = u + (u>>1) - (u>>4) + (u>>8) + (u>>10)``
    (log2 e ≈ 1.4424), ``v = exp2_neg_frac(-r, I0)`` (the corrected mantissa), and an input
    at or beyond the clamp (``p <= -N·I0``) gives 0: values below ``2^-N`` are dropped
    instead of being raised to ``2^-N``, so long rows do not gain probability mass.
    """
    _check_exp_form(exp_form, "shift_exp")
    u = np.asarray(u, dtype=np.int64)
    if np.any(u > 0):
        raise ValueError("shift_exp: input must be <= 0")
    p = u + (u >> 1) - (u >> 4)
    if exp_form == "corrected":
        p = p + (u >> 8) + (u >> 10)
    clamped = p <= -n * i0
    p = np.maximum(p, -n * i0)
    q = (-p) // i0
    r = p + q * i0
    out = exp2_neg_frac(-r, i0, exp_form) << (n - q)
    if exp_form == "corrected":
        out = np.where(clamped, 0, out)
    return out


def shiftmax_div_bits(i0: int, n: int) -> int:
    """The shift M of Shiftmax's per-row reciprocal ``f = 2^M // sum`` (``f <= 2^31``)."""
    return int((i0 << n).bit_length()) + _SHIFTMAX_RECIP_BITS


def shiftmax(x, k: int, i0: int, n: int, out_bits: int, exp_form: str = "corrected") -> np.ndarray:
    """Shiftmax over the last axis: unsigned probabilities with scale ``2^-(out_bits-1)``.

    ``e = ShiftExp((x - rowmax) << k)``, then ``shiftmax_normalize`` (same ``exp_form``).
    """
    x = np.asarray(x, dtype=np.int64)
    d = x - x.max(axis=-1, keepdims=True)
    if d.size and int(-d.min()).bit_length() + k > 58:
        raise ValueError(f"shiftmax: (x - rowmax) << {k} leaves the proven int64 range")
    u = d << k
    return shiftmax_normalize(shift_exp(u, i0, n, exp_form), i0, n, out_bits, exp_form)


def shiftmax_normalize(e, i0: int, n: int, out_bits: int, exp_form: str = "corrected") -> np.ndarray:
    """Shiftmax's division: one reciprocal per row ``f = 2^M // Σe``, then
    ``P = (e·f + 2^(M-Q-1)) >> (M-Q)`` with ``Q = out_bits - 1``, so ``0 <= P <= 2^Q``.

    The normalisation is the same for both forms; ``exp_form`` only checks the input range
    (the corrected ShiftExp drops clamped values to 0, the row maximum is never 0).
    """
    _check_exp_form(exp_form, "shiftmax_normalize")
    e = np.asarray(e, dtype=np.int64)
    total = e.sum(axis=-1, keepdims=True)
    m_bits = shiftmax_div_bits(i0, n)
    if m_bits > 62:
        raise ValueError(f"shiftmax: 2^M with M={m_bits} exceeds int64 (needs bitlen(I0)+N <= 32)")
    if np.any(total <= 0):
        raise ValueError("shiftmax_normalize: a row of exp values sums to 0 (no row maximum)")
    factor = (np.int64(1) << m_bits) // total
    shift = m_bits - (out_bits - 1)
    return (e * factor + (np.int64(1) << (shift - 1))) >> shift


def _times_1702(xs: np.ndarray) -> np.ndarray:
    """``1.6875·x`` with shifts (I-ViT's shifter form of GELU's 1.702 factor)."""
    return xs + (xs >> 1) + (xs >> 3) + (xs >> 4)


#: ShiftGELU forms (``spec.gelu`` holds the shift and table forms).
GELU_FORMS = ("shift", "symmetric", "rowmax", "table")


def shift_gelu(x, k: int, i0: int, n: int, form: str = "shift") -> np.ndarray:
    """ShiftGELU core: ``x · σ_q`` where ``σ_q ≈ 2^15 · Φ(x·S)``, real scale ``S · 2^-15``.

    The layer requantizes it with ``dyadic(S·2^-15 / S_out)``.
    ``form="shift"`` (default): ``spec.gelu.gelu_shift_core`` (no per-element division;
    ``n`` is not used). The two forms with ``σ ≈ sigmoid(1.702·x·S)`` use
    ``z = 1.6875·(x << k)`` (units 1/I0) and the paper's ShiftExp:
    ``form="symmetric"``: ``t = ShiftExp(-|z|)``, ``E0 = I0 << N``, ``σ = E0/(E0+t)`` for
    ``z >= 0`` else ``t/(E0+t)``; ``form="rowmax"`` (the paper): ``M' = max(rowmax(z), 0)``,
    ``σ = ShiftExp(z-M') / (ShiftExp(z-M') + ShiftExp(-M'))`` per token (last axis);
    both ``σ_q = (num << 15) // den``. ``"table"`` has no core (``spec.gelu.gelu_table``).
    """
    if form == "shift":
        from .gelu import gelu_shift_core

        return gelu_shift_core(x, k, i0)
    if form not in ("symmetric", "rowmax"):
        raise ValueError(f"shift_gelu: unknown form {form!r} (shift, symmetric or rowmax; "
                         "the table form has no core)")
    x = np.asarray(x, dtype=np.int64)
    peak = int(np.abs(x).max(initial=0)).bit_length()
    if peak + k + 1 > 60 or int(i0).bit_length() + n + GELU_SIGMOID_BITS > 62 \
            or peak + GELU_SIGMOID_BITS + 1 > 62:
        raise ValueError(f"shift_gelu: k={k}, I0={i0}, N={n} with |x| < 2^{peak} overflow "
                         "int64 (scale too small or input too wide)")
    z = _times_1702(x << k)
    if form == "symmetric":
        t = shift_exp(-np.abs(z), i0, n, "paper")
        e0 = np.int64(i0) << n
        num = np.where(z >= 0, e0, t)
        den = e0 + t
    else:
        top = np.maximum(z.max(axis=-1, keepdims=True), 0)
        num = shift_exp(z - top, i0, n, "paper")
        den = num + shift_exp(-top, i0, n, "paper")
    sigma = (num << GELU_SIGMOID_BITS) // den
    return x * sigma


def shiftmax_row_sum_bound(length: int, out_bits: int) -> int:
    """Upper bound of ``Σ P`` over a row: each rounded P exceeds its exact value by <= 1/2."""
    return (1 << (out_bits - 1)) + (length + 1) // 2


__all__ = [
    "EXP_I0_MIN_BITS", "GELU_SIGMOID_BITS", "EXP_FORMS", "GELU_FORMS", "exp2_neg_frac", "exp_corr_constants", "exp_constants", "shift_exp", "shiftmax",
    "shiftmax_div_bits", "shiftmax_normalize", "shift_gelu", "shiftmax_row_sum_bound", "bit_length",
]
