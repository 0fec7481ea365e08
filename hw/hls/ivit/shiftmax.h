// Shiftmax (I-ViT Alg. 1, corrected ShiftExp by default): ShiftExp on (x - rowmax) << k,
// one integer division per row.
#ifndef IVIT_SHIFTMAX_H
#define IVIT_SHIFTMAX_H

#include "shiftexp.h"

namespace ivit {

/// Helper-multiplier role of a Shiftmax vector lane (see types.h): e * (2^M // row sum).
inline int64_t lane_sm_factor(int64_t e, int64_t factor) {
#pragma HLS INLINE
    role_widths<IVIT_W_EXP, IVIT_W_FACTOR>(e, factor);
    return pool_vec_wide(e, factor);
}

/// Shift M of the per-row reciprocal 2^M // sum (spec: bitlen(I0 << N) + 30).
inline int shiftmax_div_bits(int64_t i0, int n) {
#pragma HLS INLINE
    return bit_length(i0 << n) + 30;
}

/// Shiftmax over each of `rows` rows of length `len` (len <= MAXLEN). Output P in
/// [0, 2^(out_bits-1)]: P = (e*f + 2^(M-Q-1)) >> (M-Q), f = 2^M // sum(e), Q = out_bits-1.
/// `exp_form` selects ShiftExp (EXP_CORRECTED default, EXP_PAPER for the paper's form).
template <int MAXLEN, typename TI, typename TO>
void shiftmax(const TI* x, TO* y, int rows, int len, int k, int64_t i0, int n, int out_bits,
              int exp_form = EXP_CORRECTED) {
    int64_t ebuf[MAXLEN];
    const int m_bits = shiftmax_div_bits(i0, n);
    const int shift = m_bits - (out_bits - 1);
    const int64_t half = int64_t(1) << (shift - 1);
sm_rows:
    for (int t = 0; t < rows; ++t) {
        const TI* row = x + static_cast<int64_t>(t) * len;
        int64_t top = row[0];
    sm_max:
        for (int j = 1; j < len; ++j) {
#pragma HLS PIPELINE II=1
            if (row[j] > top) top = row[j];
        }
        int64_t total = 0;
    sm_exp:
        for (int j = 0; j < len; ++j) {
#pragma HLS PIPELINE II=1
            const int64_t ev = shift_exp(shl(row[j] - top, k), i0, n, exp_form);
            ebuf[j] = ev;
            total += ev;
        }
        // total >= the row maximum's term (about I0 << N) > 0: one division per row.
        const int64_t factor = (int64_t(1) << m_bits) / total;
        TO* out = y + static_cast<int64_t>(t) * len;
    sm_norm:
        for (int j = 0; j < len; ++j) {
#pragma HLS PIPELINE II=1
            out[j] = static_cast<TO>((ebuf[j] * factor + half) >> shift);
        }
    }
}

}  // namespace ivit

#endif  // IVIT_SHIFTMAX_H
