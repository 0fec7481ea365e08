// ShiftGELU: GELU(x) = x * Phi(x*S) in integers, then a dyadic requant to the output scale.
// Forms (spec: shift.shift_gelu, gelu.gelu_table):
//   GELU_SHIFT (default): Phi(-y) ~ 2^-(1 + 1.09375 y + 0.5625 y^2), y = |x| S on a 2^-10 grid
//     from one per-layer reciprocal round(2^20 / I0); one squarer, shifts, adds, no per-element division.
//   GELU_SYMMETRIC / GELU_ROWMAX: sigma(1.702 x) with the paper's ShiftExp and one exact
//     division per element (the previous default and the paper's row-max form).
//   GELU_TABLE: a per-layer table of correctly rounded GELU at the output scale.
#ifndef IVIT_SHIFTGELU_H
#define IVIT_SHIFTGELU_H

#include "shiftexp.h"

namespace ivit {

/// Fractional bits of the fixed-point sigmoid (sigma in [0, 2^15]).
constexpr int GELU_SIGMOID_BITS = 15;
/// Shift form: fractional bits of y, cap of y (2^13 - 1), extra bits of the reciprocal.
constexpr int GELU_Y_FRAC = 10;
constexpr int64_t GELU_Y_MAX = (int64_t(1) << 13) - 1;
constexpr int GELU_R_SHIFT = 10;
/// Signed operand widths of the element multipliers: round(2^20 / I0) for I0 >= 1, y <= 2^13 - 1,
/// sigma <= 2^15, and the core x * sigma that the GELU requant multiplies.
constexpr int GELU_R_BITS = 22;
constexpr int GELU_Y_BITS = 14;
constexpr int GELU_SIGMA_W = 17;
constexpr int GELU_CORE_W = IVIT_W_GELU_IN + GELU_SIGMA_W > 64 ? 64 : IVIT_W_GELU_IN + GELU_SIGMA_W;

/// Helper-multiplier roles of GELU in an epilogue lane (see types.h): |x| * r, y * y,
/// x * sigma and the requant of that core.
inline int64_t lane_gelu_abs_r(int64_t ax, int64_t r) {
#pragma HLS INLINE
    role_widths<IVIT_W_GELU_IN + 1, GELU_R_BITS>(ax, r);
    return pool_epi_narrow(ax, r);
}
inline int64_t lane_gelu_yy(int64_t y) {
#pragma HLS INLINE
    role_widths<GELU_Y_BITS, GELU_Y_BITS>(y, y);
    return pool_epi_narrow(y, y);
}
inline int64_t lane_gelu_x_sigma(int64_t x, int64_t sigma) {
#pragma HLS INLINE
    role_widths<IVIT_W_GELU_IN, GELU_SIGMA_W>(x, sigma);
    return pool_epi_narrow(x, sigma);
}
inline int64_t lane_gelu_requant(int64_t core, int64_t m) {
#pragma HLS INLINE
    role_widths<GELU_CORE_W, IVIT_W_M>(core, m);
    return pool_epi_wide(core, m);
}

/// GELU form codes (the generated code passes these).
enum GeluForm { GELU_SYMMETRIC = 0, GELU_ROWMAX = 1, GELU_SHIFT = 2, GELU_TABLE = 3 };

/// 1.6875 * x with shifts (the shifter form of GELU's 1.702).
inline int64_t times_1702(int64_t xs) {
#pragma HLS INLINE
    return xs + (xs >> 1) + (xs >> 3) + (xs >> 4);
}

/// Per-layer reciprocal of the shift form: round(2^20 / I0) (spec: gelu.gelu_recip).
/// Computed once per layer, outside the element loop.
inline int64_t gelu_recip(int64_t i0) {
#pragma HLS INLINE
    return ((int64_t(1) << (GELU_Y_FRAC + GELU_R_SHIFT)) + (i0 >> 1)) / i0;
}

/// Shift-form core of one element: x * sigma_q, sigma_q ~ 2^15 Phi(x S), with y = |x| S on a
/// 2^-10 grid. Needs (|x| * r) << k < 2^62.
inline int64_t shift_gelu_shift(int64_t x, int k, int64_t r) {
#pragma HLS INLINE
    const int64_t ax = x < 0 ? -x : x;
    const int64_t axr = lane_gelu_abs_r(ax, r);
    int64_t y = ((axr << k) + (int64_t(1) << (GELU_R_SHIFT - 1))) >> GELU_R_SHIFT;
    if (y > GELU_Y_MAX) y = GELU_Y_MAX;
    const int64_t y2 = lane_gelu_yy(y);
    const int64_t h = (int64_t(1) << GELU_Y_FRAC) + y + (y >> 4) + (y >> 5) +
                      (y2 >> (GELU_Y_FRAC + 1)) + (y2 >> (GELU_Y_FRAC + 4));
    const int64_t q = h >> GELU_Y_FRAC;
    const int64_t g = h & ((int64_t(1) << GELU_Y_FRAC) - 1);
    const int64_t mant = exp2_neg_frac(g, int64_t(1) << GELU_Y_FRAC, EXP_CORRECTED);
    const int sh = static_cast<int>(q + GELU_Y_FRAC > 62 ? 62 : q + GELU_Y_FRAC);
    const int64_t p = (mant << GELU_SIGMOID_BITS) >> sh;  // ~ 2^15 Phi(-|a|), <= 2^14 + 16
    const int64_t sigma = x >= 0 ? (int64_t(1) << GELU_SIGMOID_BITS) - p : p;
    return lane_gelu_x_sigma(x, sigma);
}

/// Symmetric ShiftGELU core of one element: x * sigma_q, sigma_q = (num << 15) // den.
inline int64_t shift_gelu_symmetric(int64_t x, int k, int64_t i0, int n) {
#pragma HLS INLINE
    const int64_t z = times_1702(shl(x, k));
    const int64_t t = shift_exp(z < 0 ? z : -z, i0, n, EXP_PAPER);
    const int64_t e0 = i0 << n;
    const int64_t num = z >= 0 ? e0 : t;
    const int64_t sigma = (num << GELU_SIGMOID_BITS) / (e0 + t);  // both positive: floor
    return lane_gelu_x_sigma(x, sigma);
}

/// Core of one element for the element-wise forms (GELU_SHIFT or GELU_SYMMETRIC).
inline int64_t shift_gelu_core(int64_t x, int k, int64_t i0, int n, int form) {
#pragma HLS INLINE
    if (form == GELU_SHIFT) return shift_gelu_shift(x, k, gelu_recip(i0));
    return shift_gelu_symmetric(x, k, i0, n);
}

/// GELU layer over `rows` tokens of `cols` channels: y = sat(requant(core, m, e)), or for
/// GELU_TABLE y = table[x + 2^(in_bits-1)] (the table is at the output scale already).
template <typename TI, typename TO, typename TT = int8_t>
void shift_gelu(const TI* x, TO* y, int rows, int cols, int k, int64_t i0, int n, int form,
                int64_t m, int e, int out_bits, const TT* table = nullptr, int in_bits = 8,
                int ldx = 0, int ldy = 0) {
    const int64_t recip = form == GELU_SHIFT ? gelu_recip(i0) : 0;  // once per layer
    const int64_t half = int64_t(1) << (in_bits - 1);
gelu_rows:
    for (int t = 0; t < rows; ++t) {
        // rows `ldx` / `ldy` apart in buffers wider than the tensor (0: `cols`)
        const TI* row = x + static_cast<int64_t>(t) * (ldx ? ldx : cols);
        TO* out = y + static_cast<int64_t>(t) * (ldy ? ldy : cols);
        if (form == GELU_TABLE) {
        gelu_table:
            for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
                out[c] = static_cast<TO>(table[static_cast<int64_t>(row[c]) + half]);
            }
        } else if (form == GELU_SHIFT) {
        gelu_shift:
            for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
                out[c] = static_cast<TO>(
                    requant_sat(shift_gelu_shift(row[c], k, recip), m, e, out_bits));
            }
        } else if (form == GELU_SYMMETRIC) {
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
            const int64_t floor_term = shift_exp(-top, i0, n, EXP_PAPER);
        gelu_rowmax:
            for (int c = 0; c < cols; ++c) {
#pragma HLS PIPELINE II=1
                const int64_t z = times_1702(shl(row[c], k));
                const int64_t num = shift_exp(z - top, i0, n, EXP_PAPER);
                const int64_t sigma = (num << GELU_SIGMOID_BITS) / (num + floor_term);
                out[c] = static_cast<TO>(requant_sat(row[c] * sigma, m, e, out_bits));
            }
        }
    }
}

}  // namespace ivit

#endif  // IVIT_SHIFTGELU_H
