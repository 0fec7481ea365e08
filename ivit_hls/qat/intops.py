"""The integer ops of the spec, written again with torch int64 tensors.

This is the PyTorch level (L1) of the verification ladder: an independent implementation of
``ivit_hls.spec`` that runs on any torch device, so QAT forward passes produce exactly the
golden integers. Tests compare the two implementations with exact equality.
"""

from __future__ import annotations

import torch

from ..spec.layernorm import ISQRT_ITERATIONS, LN_FRAC_BITS, LN_MEAN_FRAC_BITS, LN_RECIP_SHIFT
from ..spec.gelu import GELU_R_SHIFT, GELU_Y_FRAC, GELU_Y_INT_BITS, gelu_recip
from ..spec.shift import EXP_FORMS, GELU_SIGMOID_BITS, exp_corr_constants, shiftmax_div_bits

_I64 = torch.int64


def _i64(x, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=_I64, device=like.device)


def floordiv(a: torch.Tensor, b) -> torch.Tensor:
    """Floor division (numpy ``//``) on int64 tensors."""
    return torch.div(a, b, rounding_mode="floor")


def saturate(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Clamp to a signed ``bits``-bit range."""
    return x.clamp(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def requant(acc: torch.Tensor, m, e, bits: int | None = None, offset=0) -> torch.Tensor:
    """``sat_bits((acc·m + offset + 2^(e-1)) >> e)`` on int64 tensors."""
    m = _i64(m, acc)
    e = _i64(e, acc)
    y = (acc * m + _i64(offset, acc) + (torch.ones_like(e) << (e - 1))) >> e
    return y if bits is None else saturate(y, bits)


def int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact integer matmul through float64 (exact below 2^53; range analysis bounds it)."""
    return torch.matmul(a.to(torch.float64), b.to(torch.float64)).to(_I64)


def exp2_neg_frac(a: torch.Tensor, i0: int, exp_form: str = "corrected") -> torch.Tensor:
    """ShiftExp's mantissa ``≈ I0·2^(-a/I0)`` for ``0 <= a < I0``; see ``spec.exp2_neg_frac``."""
    if exp_form == "paper":
        return i0 - ((a + 1) >> 1)
    b0, b1, b2 = exp_corr_constants(i0)
    low = torch.minimum(torch.minimum((41 * a + b0) >> 6, (31 * a + b1) >> 6), (24 * a + b2) >> 6)
    return i0 - low


def shift_exp(u: torch.Tensor, i0: int, n: int, exp_form: str = "corrected") -> torch.Tensor:
    """ShiftExp of ``u <= 0`` in units of ``1/I0``: ``≈ I0·2^N·exp(u/I0)`` (``spec.shift_exp``)."""
    if exp_form not in EXP_FORMS:
        raise ValueError(f"unknown exp_form {exp_form!r}")
    p = u + (u >> 1) - (u >> 4)
    if exp_form == "corrected":
        p = p + (u >> 8) + (u >> 10)
    clamped = p <= -n * i0
    p = torch.clamp(p, min=-n * i0)
    q = floordiv(-p, i0)
    r = p + q * i0
    out = exp2_neg_frac(-r, i0, exp_form) << (n - q)
    if exp_form == "corrected":
        out = torch.where(clamped, torch.zeros_like(out), out)
    return out


def shiftmax(x: torch.Tensor, k: int, i0: int, n: int, out_bits: int,
             exp_form: str = "corrected") -> torch.Tensor:
    """Shiftmax over the last axis; unsigned probabilities with scale ``2^-(out_bits-1)``."""
    u = (x - x.amax(dim=-1, keepdim=True)) << k
    e = shift_exp(u, i0, n, exp_form)
    total = e.sum(dim=-1, keepdim=True)
    m_bits = shiftmax_div_bits(i0, n)
    factor = floordiv(torch.full_like(total, 1 << m_bits), total)
    shift = m_bits - (out_bits - 1)
    return (e * factor + (1 << (shift - 1))) >> shift


def gelu_shift_core(x: torch.Tensor, k: int, i0: int) -> torch.Tensor:
    """ShiftGELU form ``"shift"``: ``x·σ_q``, ``σ_q ≈ 2^15·Φ(x·S)``; see ``spec.gelu``."""
    r = gelu_recip(i0)
    f = GELU_Y_FRAC
    y = torch.clamp((((x.abs() * r) << k) + (1 << (GELU_R_SHIFT - 1))) >> GELU_R_SHIFT,
                    max=(1 << (f + GELU_Y_INT_BITS)) - 1)
    y2 = y * y
    h = (1 << f) + y + (y >> 4) + (y >> 5) + (y2 >> (f + 1)) + (y2 >> (f + 4))
    q = h >> f
    g = h & ((1 << f) - 1)
    p = (exp2_neg_frac(g, 1 << f) << GELU_SIGMOID_BITS) >> torch.clamp(q + f, max=62)
    sigma = torch.where(x >= 0, (1 << GELU_SIGMOID_BITS) - p, p)
    return x * sigma


def shift_gelu(x: torch.Tensor, k: int, i0: int, n: int, form: str = "shift") -> torch.Tensor:
    """ShiftGELU core ``x·σ_q`` (scale ``S·2^-15``); see ``ivit_hls.spec.shift_gelu``."""
    if form == "shift":
        return gelu_shift_core(x, k, i0)
    xs = x << k
    z = xs + (xs >> 1) + (xs >> 3) + (xs >> 4)
    if form == "symmetric":
        t = shift_exp(-z.abs(), i0, n, "paper")
        e0 = i0 << n
        num = torch.where(z >= 0, torch.full_like(t, e0), t)
        den = t + e0
    elif form == "rowmax":
        top = torch.clamp(z.amax(dim=-1, keepdim=True), min=0)
        num = shift_exp(z - top, i0, n, "paper")
        den = num + shift_exp(-top, i0, n, "paper")
    else:
        raise ValueError(f"unknown ShiftGELU form {form!r}")
    sigma = floordiv(num << GELU_SIGMOID_BITS, den)
    return x * sigma


def gelu_lookup(x: torch.Tensor, table) -> torch.Tensor:
    """``table[x + 2^(in_bits-1)]`` (``spec.gelu_lookup``) on int64 tensors."""
    t = torch.as_tensor(table, dtype=_I64, device=x.device)
    return t[x + t.shape[0] // 2]


def isqrt(v: torch.Tensor) -> torch.Tensor:
    """``floor(sqrt(v))`` for int64 ``0 <= v < 2^62`` by the spec's fixed Newton iteration."""
    bits = torch.zeros_like(v)
    t = v.clone()
    for sh in (32, 16, 8, 4, 2, 1):
        big = t >= (1 << sh)
        bits = bits + big.to(_I64) * sh
        t = torch.where(big, t >> sh, t)
    bits = bits + (t > 0).to(_I64)
    x = torch.ones_like(v) << ((bits + 1) >> 1)
    for _ in range(ISQRT_ITERATIONS):
        x = torch.minimum(x, (x + floordiv(v, x.clamp(min=1))) >> 1)
    return torch.where(v == 0, torch.zeros_like(x), x)


def ilayernorm_normalize(x: torch.Tensor) -> torch.Tensor:
    """``n = round(2^16·y/isqrt(Σy²))`` per row with ``y = (x << 4) - (Σx << 4) // C``."""
    c = x.shape[-1]
    f = LN_MEAN_FRAC_BITS
    y = (x << f) - floordiv(x.sum(dim=-1, keepdim=True) << f, c)
    sd = isqrt((y * y).sum(dim=-1, keepdim=True))
    recip = torch.where(sd > 0, floordiv(torch.full_like(sd, 1 << LN_RECIP_SHIFT), sd.clamp(min=1)),
                        torch.zeros_like(sd))
    shift = LN_RECIP_SHIFT - LN_FRAC_BITS
    return (y * recip + (1 << (shift - 1))) >> shift
