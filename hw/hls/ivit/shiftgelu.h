// ShiftGELU (I-ViT Alg. 2): GELU(x) ~ x * sigmoid(1.702 x) with ShiftExp and one division
// per element, then a dyadic requant to the layer's output scale.
#ifndef IVIT_SHIFTGELU_H
#define IVIT_SHIFTGELU_H

#include "shiftexp.h"

namespace ivit {

/// Fractional bits of the fixed-point sigmoid (sigma in [0, 2^15]).
constexpr int GELU_SIGMOID_BITS = 15;

/// Sigmoid form: the sign-symmetric default or the paper's per-token row-max form.
enum GeluForm { GELU_SYMMETRIC = 0, GELU_ROWMAX = 1 };

/// 1.6875 * x with shifts (the shifter form of GELU's 1.702).
inline int64_t times_1702(int64_t xs) {
#pragma HLS INLINE
    return xs + (xs >> 1) + (xs >> 3) + (xs >> 4);
}

/// Symmetric ShiftGELU core of one element: x * sigma_q, sigma_q = (num << 15) // den.
inline int64_t shift_gelu_symmetric(int64_t x, int k, int64_t i0, int n) {
#pragma HLS INLINE
    const int64_t z = times_1702(shl(x, k));
    const int64_t t = shift_exp(z < 0 ? z : -z, i0, n);
    const int64_t e0 = i0 << n;
    const int64_t num = z >= 0 ? e0 : t;
    const int64_t sigma = (num << GELU_SIGMOID_BITS) / (e0 + t);  // both positive: floor
    return x * sigma;
}

/// ShiftGELU layer over `rows` tokens of `cols` channels: y = sat(requant(core, m, e)).
template <typename TI, typename TO>
void shift_gelu(const TI* x, TO* y, int rows, int cols, int k, int64_t i0, int n, int form,
                int64_t m, int e, int out_bits) {
gelu_rows:
    for (int t = 0; t < rows; ++t) {
        const TI* row = x + static_cast<int64_t>(t) * cols;
        TO* out = y + static_cast<int64_t>(t) * cols;
        if (form == GELU_SYMMETRIC) {
        gelu_sym:
            for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
                out[c] = static_cast<TO>(
                    requant_sat(shift_gelu_symmetric(row[c], k, i0, n), m, e, out_bits));
            }
        } else {
            // Paper form: M' = max(rowmax(z), 0), sigma = E(z-M') / (E(z-M') + E(-M')).
            int64_t top = 0;
        gelu_max:
            for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
                const int64_t z = times_1702(shl(row[c], k));
                if (z > top) top = z;
            }
            const int64_t floor_term = shift_exp(-top, i0, n);
        gelu_rowmax:
            for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
                const int64_t z = times_1702(shl(row[c], k));
                const int64_t num = shift_exp(z - top, i0, n);
                const int64_t sigma = (num << GELU_SIGMOID_BITS) / (num + floor_term);
                out[c] = static_cast<TO>(requant_sat(row[c] * sigma, m, e, out_bits));
            }
        }
    }
}

}  // namespace ivit

#endif  // IVIT_SHIFTGELU_H
