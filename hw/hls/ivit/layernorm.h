// I-LayerNorm: floor of 16·mean (4 fractional bits), variance sum in int64, exact integer
// Newton square root with a fixed iteration count, one division per row, folded affine
// requant.
#ifndef IVIT_LAYERNORM_H
#define IVIT_LAYERNORM_H

#include "types.h"

namespace ivit {

constexpr int ISQRT_ITERATIONS = 6;  // exact for 0 <= V < 2^62 (see the integer spec)
constexpr int LN_FRAC_BITS = 16;
constexpr int64_t LN_MEAN_SCALE = 16;  // 2^LN_MEAN_FRAC_BITS: the mean keeps 4 fractional bits
constexpr int LN_RECIP_SHIFT = 46;
/// Signed width of 2^46 // sd (sd >= 1): the LayerNorm normalize multiplier's wide operand.
constexpr int LN_RECIP_W = LN_RECIP_SHIFT + 2;

/// Helper-multiplier roles of a LayerNorm vector lane (see types.h): x * x (sum of squares),
/// (16x - mean) * recip, and the folded affine requant of the normalized value.
inline int64_t lane_ln_square(int64_t x) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_W_LN_IN, IVIT_W_LN_IN, IVIT_FABRIC_VEC>(x, x);
}
inline int64_t lane_ln_norm(int64_t d, int64_t recip) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_W_LN_DIFF, LN_RECIP_W, IVIT_FABRIC_VEC>(d, recip);
}
inline int64_t lane_ln_requant(int64_t nv, int64_t m) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_W_LN_NORM, IVIT_W_M, IVIT_FABRIC_VEC>(nv, m);
}

/// floor(sqrt(v)) for 0 <= v < 2^62: start 2^ceil(bitlen(v)/2), x = min(x, (x + v//x) >> 1).
inline int64_t isqrt(int64_t v) {
#pragma HLS INLINE
    int64_t x = int64_t(1) << ((bit_length(v) + 1) >> 1);
isqrt_steps:
    for (int i = 0; i < ISQRT_ITERATIONS; ++i) {
#pragma HLS UNROLL
        const int64_t d = x > 1 ? x : 1;
        const int64_t nx = (x + v / d) >> 1;  // v >= 0, d > 0: `/` is the floor
        if (nx < x) x = nx;
    }
    return v == 0 ? 0 : x;
}

/// I-LayerNorm over `rows` rows of `cols` channels (row stride `cols`):
/// y = 16x - floor(16 sum/C) (mean kept to 4 fractional bits);
/// n = round(y * (2^46 // isqrt(sum y^2)) / 2^30);
/// out = sat_bits((n*m_c + bias_c + 2^(e_c-1)) >> e_c).
template <typename TI, typename TO>
void layernorm(const TI* x, TO* out, int rows, int cols, const int32_t* m, const uint8_t* e,
               const int64_t* bias, int out_bits) {
    const int shift = LN_RECIP_SHIFT - LN_FRAC_BITS;
    const int64_t half = int64_t(1) << (shift - 1);
ln_rows:
    for (int t = 0; t < rows; ++t) {
        const TI* row = x + static_cast<int64_t>(t) * cols;
        int64_t sum = 0;
    ln_sum:
        for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
            sum += row[c];
        }
        // the sum may be negative: floor, not `/`; scaling by a multiply, since a left shift
        // of a negative value is undefined before C++20
        const int64_t mean = floor_div(sum * LN_MEAN_SCALE, cols);
        int64_t var = 0;
    ln_var:
        for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
            const int64_t y = row[c] * LN_MEAN_SCALE - mean;
            var += y * y;
        }
        const int64_t sd = isqrt(var);
        const int64_t recip = sd > 0 ? (int64_t(1) << LN_RECIP_SHIFT) / sd : 0;
        TO* o = out + static_cast<int64_t>(t) * cols;
    ln_out:
        for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
            const int64_t nv = ((row[c] * LN_MEAN_SCALE - mean) * recip + half) >> shift;
            o[c] = static_cast<TO>(requant_sat(nv, m[c], e[c], out_bits, bias[c]));
        }
    }
}

}  // namespace ivit

#endif  // IVIT_LAYERNORM_H
