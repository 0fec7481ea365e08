"""Triton kernels of the integer ViT: int8 GEMMs with fused requant epilogues and the
row-wise integer ops (I-LayerNorm, Shiftmax, ShiftGELU, residual add).

Every kernel computes exactly the integers of ``ivit_hls.spec`` (docs/integer-spec.md).
Triton's ``//`` truncates toward zero and ``%`` follows the dividend's sign; where the spec
floors a possibly negative dividend (the LayerNorm mean) ``_floor_div`` corrects the quotient.
All other divisions have non-negative operands. Scalars arrive as kernel arguments and are
widened to int64 first, so no constant is ever shifted inside 32 bits.

Whether these run on the GPU or in Triton's numpy interpreter is fixed when this module is
imported (``TRITON_INTERPRET=1``); ``ivit_hls.gpu.triton`` sets it on machines without CUDA.
"""

from __future__ import annotations

import triton
import triton.language as tl

# GEMM epilogues
RAW = 0        # acc + bias as int32 (a residual branch)
REQUANT = 1    # sat(rhu((acc + bias)·m, e))
ADD_SAT = 2    # sat(rhu((acc + bias)·m, e) + addend)        (patch embedding + position)
RESIDUAL = 3   # sat(rhu((acc + bias)·m, e) + rhu(res·mb, eb)) (projection + residual add)
GELU = 4       # requant to int8, then an elementwise ShiftGELU and its requant (fc1 + GELU)


# Reductions through tl.reduce with the standard combine functions: the interpreter runs
# these as numpy, and they work even when triton.language was imported before
# TRITON_INTERPRET was set (its @jit helpers such as tl.sum then cannot be interpreted).
@triton.jit
def _sum(x, axis: tl.constexpr):
    return tl.reduce(x, axis, tl.standard._sum_combine)


@triton.jit
def _max(x, axis: tl.constexpr):
    return tl.reduce(x, axis, tl.standard._elementwise_max)

@triton.jit
def _rhu(v, m, e):
    """Round half up of v·m / 2^e in int64 (e >= 1)."""
    one = tl.full(v.shape, 1, tl.int64)
    return (v * m + (one << (e - 1))) >> e


@triton.jit
def _floor_div(a, b):
    """Floor of a / b for b > 0, whichever way ``//`` rounds."""
    q = a // b
    return q - ((a - q * b) < 0).to(tl.int64)


@triton.jit
def _shift_exp(u, i0, n, mant_ptr, EXP_FORM: tl.constexpr):
    """ShiftExp (spec §7) of int64 u <= 0; EXP_FORM 0 = "paper", 1 = "corrected".

    The mantissa ``exp2_neg_frac(a, I0)`` of the fraction ``0 <= a < I0`` is read from a
    per-layer table of I0 entries (a small ROM, computed by the spec function); the paper's
    chord ``I0 - ceil(a/2)`` is one shift and needs none.
    """
    p = u + (u >> 1) - (u >> 4)
    if EXP_FORM == 1:
        p = p + (u >> 8) + (u >> 10)
    clamped = p <= -n * i0
    p = tl.maximum(p, -n * i0)
    q = (-p) // i0  # -p >= 0: truncation is the floor
    a = -(p + q * i0)
    if EXP_FORM == 1:
        v = tl.load(mant_ptr + a)
        out = tl.where(clamped, 0, v << (n - q))
    else:
        out = (i0 - ((a + 1) >> 1)) << (n - q)
    return out


@triton.jit
def _shift_gelu_core(x, mask, k, i0, n, sig_bits, mant_ptr, FORM: tl.constexpr,
                     EXP_FORM: tl.constexpr):
    """ShiftGELU core x·σ_q (spec §9) of int64 x on a (rows, channels) tile.

    FORM 0 symmetric, 1 rowmax (both σ(1.702x), ShiftExp form EXP_FORM), 2 shift: then
    ``i0`` carries the reciprocal R, ``n`` the R shift, and ``mant_ptr`` the corrected
    mantissa table for I0 = 2^F (F = 10 fraction bits of y, y capped below 2^(F+3)).
    """
    if FORM == 2:
        f = 10
        y = tl.minimum((((tl.abs(x) * i0) << k) + (1 << (n - 1))) >> n, (1 << (f + 3)) - 1)
        y2 = y * y
        h = (1 << f) + y + (y >> 4) + (y >> 5) + (y2 >> (f + 1)) + (y2 >> (f + 4))
        q = h >> f
        g = h & ((1 << f) - 1)
        mant = tl.load(mant_ptr + g).to(tl.int64)
        p = (mant << sig_bits) >> tl.minimum(q + f, 62)
        sigma = tl.where(x >= 0, (1 << sig_bits) - p, p)
    else:
        xs = x << k
        z = xs + (xs >> 1) + (xs >> 3) + (xs >> 4)
        e0 = i0 << n
        if FORM == 0:  # symmetric
            t = _shift_exp(-tl.abs(z), i0, n, mant_ptr, EXP_FORM)
            num = tl.where(z >= 0, e0, t)
            den = e0 + t
        else:  # rowmax (the paper's form)
            zm = tl.where(mask, z, -(1 << 40))
            top = tl.maximum(_max(zm, 1), 0)[:, None]
            num = _shift_exp(tl.minimum(z - top, 0), i0, n, mant_ptr, EXP_FORM)
            den = num + _shift_exp(-top + z * 0, i0, n, mant_ptr, EXP_FORM)
        sigma = (num << sig_bits) // tl.maximum(den, 1)  # num, den >= 0 (x // 0 = 0 as numpy)
    return x * sigma


@triton.jit
def gemm_kernel(a_ptr, sa_b, sa_h, sa_m, sa_k,
                b_ptr, sb_b, sb_h, sb_k, sb_n,
                c_ptr, sc_b, sc_h, sc_m, sc_n,
                bias_ptr, m_ptr, e_ptr, s_me,
                x_ptr, sx_b, sx_m, sx_n,
                mb, eb, lo, hi,
                g_k, g_i0, g_n, g_sig, g_mant, g_m, g_e, g_lo, g_hi,
                H, M, N, K,
                HAS_BIAS: tl.constexpr, MODE: tl.constexpr, SPLIT_A: tl.constexpr,
                GELU_FORM: tl.constexpr, GELU_EXP: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """C = epilogue(A·B) for a batch of (b, h) problems (grid axis 2 = b·H + h).

    A holds int8 values, or with SPLIT_A unsigned probabilities in [0, 2^15] that are split
    into two int8 halves (P = 256·(hi + 128) + lo + 128) so both products are int8 dots.
    """
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    pid_z = tl.program_id(2)
    zb = pid_z // H
    zh = pid_z % H
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    a_base = a_ptr + zb.to(tl.int64) * sa_b + zh * sa_h
    b_base = b_ptr + zb.to(tl.int64) * sb_b + zh * sb_h
    acc = tl.full((BLOCK_M, BLOCK_N), 0, tl.int32)
    acc_hi = tl.full((BLOCK_M, BLOCK_N), 0, tl.int32)
    colsum = tl.full((BLOCK_N,), 0, tl.int32)
    for k0 in range(0, K, BLOCK_K):
        kk = k0 + rk
        a_mask = (rm[:, None] < M) & (kk[None, :] < K)
        b_mask = (kk[:, None] < K) & (rn[None, :] < N)
        a = tl.load(a_base + rm[:, None] * sa_m + kk[None, :] * sa_k, mask=a_mask, other=0)
        b = tl.load(b_base + kk[:, None] * sb_k + rn[None, :] * sb_n, mask=b_mask, other=0)
        b = b.to(tl.int8)
        if SPLIT_A:
            a = a.to(tl.int32)
            a_lo = ((a & 255) - 128).to(tl.int8)
            a_hi = ((a >> 8) - 128).to(tl.int8)
            acc = tl.dot(a_lo, b, acc, out_dtype=tl.int32)
            acc_hi = tl.dot(a_hi, b, acc_hi, out_dtype=tl.int32)
            colsum += _sum(b.to(tl.int32), 0)
        else:
            acc = tl.dot(a.to(tl.int8), b, acc, out_dtype=tl.int32)
    n_mask = rn < N
    if SPLIT_A:
        acc64 = (acc_hi.to(tl.int64) * 256 + acc.to(tl.int64)
                 + colsum.to(tl.int64)[None, :] * 32896)
    else:
        acc64 = acc.to(tl.int64)
    if HAS_BIAS:
        acc64 += tl.load(bias_ptr + rn, mask=n_mask, other=0).to(tl.int64)[None, :]
    c_mask = (rm[:, None] < M) & n_mask[None, :]
    if MODE == 0:
        out = acc64
    else:
        m = tl.load(m_ptr + rn * s_me, mask=n_mask, other=0).to(tl.int64)[None, :]
        e = tl.load(e_ptr + rn * s_me, mask=n_mask, other=1).to(tl.int64)[None, :]
        out = _rhu(acc64, m, e)
        if MODE == 2:
            out += tl.load(x_ptr + zb.to(tl.int64) * sx_b + rm[:, None] * sx_m + rn[None, :] * sx_n,
                           mask=c_mask, other=0).to(tl.int64)
        if MODE == 3:
            res = tl.load(x_ptr + zb.to(tl.int64) * sx_b + rm[:, None] * sx_m + rn[None, :] * sx_n,
                          mask=c_mask, other=0).to(tl.int64)
            out += _rhu(res, tl.cast(mb, tl.int64), tl.cast(eb, tl.int64))
        out = tl.minimum(tl.maximum(out, tl.cast(lo, tl.int64)), tl.cast(hi, tl.int64))
        if MODE == 4:
            core = _shift_gelu_core(out, c_mask, tl.cast(g_k, tl.int64), tl.cast(g_i0, tl.int64),
                                    tl.cast(g_n, tl.int64), tl.cast(g_sig, tl.int64),
                                    g_mant, GELU_FORM, GELU_EXP)
            out = _rhu(core, tl.cast(g_m, tl.int64), tl.cast(g_e, tl.int64))
            out = tl.minimum(tl.maximum(out, tl.cast(g_lo, tl.int64)), tl.cast(g_hi, tl.int64))
    c_base = c_ptr + zb.to(tl.int64) * sc_b + zh * sc_h
    tl.store(c_base + rm[:, None] * sc_m + rn[None, :] * sc_n,
             out.to(c_ptr.dtype.element_ty), mask=c_mask)


@triton.jit
def _isqrt(v):
    """Exact floor(sqrt(v)) of int64 0 <= v < 2^62 (spec §10: 6 guarded Newton steps)."""
    t = v
    nb = tl.full(v.shape, 0, tl.int64)
    big = t >= 4294967296
    nb += tl.where(big, 32, 0)
    t = tl.where(big, t >> 32, t)
    big = t >= 65536
    nb += tl.where(big, 16, 0)
    t = tl.where(big, t >> 16, t)
    big = t >= 256
    nb += tl.where(big, 8, 0)
    t = tl.where(big, t >> 8, t)
    big = t >= 16
    nb += tl.where(big, 4, 0)
    t = tl.where(big, t >> 4, t)
    big = t >= 4
    nb += tl.where(big, 2, 0)
    t = tl.where(big, t >> 2, t)
    big = t >= 2
    nb += tl.where(big, 1, 0)
    t = tl.where(big, t >> 1, t)
    nb += (t > 0).to(tl.int64)
    one = tl.full(v.shape, 1, tl.int64)
    x = one << ((nb + 1) >> 1)
    for _ in tl.static_range(6):
        x = tl.minimum(x, (x + v // tl.maximum(x, 1)) >> 1)
    return tl.where(v == 0, 0, x)


@triton.jit
def layernorm_kernel(x_ptr, sx_row, out_ptr, so_row, m_ptr, e_ptr, bias_ptr,
                     R, C, lo, hi, mean_frac, recip_shift, norm_shift,
                     BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    """I-LayerNorm (spec §10) of BLOCK_R rows of C channels, affine part folded in."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    mask = (rows[:, None] < R) & (cols[None, :] < C)
    x = tl.load(x_ptr + rows[:, None].to(tl.int64) * sx_row + cols[None, :],
                mask=mask, other=0).to(tl.int64)
    f = tl.cast(mean_frac, tl.int64)
    total = _sum(x, 1)
    mean = _floor_div(total << f, tl.cast(C, tl.int64))
    y = tl.where(mask, (x << f) - mean[:, None], 0)
    var = _sum(y * y, 1)
    sd = _isqrt(var)
    one = tl.full(sd.shape, 1, tl.int64)
    recip = tl.where(sd > 0, (one << tl.cast(recip_shift, tl.int64)) // tl.maximum(sd, 1), 0)
    nrm = _rhu(y, recip[:, None], tl.cast(norm_shift, tl.int64) + y * 0)
    cmask = cols < C
    m = tl.load(m_ptr + cols, mask=cmask, other=0).to(tl.int64)[None, :]
    e = tl.load(e_ptr + cols, mask=cmask, other=1).to(tl.int64)[None, :]
    b = tl.load(bias_ptr + cols, mask=cmask, other=0).to(tl.int64)[None, :]
    one2 = tl.full(nrm.shape, 1, tl.int64)
    out = (nrm * m + b + (one2 << (e - 1))) >> e
    out = tl.minimum(tl.maximum(out, tl.cast(lo, tl.int64)), tl.cast(hi, tl.int64))
    tl.store(out_ptr + rows[:, None].to(tl.int64) * so_row + cols[None, :],
             out.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def shiftmax_kernel(x_ptr, out_ptr, R, T, k, i0, n, mant_ptr, two_m, shift,
                    EXP_FORM: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_T: tl.constexpr):
    """Shiftmax (spec §8) over rows of T logits: P = rhu(ShiftExp(u)·(2^M // Σ), M - Q)."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, BLOCK_T)
    mask = (rows[:, None] < R) & (cols[None, :] < T)
    offs = rows[:, None].to(tl.int64) * T + cols[None, :]
    x = tl.load(x_ptr + offs, mask=mask, other=0).to(tl.int64)
    x = tl.where(mask, x, -(1 << 40))  # after the widening: `other` would wrap in int8
    top = _max(x, 1)
    u = (x - top[:, None]) << tl.cast(k, tl.int64)
    ex = _shift_exp(tl.minimum(u, 0), tl.cast(i0, tl.int64), tl.cast(n, tl.int64),
                    mant_ptr, EXP_FORM)
    ex = tl.where(mask, ex, 0)
    total = _sum(ex, 1)
    factor = tl.cast(two_m, tl.int64) // tl.maximum(total, 1)
    p = _rhu(ex, factor[:, None], tl.cast(shift, tl.int64) + ex * 0)
    tl.store(out_ptr + offs, p.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def gelu_kernel(x_ptr, out_ptr, R, C, k, i0, n, sig_bits, mant_ptr, m, e, lo, hi,
                FORM: tl.constexpr, EXP_FORM: tl.constexpr,
                BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    """ShiftGELU (spec §9) and its requant over rows (tokens) of C channels."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    mask = (rows[:, None] < R) & (cols[None, :] < C)
    offs = rows[:, None].to(tl.int64) * C + cols[None, :]
    x = tl.load(x_ptr + offs, mask=mask, other=0).to(tl.int64)
    core = _shift_gelu_core(x, mask, tl.cast(k, tl.int64), tl.cast(i0, tl.int64), tl.cast(n, tl.int64),
                            tl.cast(sig_bits, tl.int64), mant_ptr, FORM, EXP_FORM)
    out = _rhu(core, tl.cast(m, tl.int64), tl.cast(e, tl.int64) + core * 0)
    out = tl.minimum(tl.maximum(out, tl.cast(lo, tl.int64)), tl.cast(hi, tl.int64))
    tl.store(out_ptr + offs, out.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def residual_kernel(a_ptr, b_ptr, out_ptr, ma_ptr, ea_ptr, mb, eb, R, C, lo, hi,
                    BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    """Residual add (spec §4): sat(rhu(a·m_a[c], e_a[c]) + rhu(b·m_b, e_b))."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    mask = (rows[:, None] < R) & (cols[None, :] < C)
    offs = rows[:, None].to(tl.int64) * C + cols[None, :]
    a = tl.load(a_ptr + offs, mask=mask, other=0).to(tl.int64)
    b = tl.load(b_ptr + offs, mask=mask, other=0).to(tl.int64)
    cmask = cols < C
    ma = tl.load(ma_ptr + cols, mask=cmask, other=0).to(tl.int64)[None, :]
    ea = tl.load(ea_ptr + cols, mask=cmask, other=1).to(tl.int64)[None, :]
    out = _rhu(a, ma, ea + a * 0) + _rhu(b, tl.cast(mb, tl.int64), tl.cast(eb, tl.int64) + b * 0)
    out = tl.minimum(tl.maximum(out, tl.cast(lo, tl.int64)), tl.cast(hi, tl.int64))
    tl.store(out_ptr + offs, out.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def lookup_kernel(x_ptr, table_ptr, out_ptr, total, offset, BLOCK: tl.constexpr):
    """out = table[x + offset] (the GELU table form)."""
    idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < total
    x = tl.load(x_ptr + idx, mask=mask, other=0).to(tl.int64)
    v = tl.load(table_ptr + x + offset, mask=mask, other=0)
    tl.store(out_ptr + idx, v.to(out_ptr.dtype.element_ty), mask=mask)
