// ShiftExp (I-ViT Alg. 1 core): integer ~ I0 * 2^N * exp(u / I0) for u <= 0, shifts and adds.
#ifndef IVIT_SHIFTEXP_H
#define IVIT_SHIFTEXP_H

#include "types.h"

namespace ivit {

/// ShiftExp form: the corrected default or the paper's (spec: shift.shift_exp exp_form).
enum ExpForm { EXP_PAPER = 0, EXP_CORRECTED = 1 };

/// Per-layer intercept j of the corrected mantissa: ((C_j * I0 + 32) >> 6) + 32,
/// C = (-6, 196, 508) (spec: shift.exp_corr_constants). `>>` floors negative values too.
inline int64_t exp_corr_b(int j, int64_t i0) {
#pragma HLS INLINE
    const int64_t c = j == 0 ? -6 : (j == 1 ? 196 : 508);
    return ((c * i0 + 32) >> 6) + 32;
}

/// Mantissa ~ I0 * 2^(-a/I0) for 0 <= a < I0 (spec: shift.exp2_neg_frac).
/// Paper: I0 - ceil(a/2). Corrected: I0 - min((41a + b0) >> 6, (31a + b1) >> 6, (24a + b2) >> 6).
inline int64_t exp2_neg_frac(int64_t a, int64_t i0, int form) {
#pragma HLS INLINE
    if (form == EXP_PAPER) return i0 - ((a + 1) >> 1);
    const int64_t l0 = (41 * a + exp_corr_b(0, i0)) >> 6;
    const int64_t l1 = (31 * a + exp_corr_b(1, i0)) >> 6;
    const int64_t l2 = (24 * a + exp_corr_b(2, i0)) >> 6;
    int64_t low = l0 < l1 ? l0 : l1;
    if (l2 < low) low = l2;
    return i0 - low;
}

/// Quotient bits of ShiftExp's integer part q = (-p) // I0 <= N: N <= 63.
constexpr int SHIFT_EXP_Q_BITS = 6;

/// Paper: p = u + (u>>1) - (u>>4) (log2 e ~ 1.0111b); corrected adds (u>>8) + (u>>10).
/// p is clamped at -N*I0; q = (-p) // I0, r = p + q*I0 in (-I0, 0]; result
/// exp2_neg_frac(-r) << (N-q). Corrected: an input at or beyond the clamp gives 0.
/// Needs 1 <= N <= 63, I0 >= 1, u <= 0.
///
/// No divider and no multiplier: a = -p >= 64 I0 is beyond the clamp (64 I0 >= N I0);
/// otherwise a restoring division by I0 with SHIFT_EXP_Q_BITS quotient bits (compare with
/// I0 << b, subtract) gives q = a // I0 and the fraction -r = a - q I0 exactly, and the clamp
/// is q >= N (a >= N I0). The remainder path is QW signed bits wide: 64 I0 < 2^(QW-1).
template <int QW = 64>
inline int64_t shift_exp(int64_t u, int64_t i0, int n, int form = EXP_CORRECTED) {
#pragma HLS INLINE
    int64_t p = u + (u >> 1) - (u >> 4);
    if (form != EXP_PAPER) p += (u >> 8) + (u >> 10);
    const int64_t a = -p;
    const bool beyond = a >= (i0 << SHIFT_EXP_Q_BITS);
    wint<QW> rem = beyond ? int64_t(0) : a;
    int q = 0;
shift_exp_q:
    for (int b = SHIFT_EXP_Q_BITS - 1; b >= 0; --b) {
#pragma HLS UNROLL
        const wint<QW> d = i0 << b;
        if (static_cast<int64_t>(rem) >= static_cast<int64_t>(d)) {
            rem = static_cast<int64_t>(rem) - static_cast<int64_t>(d);
            q += 1 << b;
        }
    }
    const bool clamped = beyond || q >= n;
    if (clamped && form != EXP_PAPER) return 0;
    const int64_t frac = clamped ? int64_t(0) : static_cast<int64_t>(rem);  // -r in [0, I0)
    return exp2_neg_frac(frac, i0, form) << (n - (clamped ? n : q));
}

}  // namespace ivit

#endif  // IVIT_SHIFTEXP_H
