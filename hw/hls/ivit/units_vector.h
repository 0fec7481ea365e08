// Engine units on the vector lanes and the row unit: Shiftmax, GELU and residual add when not
// fused into a GEMM, and I-LayerNorm. Included by layers.h.
#ifndef IVIT_UNITS_VECTOR_H
#define IVIT_UNITS_VECTOR_H

#include "layers_common.h"

namespace ivit {
namespace layer {

/// Shiftmax of one row held in `s` (max `top` known) into `p`, through the row unit.
template <class SM, typename TS, typename TP>
void shiftmax_row(const TS* s, TP* p, int len, int64_t top, int64_t* ebuf, int it, long trace) {
    const int k = static_cast<int>(SM::K[it]);
    const int64_t i0 = SM::I0[it];
    const int n = static_cast<int>(SM::N[it]);
    const int m_bits = shiftmax_div_bits(i0, n);
    const int shift = m_bits - static_cast<int>(SM::OUT_BITS[it] - 1);
    int64_t total = 0;
sm_exp:
    for (int j = 0; j < len; ++j) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=16 max=1024
        ebuf[j] = shift_exp(shl(s[j] - top, k), i0, n, exp_form(SM::EXP_FORM));
        total += ebuf[j];
    }
    const int64_t factor = (int64_t(1) << m_bits) / total;  // row unit: once per row
sm_norm:
    for (int j = 0; j < len; ++j) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=16 max=1024
        const int64_t ef = lane_sm_factor(ebuf[j], factor);
        p[j] = static_cast<TP>((ef + (int64_t(1) << (shift - 1))) >> shift);
        eng::trace_put(trace, j, p[j]);
    }
}

/// Shiftmax over ROWS rows of LEN logits (not fused): max pass, exp pass, normalize pass.
template <class CFG>
void shiftmax(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
    static int64_t ebuf[CFG::LEN];
sm_rows:
    for (int t = 0; t < nb * CFG::ROWS; ++t) {
        const typename CFG::in_t* row = x + static_cast<long>(t) * CFG::LEN;
        int64_t top = row[0];
    sm_max:
        for (int j = 1; j < CFG::LEN; ++j) {
#pragma HLS PIPELINE II=1
            if (row[j] > top) top = row[j];
        }
        shiftmax_row<CFG>(row, y + static_cast<long>(t) * CFG::LEN, CFG::LEN, top, ebuf, it, -1);
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, CFG::LEN, 3, CFG::L) + eng::ROW_LATENCY);
}

/// GELU over ROWS tokens of COLS channels (not fused), LANES elements per cycle.
template <class CFG>
void gelu(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
    const int N = nb * CFG::ROWS * CFG::COLS;
    if (CFG::FORM == GELU_ROWMAX) {
        // the paper's row-max form: its own pass structure (two passes, a division per element)
        shift_gelu(x, y, nb * CFG::ROWS, CFG::COLS, static_cast<int>(CFG::K[it]), CFG::I0[it],
                   static_cast<int>(CFG::N[it]), ivit::GELU_ROWMAX, CFG::M[it],
                   static_cast<int>(CFG::E[it]), static_cast<int>(CFG::OUT_BITS[it]));
    } else {
        const eng::GeluUnit<typename GeluTable<CFG>::type> g = gelu_unit<CFG>(it);
    gelu_elems:
        for (int i = 0; i < N; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            y[i] = static_cast<typename CFG::out_t>(g(x[i]));
        }
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, CFG::COLS,
                                                  CFG::FORM == GELU_ROWMAX ? 2 : 1, CFG::L));
}

/// Residual add (not fused): branch (per-channel multiplier) + residual stream.
template <class CFG>
void residual_add(const typename CFG::in_t* branch, const typename CFG::in1_t* residual,
                  typename CFG::out_t* out, int it, int nb) {
res_rows:
    for (int t = 0; t < nb * CFG::ROWS; ++t) {
    res_cols:
        for (int c = 0; c < CFG::COLS; ++c) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            const int i = t * CFG::COLS + c;
            // the epilogue lanes' requant multipliers (shared roles, see types.h)
            const int64_t s =
                round_shift(lane_epi_requant(branch[i], CFG::m_a[it][c]), CFG::e_a[it][c]) +
                round_shift(lane_epi_residual(residual[i], CFG::M_B[it]),
                            static_cast<int>(CFG::E_B[it]));
            out[i] = static_cast<typename CFG::out_t>(saturate(s, static_cast<int>(CFG::OUT_BITS[it])));
        }
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, CFG::COLS, 1, CFG::L));
}

/// I-LayerNorm over ROWS rows of each image (ROWS = 1: the class token only, row 0 of the
/// image's IN_ROWS input rows): one statistics pass (sum and sum of squares; the variance
/// about the floor mean follows exactly from both), the row unit (mean by a constant
/// reciprocal, isqrt, one division), one normalize pass.
template <class CFG>
void layernorm(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
    constexpr int COLS = CFG::COLS;
    const int shift = LN_RECIP_SHIFT - LN_FRAC_BITS;
    const int64_t half = int64_t(1) << (shift - 1);
ln_rows:
    for (int t = 0; t < nb * CFG::ROWS; ++t) {
        const int n = t / CFG::ROWS;
        const typename CFG::in_t* row =
            x + (static_cast<long>(n) * CFG::IN_ROWS + t - n * CFG::ROWS) * COLS;
        int64_t sx = 0, sxx = 0;
    ln_stats:
        for (int c = 0; c < COLS; ++c) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            sx += row[c];
            sxx += lane_ln_square(row[c]);
        }
        // y_c = 16 x_c - mean: sum y^2 = 256 sxx - 32 mean sx + COLS mean^2 (exact)
        const int64_t mean = eng::div_const(sx * LN_MEAN_SCALE, CFG::DIV_MUL, CFG::DIV_SHIFT,
                                            CFG::DIV_OFF, CFG::DIV_B);
        const int64_t var = 256 * sxx - 32 * mean * sx + COLS * mean * mean;
        const int64_t sd = isqrt(var);
        const int64_t recip = sd > 0 ? (int64_t(1) << LN_RECIP_SHIFT) / sd : 0;
        typename CFG::out_t* o = y + static_cast<long>(t) * COLS;
    ln_out:
        for (int c = 0; c < COLS; ++c) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            const int64_t d = row[c] * LN_MEAN_SCALE - mean;
            const int64_t nv = (lane_ln_norm(d, recip) + half) >> shift;
            o[c] = static_cast<typename CFG::out_t>(
                requant_product(lane_ln_requant(nv, CFG::m[it][c]), CFG::e[it][c],
                                static_cast<int>(CFG::OUT_BITS[it]), CFG::bias[it][c]));
        }
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, COLS, 2, CFG::L) + eng::ROW_LATENCY);
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_UNITS_VECTOR_H
