// I-LayerNorm: floor of 16·mean (4 fractional bits), variance sum in int64, exact integer
// square root (digit by digit: no division), one division per row, folded affine requant.
#ifndef IVIT_LAYERNORM_H
#define IVIT_LAYERNORM_H

#include "types.h"

namespace ivit {

/// Root digits of isqrt for 0 <= V < 2^62: one compare-subtract stage each.
constexpr int ISQRT_DIGITS = 31;
constexpr int LN_FRAC_BITS = 16;
constexpr int64_t LN_MEAN_SCALE = 16;  // 2^LN_MEAN_FRAC_BITS: the mean keeps 4 fractional bits
constexpr int LN_RECIP_SHIFT = 46;
/// Signed width of 2^46 // sd (sd >= 1): the LayerNorm normalize multiplier's wide operand.
constexpr int LN_RECIP_W = LN_RECIP_SHIFT + 2;

/// The normalize product (16x - mean) * recip, with IVIT_LN_SPLIT (ivit_params.h), is taken
/// as two products of the reciprocal's halves, recip = hi * 2^23 + lo (0 <= lo < 2^23), on
/// the epilogue pool's requant-class multipliers (25 x 32 bits for DeiT; the pool takes the
/// widest of its roles), which no drain uses while a LayerNorm runs, so the LayerNorm lanes
/// need no 48-bit multiplier of their own (the sum is exact in int64). Without it, one
/// product on the long vector pool.
#ifndef IVIT_LN_SPLIT
#define IVIT_LN_SPLIT 1
#endif
constexpr int LN_RECIP_SPLIT = 23;
/// Signed widths of the halves: hi = recip >> 23 <= 2^23, lo < 2^23.
constexpr int LN_RECIP_HI_W = LN_RECIP_W - LN_RECIP_SPLIT;
constexpr int LN_RECIP_LO_W = LN_RECIP_SPLIT + 1;

/// Helper-multiplier roles of a LayerNorm vector lane (see types.h): x * x (sum of squares),
/// (16x - mean) * recip whole or as its two halves, and the folded affine requant of the
/// normalized value.
inline int64_t lane_ln_square(int64_t x) {
#pragma HLS INLINE
    role_widths<IVIT_W_LN_IN, IVIT_W_LN_IN>(x, x);
    return pool_vec_square(x, x);
}
inline int64_t lane_ln_norm(int64_t d, int64_t recip) {
#pragma HLS INLINE
    role_widths<IVIT_W_LN_DIFF, LN_RECIP_W>(d, recip);
    return pool_vec_long(d, recip);
}
inline int64_t lane_ln_norm_hi(int64_t d, int64_t hi) {
#pragma HLS INLINE
    role_widths<IVIT_W_LN_DIFF, LN_RECIP_HI_W>(d, hi);
    return pool_epi_wide(d, hi);
}
inline int64_t lane_ln_norm_lo(int64_t d, int64_t lo) {
#pragma HLS INLINE
    role_widths<IVIT_W_LN_DIFF, LN_RECIP_LO_W>(d, lo);
    return pool_epi_wide(d, lo);
}
/// (16x - mean) * recip for 0 <= recip <= 2^46: the two half products, or the one.
inline int64_t ln_norm_product(int64_t d, int64_t recip) {
#pragma HLS INLINE
#if IVIT_LN_SPLIT
    const int64_t lo_mask = (int64_t(1) << LN_RECIP_SPLIT) - 1;
    return lane_ln_norm_hi(d, recip >> LN_RECIP_SPLIT) * (int64_t(1) << LN_RECIP_SPLIT) +
           lane_ln_norm_lo(d, recip & lo_mask);
#else
    return lane_ln_norm(d, recip);
#endif
}
inline int64_t lane_ln_requant(int64_t nv, int64_t m) {
#pragma HLS INLINE
    role_widths<IVIT_W_LN_NORM, IVIT_W_M>(nv, m);
    return pool_vec_wide(nv, m);
}

/// floor(sqrt(v)) for 0 <= v < 2^62, digit by digit (the spec's 6-step Newton root gives the
/// same value: both are the exact floor): for each power of four 4^i from 4^30 down, the
/// root `res` (scaled by 2^i) gains the digit 2^i when rem >= res + 4^i. No division: 31
/// stages of a compare, a subtract and a shift, pipelined one stage per cycle in the row
/// unit (LN_ISQRT_DEPTH).
inline int64_t isqrt(int64_t v) {
#pragma HLS INLINE
    int64_t rem = v, res = 0;
isqrt_digits:
    for (int i = ISQRT_DIGITS - 1; i >= 0; --i) {
#pragma HLS UNROLL
        const int64_t bit = int64_t(1) << (2 * i);
        if (rem >= res + bit) {
            rem -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
    }
    return res;
}

// -- the row unit's LayerNorm part (units_vector.h layernorm) -------------------------------------
/// The row unit's square root: isqrt as one pipelined function (a new root every cycle,
/// LN_ISQRT_DEPTH deep) that the top holds to one instance (ALLOCATION limit=1), whichever
/// LayerNorm calls it.
inline int64_t row_isqrt(int64_t v) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return isqrt(v);
}

/// Pipeline depths of the row unit's stages: a multiplier (the mean by a constant reciprocal,
/// the variance product) and the square root, one digit per cycle.
constexpr int ROW_MUL_DEPTH = 4;
constexpr int LN_ISQRT_DEPTH = ISQRT_DIGITS;

/// Bits of the widest LayerNorm row (channels < 2^IVIT_W_LN_COLS); a generated project may
/// narrow it.
#ifndef IVIT_W_LN_COLS
#define IVIT_W_LN_COLS 16
#endif
/// Signed widths of the row unit's variance product: the mean floor(16 sum / COLS) (input
/// bits + 4) and t = 32 sum - COLS mean = 16 sum + (16 sum - COLS mean), |t| <= COLS (2^(W+3)
/// + 1) (input bits + 5 + channel bits).
constexpr int LN_MEAN_W = IVIT_W_LN_IN + 4 > 64 ? 64 : IVIT_W_LN_IN + 4;
constexpr int LN_T_W = IVIT_W_LN_IN + 5 + IVIT_W_LN_COLS > 64 ? 64 : IVIT_W_LN_IN + 5 + IVIT_W_LN_COLS;

/// Helper-multiplier role of the row unit (see types.h): mean * t, the one runtime product
/// of the variance sum 256 sxx - mean t (= sum (16 x - mean)^2 exactly).
inline int64_t lane_row_ln_var(int64_t mean, int64_t t) {
#pragma HLS INLINE
    role_widths<LN_MEAN_W, LN_T_W>(mean, t);
    return pool_vec_long(mean, t);
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
