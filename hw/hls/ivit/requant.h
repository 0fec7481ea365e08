// Requantization and residual-add kernels over token tensors (T rows x C channels).
#ifndef IVIT_REQUANT_H
#define IVIT_REQUANT_H

#include "types.h"

namespace ivit {

/// y[t][c] = sat_bits((x[t][c]*m[c] + 2^(e[c]-1)) >> e[c]) (per-channel dyadic requant).
template <typename TI, typename TO>
void requant_rows(const TI* x, TO* y, int rows, int cols, const int32_t* m, const uint8_t* e,
                  int bits) {
rq_rows:
    for (int t = 0; t < rows; ++t) {
    rq_cols:
        for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
            y[t * cols + c] = static_cast<TO>(requant_sat(x[t * cols + c], m[c], e[c], bits));
        }
    }
}

/// Residual add: each branch requantized to the output scale, summed, saturated once.
/// out = sat_bits(requant(a, m_a[c], e_a[c]) + requant(b, m_b, e_b)); a is the branch
/// (per-channel multiplier), b the residual stream (one multiplier).
template <typename TA, typename TB, typename TO>
void residual_add(const TA* a, const TB* b, TO* out, int rows, int cols, const int32_t* m_a,
                  const uint8_t* e_a, int64_t m_b, int e_b, int bits) {
res_rows:
    for (int t = 0; t < rows; ++t) {
    res_cols:
        for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
            const int i = t * cols + c;
            const int64_t s = requant(a[i], m_a[c], e_a[c]) + requant(b[i], m_b, e_b);
            out[i] = static_cast<TO>(saturate(s, bits));
        }
    }
}

}  // namespace ivit

#endif  // IVIT_REQUANT_H
