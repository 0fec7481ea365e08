// Engine units on the vector lanes and the row unit: Shiftmax, GELU and residual add when not
// fused into a GEMM, and I-LayerNorm. Included by layers.h.
//
// Every activation buffer is split into R row banks of one element per word, so a vector unit
// steps L consecutive rows of ONE column per cycle (L <= R: one bank each): groups of L rows,
// each swept column by column. A per-channel constant is then one scalar read a cycle.
#ifndef IVIT_UNITS_VECTOR_H
#define IVIT_UNITS_VECTOR_H

#include "layers_common.h"

namespace ivit {
namespace layer {

// -- cycle formulas (mirrored in ivit_hls/ops/vector_cost.py) ---------------------------------------
/// Signed width of ShiftExp's remainder path in the Shiftmax lanes: 64 I0 < 2^(W_EXP + 5),
/// since I0 << N (N >= 1) fits the exponential's IVIT_W_EXP bits.
constexpr int SM_EXP_Q_W = IVIT_W_EXP + 5 > 64 ? 64 : IVIT_W_EXP + 5;
/// The row unit's LayerNorm pipeline: the mean (a multiplication by a constant reciprocal),
/// the variance product, the square root (one digit per cycle), the reciprocal's division.
constexpr int LN_ROW_DEPTH = 2 * ROW_MUL_DEPTH + LN_ISQRT_DEPTH + eng::ROW_DIV_DEPTH;

/// One flat pipelined loop over `rows` rows of `len` columns, `lanes` rows of one column per
/// cycle (ceil(rows / lanes) groups of `len` steps).
inline int64_t group_loop_cycles(int rows, int len, int lanes) {
    return eng::cdiv(rows, lanes) * len + eng::VEC_DEPTH;
}
/// The row unit's first step in a LayerNorm window: the last statistics of the group before
/// are written VEC_DEPTH cycles after the window before ends.
constexpr int LN_ROW_AT = eng::VEC_DEPTH;
/// Steps of a LayerNorm window: a group's statistics sweep (COLS columns), or long enough
/// that the row unit's LANES rows (from LN_ROW_AT on) are through its pipeline, and through
/// the vector pipeline, before the window ends.
constexpr int ln_window(int cols, int lanes) {
    return cols > LN_ROW_AT + lanes + LN_ROW_DEPTH + eng::VEC_DEPTH
               ? cols
               : LN_ROW_AT + lanes + LN_ROW_DEPTH + eng::VEC_DEPTH;
}
/// The first window of a LayerNorm whose statistics its producer gathered: only the row unit
/// for group 0, long enough that its rows clear the row unit and the vector pipeline.
constexpr int ln_first_window(int lanes) {
    return LN_ROW_AT + lanes + LN_ROW_DEPTH + eng::VEC_DEPTH;
}
/// I-LayerNorm. Merged (every token): one loop of G + 2 windows (G = ceil(rows / L)): window
/// w runs the statistics of group w, the row unit for group w - 1 and the normalize of group
/// w - 2; the last window stops after its normalize sweep; the deepest path a statistics step
/// and the row unit. With the statistics from the producer's drain (`stats`): a short first
/// window (the row unit for group 0), then G - 1 windows (the row unit for group w, the
/// normalize of group w - 1) and the last normalize sweep. Otherwise (the class tokens only,
/// each in one row bank): statistics one element per cycle (none with `stats`), the row unit
/// (one row per cycle), normalize one element per cycle.
inline int64_t layernorm_cycles(int rows, int cols, int lanes, bool merged, bool stats) {
    const int64_t sweep = static_cast<int64_t>(rows) * cols + eng::VEC_DEPTH;
    if (merged && stats)
        return ln_first_window(lanes) + (eng::cdiv(rows, lanes) - 1) * ln_window(cols, lanes) +
               cols + eng::VEC_DEPTH + LN_ROW_DEPTH;
    if (merged)
        return (eng::cdiv(rows, lanes) + 1) * ln_window(cols, lanes) + cols + eng::VEC_DEPTH +
               LN_ROW_DEPTH;
    return (stats ? 1 : 2) * sweep + rows + LN_ROW_DEPTH;
}
/// Shiftmax (not fused): max, exponentials and their sum, the divisions (one row per
/// cycle), exponentials again and normalize.
inline int64_t shiftmax_cycles(int rows, int len, int lanes) {
    return 3 * group_loop_cycles(rows, len, lanes) + rows + eng::ROW_DIV_DEPTH;
}
/// GELU (not fused): element-wise forms L per cycle; the row-max form one element per cycle,
/// two loops per row, the second with a divider in its pipeline.
inline int64_t gelu_cycles(int rows, int cols, int lanes, bool rowmax) {
    return rowmax ? static_cast<int64_t>(rows) * (2 * (cols + eng::VEC_DEPTH) + eng::ROW_DIV_DEPTH)
                  : group_loop_cycles(rows, cols, lanes);
}

/// Walks a flat loop over groups of L rows, column by column: step (g, j) is column j of
/// rows g*L .. g*L + L - 1.
template <int LEN>
struct GroupWalk {
    int g = 0, j = 0;
    bool first() const { return j == 0; }
    bool last() const { return j == LEN - 1; }
    void next() {
        if (j + 1 < LEN) {
            ++j;
        } else {
            j = 0;
            ++g;
        }
    }
};

/// ShiftExp of one logit s against its row maximum top, u = -((top - s) << k) (top >= s).
template <class SM>
inline int64_t sm_exp(int64_t s, int64_t top, int k, int64_t i0, int n) {
#pragma HLS INLINE
    return shift_exp<SM_EXP_Q_W>(-((top - s) << k), i0, n, exp_form(SM::EXP_FORM));
}

/// Shiftmax over ROWS rows of LEN logits (not fused), as four flat loops over all rows of
/// the batch: row maxima; exponentials and their sums; 2^M // sum through the row unit's
/// divider, one row per cycle; exponentials again (no row buffer of them) and normalize.
/// L rows of one column per cycle in the group loops. MAXR (the batch's rows) is a template
/// parameter so that builds of another IVIT_MAX_BATCH name other per-row arrays (g++ makes
/// the static of a template function one symbol in the whole process).
template <class CFG, int MAXR = IVIT_MAX_BATCH * CFG::ROWS>
void shiftmax(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
#pragma HLS INLINE
    constexpr int LEN = CFG::LEN, L = CFG::L;
    typedef GroupWalk<LEN> Walk;
    static int64_t sm_top[MAXR], sm_total[MAXR], sm_factor[MAXR];  // per-row values
#pragma HLS ARRAY_PARTITION variable=sm_top cyclic factor=L dim=1
#pragma HLS ARRAY_PARTITION variable=sm_total cyclic factor=L dim=1
#pragma HLS ARRAY_PARTITION variable=sm_factor cyclic factor=L dim=1
    const int rows = nb * CFG::ROWS;
    const int steps = static_cast<int>(eng::cdiv(rows, L)) * LEN;
    const int k = static_cast<int>(CFG::K[it]);
    const int64_t i0 = CFG::I0[it];
    const int n = static_cast<int>(CFG::N[it]);
    const int m_bits = shiftmax_div_bits(i0, n);
    const int shift = m_bits - static_cast<int>(CFG::OUT_BITS[it] - 1);
    {
        Walk w;
        int64_t top[L];
#pragma HLS ARRAY_PARTITION variable=top complete
    sm_max:
        for (int i = 0; i < steps; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int t = w.g * L + l;
                if (t < rows) {
                    const int64_t v = x[static_cast<long>(t) * CFG::LDX + w.j];
                    top[l] = w.first() || v > top[l] ? v : top[l];
                    if (w.last()) sm_top[t] = top[l];
                }
            }
            w.next();
        }
    }
    {
        Walk w;
        int64_t total[L];
#pragma HLS ARRAY_PARTITION variable=total complete
    sm_exp_sum:
        for (int i = 0; i < steps; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int t = w.g * L + l;
                if (t < rows) {
                    const int64_t ev = sm_exp<CFG>(x[static_cast<long>(t) * CFG::LDX + w.j], sm_top[t], k, i0, n);
                    total[l] = (w.first() ? 0 : total[l]) + ev;
                    if (w.last()) sm_total[t] = total[l];
                }
            }
            w.next();
        }
    }
sm_div:
    for (int t = 0; t < rows; ++t) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
        sm_factor[t] = row_div(int64_t(1) << m_bits, sm_total[t]);  // the row unit's divider
    }
    {
        Walk w;
    sm_norm:
        for (int i = 0; i < steps; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int t = w.g * L + l;
                if (t < rows) {
                    const int64_t ef = lane_sm_factor(
                        sm_exp<CFG>(x[static_cast<long>(t) * CFG::LDX + w.j], sm_top[t], k, i0, n), sm_factor[t]);
                    y[static_cast<long>(t) * CFG::LDY + w.j] =
                        static_cast<typename CFG::out_t>((ef + (int64_t(1) << (shift - 1))) >> shift);
                }
            }
            w.next();
        }
    }
    eng::account(CFG::IDX[it], shiftmax_cycles(rows, LEN, L));
}

/// GELU over ROWS tokens of COLS channels (not fused), L rows of one column per cycle (one
/// flat loop over the groups' columns); the paper's row-max form runs the plain kernel, one
/// element per cycle, and is charged as such.
template <class CFG>
void gelu(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
#pragma HLS INLINE
    constexpr int COLS = CFG::COLS, L = CFG::L;
    const int rows = nb * CFG::ROWS;
    if constexpr (CFG::FORM == GELU_ROWMAX) {
        // the paper's row-max form: a max loop, then a loop with a division per element
        shift_gelu(x, y, rows, COLS, static_cast<int>(CFG::K[it]), CFG::I0[it],
                   static_cast<int>(CFG::N[it]), ivit::GELU_ROWMAX, CFG::M[it],
                   static_cast<int>(CFG::E[it]), static_cast<int>(CFG::OUT_BITS[it]),
                   static_cast<const int8_t*>(nullptr), 8, CFG::LDX, CFG::LDY);
    } else {
        const eng::GeluUnit<typename GeluTable<CFG>::type> g = gelu_unit<CFG>(it);
        GroupWalk<COLS> w;
        const int steps = static_cast<int>(eng::cdiv(rows, L)) * COLS;
    gelu_groups:
        for (int i = 0; i < steps; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int t = w.g * L + l;
                if (t < rows)   // only this slot's GELU form is built
                    y[static_cast<long>(t) * CFG::LDY + w.j] = static_cast<typename CFG::out_t>(
                        g.template eval<gelu_form(CFG::FORM)>(x[static_cast<long>(t) * CFG::LDX + w.j]));
            }
            w.next();
        }
    }
    eng::account(CFG::IDX[it], gelu_cycles(rows, COLS, L, CFG::FORM == GELU_ROWMAX));
}

/// Residual add (not fused): branch (per-channel multiplier) + residual stream, L rows of one
/// column per cycle (one flat loop over the groups' columns).
template <class CFG>
void residual_add(const typename CFG::in_t* branch, const typename CFG::in1_t* residual,
                  typename CFG::out_t* out, int it, int nb) {
#pragma HLS INLINE
    constexpr int COLS = CFG::COLS, L = CFG::L;
    const int rows = nb * CFG::ROWS;
    const int steps = static_cast<int>(eng::cdiv(rows, L)) * COLS;
    GroupWalk<COLS> w;
res_groups:
    for (int i = 0; i < steps; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
        const int c = w.j;
        for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
            const int t = w.g * L + l;
            if (t < rows) {
                // the epilogue lanes' requant multipliers (shared roles, see types.h)
                const int64_t s =
                    round_shift(lane_epi_requant(branch[static_cast<long>(t) * CFG::LDX + c],
                                                 CFG::m_a[it][c]), CFG::e_a[it][c]) +
                    round_shift(lane_epi_residual(residual[static_cast<long>(t) * CFG::LDX1 + c],
                                                  CFG::M_B[it]),
                                static_cast<int>(CFG::E_B[it]));
                out[static_cast<long>(t) * CFG::LDY + c] = static_cast<typename CFG::out_t>(
                    saturate(s, static_cast<int>(CFG::OUT_BITS[it])));
            }
        }
        w.next();
    }
    eng::account(CFG::IDX[it], group_loop_cycles(rows, COLS, L));
}

/// The row unit's LayerNorm work for one row: the mean by a constant reciprocal, the variance
/// sum with one product, the square root digit by digit (row_isqrt), 2^46 // sd through the
/// row unit's divider (one division a row).
template <class CFG>
inline void ln_row(int64_t sx, int64_t sxx, int64_t& mean, int64_t& recip) {
#pragma HLS INLINE
    mean = eng::div_const(sx * LN_MEAN_SCALE, CFG::DIV_MUL, CFG::DIV_SHIFT, CFG::DIV_OFF,
                          CFG::DIV_B);
    // sum (16 x_c - mean)^2 = 256 sxx - 32 mean sx + COLS mean^2 = 256 sxx - mean t
    const int64_t var = 256 * sxx - lane_row_ln_var(mean, 32 * sx - CFG::COLS * mean);
    const int64_t sd = row_isqrt(var);
    const int64_t q = row_div(int64_t(1) << LN_RECIP_SHIFT, sd > 0 ? sd : 1);
    recip = sd > 0 ? q : 0;
}

/// LayerNorm normalize of one element x of channel c.
template <class CFG>
inline typename CFG::out_t ln_norm(int64_t x, int c, int64_t mean, int64_t recip, int it) {
#pragma HLS INLINE
    constexpr int shift = LN_RECIP_SHIFT - LN_FRAC_BITS;
    const int64_t d = x * LN_MEAN_SCALE - mean;
    const int64_t nv = (ln_norm_product(d, recip) + (int64_t(1) << (shift - 1))) >> shift;
    return static_cast<typename CFG::out_t>(
        requant_product(lane_ln_requant(nv, CFG::m[it][c]), CFG::e[it][c],
                        static_cast<int>(CFG::OUT_BITS[it]), CFG::bias[it][c]));
}

/// I-LayerNorm over ROWS rows of each image (ROWS = 1: the class token only, row 0 of the
/// image's IN_ROWS input rows). Every token (ROWS = IN_ROWS): one merged pipelined loop of
/// G + 2 windows of WIN steps over groups of L rows; window w runs the statistics of group w
/// (L rows of column j at step j), the row unit for group w - 1 (one row a step from
/// LN_ROW_AT on) and the normalize of group w - 2 (L rows of column j at step j), so each
/// per-row value is read more cycles after its write than the writer's pipeline is deep. The
/// class token only (one row bank per token): statistics, the row unit, normalize, one
/// element per cycle, one loop after the other. STATS: the unit before (patch_embed or
/// linear_residual with STATS) left every input row's sum and sum of squares in sx / sxx
/// (eng::row_sums_at: one read of any bank per row), so there is no
/// statistics sweep: window w runs the row unit for group w and the normalize of group
/// w - 1, and window 0 is only as long as the row unit needs. MAXR: as shiftmax's.
template <class CFG, bool STATS = false, int MAXR = IVIT_MAX_BATCH * CFG::ROWS>
void layernorm(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb,
               const int64_t (*sx)[CFG::EL] = nullptr, const int64_t (*sxx)[CFG::EL] = nullptr) {
#pragma HLS INLINE
    constexpr int COLS = CFG::COLS, L = CFG::L;
    constexpr bool MERGED = CFG::ROWS == CFG::IN_ROWS;
    constexpr int WIN = ln_window(COLS, L);
    constexpr int WIN0 = STATS ? ln_first_window(L) : WIN;  // window 0
    constexpr int LAG = STATS ? 0 : 1;  // windows from a group's statistics to its row unit
    // steps from a row's last statistics write to its row-unit read, and from its row-unit
    // write to its first normalize read (the shortest window is the first)
    constexpr int DIST_STATS = WIN - COLS + 1 + LN_ROW_AT;
    constexpr int DIST_ROW = WIN0 - LN_ROW_AT - L + 1;
    static_assert(DIST_STATS > eng::VEC_DEPTH && DIST_ROW > eng::VEC_DEPTH + LN_ROW_DEPTH,
                  "LayerNorm window shorter than its pipelines");
    static int64_t ln_sx[MAXR], ln_sxx[MAXR], ln_mean[MAXR], ln_recip[MAXR];  // per-row values
#pragma HLS ARRAY_PARTITION variable=ln_sx cyclic factor=L dim=1
#pragma HLS ARRAY_PARTITION variable=ln_sxx cyclic factor=L dim=1
#pragma HLS ARRAY_PARTITION variable=ln_mean cyclic factor=L dim=1
#pragma HLS ARRAY_PARTITION variable=ln_recip cyclic factor=L dim=1
    const int rows = nb * CFG::ROWS;
    if (MERGED) {
        const int groups = static_cast<int>(eng::cdiv(rows, L));
        int64_t ax[L], axx[L];  // the statistics lanes' running sums
#pragma HLS ARRAY_PARTITION variable=ax complete
#pragma HLS ARRAY_PARTITION variable=axx complete
        int w = 0, j = 0;  // window, step
        const int trips = STATS ? WIN0 + (groups - 1) * WIN + COLS : (groups + 1) * WIN + COLS;
    ln_merged:
        for (int i = 0; i < trips; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
#pragma HLS DEPENDENCE variable=ln_sx type=inter direction=RAW dependent=true distance=DIST_STATS
#pragma HLS DEPENDENCE variable=ln_sxx type=inter direction=RAW dependent=true distance=DIST_STATS
#pragma HLS DEPENDENCE variable=ln_mean type=inter direction=RAW dependent=true distance=DIST_ROW
#pragma HLS DEPENDENCE variable=ln_recip type=inter direction=RAW dependent=true distance=DIST_ROW
            // statistics of group w
            if constexpr (!STATS) {
                if (w < groups && j < COLS) {
                    for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                        const int t = w * L + l;
                        if (t < rows) {
                            const int64_t v = x[static_cast<long>(t) * CFG::LDX + j];
                            ax[l] = (j == 0 ? 0 : ax[l]) + v;
                            axx[l] = (j == 0 ? 0 : axx[l]) + lane_ln_square(v);
                            if (j == COLS - 1) {
                                ln_sx[t] = ax[l];
                                ln_sxx[t] = axx[l];
                            }
                        }
                    }
                }
            }
            // the row unit for group w - LAG, one row a step
            if (w >= LAG && w - LAG < groups && j >= LN_ROW_AT && j < LN_ROW_AT + L) {
                const int t = (w - LAG) * L + (j - LN_ROW_AT);
                if (t < rows) {
                    if constexpr (STATS)
                        ln_row<CFG>(eng::row_sums_at<CFG::R, CFG::EL>(sx, t),
                                    eng::row_sums_at<CFG::R, CFG::EL>(sxx, t), ln_mean[t],
                                    ln_recip[t]);
                    else
                        ln_row<CFG>(ln_sx[t], ln_sxx[t], ln_mean[t], ln_recip[t]);
                }
            }
            // normalize of group w - LAG - 1
            if (w >= LAG + 1 && j < COLS) {
                for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                    const int t = (w - LAG - 1) * L + l;
                    if (t < rows)
                        y[static_cast<long>(t) * CFG::LDY + j] = ln_norm<CFG>(
                            x[static_cast<long>(t) * CFG::LDX + j], j, ln_mean[t], ln_recip[t], it);
                }
            }
            if (j + 1 < (w == 0 ? WIN0 : WIN)) {
                ++j;
            } else {
                j = 0;
                ++w;
            }
        }
    } else {
        if constexpr (!STATS) {
            int64_t ax = 0, axx = 0;
        ln_stats:
            for (int i = 0; i < rows * COLS; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
                const int t = i / COLS, c = i - t * COLS;
                const int64_t v = x[(static_cast<long>(t) * CFG::IN_ROWS) * CFG::LDX + c];
                ax = (c == 0 ? 0 : ax) + v;
                axx = (c == 0 ? 0 : axx) + lane_ln_square(v);
                if (c == COLS - 1) {
                    ln_sx[t] = ax;
                    ln_sxx[t] = axx;
                }
            }
        }
    ln_row_unit:
        for (int t = 0; t < rows; ++t) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            if constexpr (STATS) {
                const int r = t * CFG::IN_ROWS;  // the token's input row
                ln_row<CFG>(eng::row_sums_at<CFG::R, CFG::EL>(sx, r),
                            eng::row_sums_at<CFG::R, CFG::EL>(sxx, r), ln_mean[t], ln_recip[t]);
            } else {
                ln_row<CFG>(ln_sx[t], ln_sxx[t], ln_mean[t], ln_recip[t]);
            }
        }
    ln_normalize:
        for (int i = 0; i < rows * COLS; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            const int t = i / COLS, c = i - t * COLS;
            y[static_cast<long>(t) * CFG::LDY + c] = ln_norm<CFG>(
                x[(static_cast<long>(t) * CFG::IN_ROWS) * CFG::LDX + c], c, ln_mean[t], ln_recip[t], it);
        }
    }
    eng::account(CFG::IDX[it], layernorm_cycles(rows, COLS, L, MERGED, STATS));
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_UNITS_VECTOR_H
