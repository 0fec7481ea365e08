// Engine units on the vector lanes and the row unit: Shiftmax, GELU and residual add when not
// fused into a GEMM, and I-LayerNorm. Included by layers.h.
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

/// One flat pipelined loop over `rows` rows of `len` elements, `lanes` elements per cycle
/// (each row in ceil(len / lanes) chunks).
inline int64_t chunk_loop_cycles(int rows, int len, int lanes) {
    return static_cast<int64_t>(rows) * eng::cdiv(len, lanes) + eng::VEC_DEPTH;
}
/// Rows between the statistics and the normalize of the merged LayerNorm loop: a row's mean
/// and reciprocal are written VEC_DEPTH + LN_ROW_DEPTH cycles after its last statistics chunk
/// starts, and read (LAG - 1) * chunks + 1 iterations later, with a vector pipeline's margin.
constexpr int ln_lag(int chunks) {
    return (2 * eng::VEC_DEPTH + LN_ROW_DEPTH + chunks - 1) / chunks + 1;
}
/// I-LayerNorm. Merged (every token): (rows + LAG) * chunks iterations, the deepest path a
/// statistics chunk and the row unit. Otherwise (the class token): statistics (L lanes), the
/// row unit (one row per cycle), normalize (L lanes), one loop after the other.
inline int64_t layernorm_cycles(int rows, int cols, int lanes, bool merged) {
    const int chunks = static_cast<int>(eng::cdiv(cols, lanes));
    if (merged)
        return static_cast<int64_t>(rows + ln_lag(chunks)) * chunks + eng::VEC_DEPTH + LN_ROW_DEPTH;
    return 2 * chunk_loop_cycles(rows, cols, lanes) + rows + LN_ROW_DEPTH;
}
/// Shiftmax (not fused): max, exponentials and their sum, the divisions (one row per
/// cycle), exponentials again and normalize.
inline int64_t shiftmax_cycles(int rows, int len, int lanes) {
    return 3 * chunk_loop_cycles(rows, len, lanes) + rows + eng::ROW_DIV_DEPTH;
}
/// GELU (not fused): element-wise forms L per cycle; the row-max form one element per cycle,
/// two loops per row, the second with a divider in its pipeline.
inline int64_t gelu_cycles(int rows, int cols, int lanes, bool rowmax) {
    return rowmax ? static_cast<int64_t>(rows) * (2 * (cols + eng::VEC_DEPTH) + eng::ROW_DIV_DEPTH)
                  : chunk_loop_cycles(rows, cols, lanes);
}

/// Walks a flat loop over the chunks of ROWS rows per image out of IN_ROWS input rows (the
/// class token only: ROWS = 1): output row t, its input row `in`, chunk `ch` of CH.
template <int ROWS, int IN_ROWS, int CH>
struct ChunkWalk {
    int t = 0, local = 0, in = 0, ch = 0;
    bool last() const { return ch == CH - 1; }
    void next() {
        if (ch + 1 < CH) {
            ++ch;
            return;
        }
        ch = 0;
        ++t;
        if (local + 1 < ROWS) {
            ++local;
            ++in;
        } else {
            local = 0;
            in += IN_ROWS - ROWS + 1;
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
/// L elements per cycle in the chunk loops. MAXR (the batch's rows) is a template parameter
/// so that builds of another IVIT_MAX_BATCH name other per-row arrays (g++ makes the static
/// of a template function one symbol in the whole process).
template <class CFG, int MAXR = IVIT_MAX_BATCH * CFG::ROWS>
void shiftmax(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
#pragma HLS INLINE
    constexpr int LEN = CFG::LEN, L = CFG::L, CH = (LEN + L - 1) / L;
    typedef ChunkWalk<CFG::ROWS, CFG::ROWS, CH> Walk;
    static int64_t sm_top[MAXR], sm_total[MAXR], sm_factor[MAXR];  // per-row values
    const int rows = nb * CFG::ROWS;
    const int k = static_cast<int>(CFG::K[it]);
    const int64_t i0 = CFG::I0[it];
    const int n = static_cast<int>(CFG::N[it]);
    const int m_bits = shiftmax_div_bits(i0, n);
    const int shift = m_bits - static_cast<int>(CFG::OUT_BITS[it] - 1);
    {
        Walk w;
        int64_t top = 0;
    sm_max:
        for (int i = 0; i < rows * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            const typename CFG::in_t* row = x + static_cast<long>(w.in) * LEN;
            int64_t m = w.ch == 0 ? static_cast<int64_t>(row[0]) : top;
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int j = w.ch * L + l;
                if (j < LEN && row[j] > m) m = row[j];
            }
            top = m;
            if (w.last()) sm_top[w.t] = m;
            w.next();
        }
    }
    {
        Walk w;
        int64_t total = 0;
    sm_exp_sum:
        for (int i = 0; i < rows * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            const typename CFG::in_t* row = x + static_cast<long>(w.in) * LEN;
            const int64_t top = sm_top[w.t];
            int64_t part = 0;
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int j = w.ch * L + l;
                if (j < LEN) part += sm_exp<CFG>(row[j], top, k, i0, n);
            }
            total = (w.ch == 0 ? 0 : total) + part;
            if (w.last()) sm_total[w.t] = total;
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
        for (int i = 0; i < rows * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            const typename CFG::in_t* row = x + static_cast<long>(w.in) * LEN;
            typename CFG::out_t* out = y + static_cast<long>(w.t) * LEN;
            const int64_t top = sm_top[w.t];
            const int64_t factor = sm_factor[w.t];
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int j = w.ch * L + l;
                if (j < LEN) {
                    const int64_t ef = lane_sm_factor(sm_exp<CFG>(row[j], top, k, i0, n), factor);
                    out[j] = static_cast<typename CFG::out_t>((ef + (int64_t(1) << (shift - 1))) >> shift);
                }
            }
            w.next();
        }
    }
    eng::account(CFG::IDX[it], shiftmax_cycles(rows, LEN, L));
}

/// GELU over ROWS tokens of COLS channels (not fused), L elements per cycle (one flat loop
/// over the rows' chunks); the paper's row-max form runs the plain kernel, one element per
/// cycle, and is charged as such.
template <class CFG>
void gelu(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
#pragma HLS INLINE
    constexpr int COLS = CFG::COLS, L = CFG::L, CH = (COLS + L - 1) / L;
    const int rows = nb * CFG::ROWS;
    if constexpr (CFG::FORM == GELU_ROWMAX) {
        // the paper's row-max form: a max loop, then a loop with a division per element
        shift_gelu(x, y, rows, COLS, static_cast<int>(CFG::K[it]), CFG::I0[it],
                   static_cast<int>(CFG::N[it]), ivit::GELU_ROWMAX, CFG::M[it],
                   static_cast<int>(CFG::E[it]), static_cast<int>(CFG::OUT_BITS[it]));
    } else {
        const eng::GeluUnit<typename GeluTable<CFG>::type> g = gelu_unit<CFG>(it);
        ChunkWalk<CFG::ROWS, CFG::ROWS, CH> w;
    gelu_chunks:
        for (int i = 0; i < rows * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            const long base = static_cast<long>(w.t) * COLS;
            for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
                const int c = w.ch * L + l;
                if (c < COLS)   // only this slot's GELU form is built
                    y[base + c] = static_cast<typename CFG::out_t>(
                        g.template eval<gelu_form(CFG::FORM)>(x[base + c]));
            }
            w.next();
        }
    }
    eng::account(CFG::IDX[it], gelu_cycles(rows, COLS, L, CFG::FORM == GELU_ROWMAX));
}

/// Residual add (not fused): branch (per-channel multiplier) + residual stream, L elements
/// per cycle (one flat loop over the rows' chunks; one row word of each buffer per cycle).
template <class CFG>
void residual_add(const typename CFG::in_t* branch, const typename CFG::in1_t* residual,
                  typename CFG::out_t* out, int it, int nb) {
#pragma HLS INLINE
    constexpr int COLS = CFG::COLS, L = CFG::L, CH = (COLS + L - 1) / L;
    const int rows = nb * CFG::ROWS;
    ChunkWalk<CFG::ROWS, CFG::ROWS, CH> w;
res_chunks:
    for (int i = 0; i < rows * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
        const long base = static_cast<long>(w.t) * COLS;
        for (int l = 0; l < L; ++l) {
#pragma HLS UNROLL
            const int c = w.ch * L + l;
            if (c < COLS) {
                // the epilogue lanes' requant multipliers (shared roles, see types.h)
                const int64_t s =
                    round_shift(lane_epi_requant(branch[base + c], CFG::m_a[it][c]), CFG::e_a[it][c]) +
                    round_shift(lane_epi_residual(residual[base + c], CFG::M_B[it]),
                                static_cast<int>(CFG::E_B[it]));
                out[base + c] = static_cast<typename CFG::out_t>(
                    saturate(s, static_cast<int>(CFG::OUT_BITS[it])));
            }
        }
        w.next();
    }
    eng::account(CFG::IDX[it], chunk_loop_cycles(rows, COLS, L));
}

/// One chunk of LayerNorm statistics: the sum and the sum of squares of L channels.
template <class CFG>
inline void ln_stats_chunk(const typename CFG::in_t* row, int ch, int64_t& psx, int64_t& psxx) {
#pragma HLS INLINE
    psx = 0;
    psxx = 0;
    for (int l = 0; l < CFG::L; ++l) {
#pragma HLS UNROLL
        const int c = ch * CFG::L + l;
        if (c < CFG::COLS) {
            psx += row[c];
            psxx += lane_ln_square(row[c]);
        }
    }
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

/// One chunk of LayerNorm normalize: L channels of one row.
template <class CFG>
inline void ln_norm_chunk(const typename CFG::in_t* row, typename CFG::out_t* o, int ch,
                          int64_t mean, int64_t recip, int it) {
#pragma HLS INLINE
    const int shift = LN_RECIP_SHIFT - LN_FRAC_BITS;
    const int64_t half = int64_t(1) << (shift - 1);
    for (int l = 0; l < CFG::L; ++l) {
#pragma HLS UNROLL
        const int c = ch * CFG::L + l;
        if (c < CFG::COLS) {
            const int64_t d = row[c] * LN_MEAN_SCALE - mean;
            const int64_t nv = (lane_ln_norm(d, recip) + half) >> shift;
            o[c] = static_cast<typename CFG::out_t>(
                requant_product(lane_ln_requant(nv, CFG::m[it][c]), CFG::e[it][c],
                                static_cast<int>(CFG::OUT_BITS[it]), CFG::bias[it][c]));
        }
    }
}

/// I-LayerNorm over ROWS rows of each image (ROWS = 1: the class token only, row 0 of the
/// image's IN_ROWS input rows). Every token (ROWS = IN_ROWS): one merged pipelined loop over
/// the batch's rows, each iteration a statistics chunk of row t, at its last chunk the row
/// unit for row t, and a normalize chunk of row t - LN_LAG (whose mean and reciprocal the row
/// unit wrote LN_LAG rows earlier, more cycles ago than its pipeline is deep). The class
/// token only: three flat loops (statistics, the row unit, normalize). MAXR: as shiftmax's.
template <class CFG, int MAXR = IVIT_MAX_BATCH * CFG::ROWS>
void layernorm(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
#pragma HLS INLINE
    constexpr int COLS = CFG::COLS, L = CFG::L, CH = (COLS + L - 1) / L;
    constexpr bool MERGED = CFG::ROWS == CFG::IN_ROWS;
    constexpr int LAG = ln_lag(CH);
    // iterations from a row's last statistics chunk (the row unit's write) to its first
    // normalize chunk (the read): more than the write's depth in the loop body
    constexpr int DIST = (LAG - 1) * CH + 1;
    static_assert(DIST > eng::VEC_DEPTH + LN_ROW_DEPTH, "LayerNorm lag shorter than the row unit");
    typedef ChunkWalk<CFG::ROWS, CFG::IN_ROWS, CH> Walk;
    static int64_t ln_sx[MAXR], ln_sxx[MAXR], ln_mean[MAXR], ln_recip[MAXR];  // per-row values
    const int rows = nb * CFG::ROWS;
    if (MERGED) {
        int64_t sx = 0, sxx = 0;
        int ta = 0, ch = 0;  // statistics: row ta, chunk ch; normalize: row ta - LAG, chunk ch
    ln_merged:
        for (int i = 0; i < (rows + LAG) * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
#pragma HLS DEPENDENCE variable=ln_mean type=inter direction=RAW dependent=true distance=DIST
#pragma HLS DEPENDENCE variable=ln_recip type=inter direction=RAW dependent=true distance=DIST
            if (ta < rows) {
                int64_t psx, psxx;
                ln_stats_chunk<CFG>(x + static_cast<long>(ta) * COLS, ch, psx, psxx);
                sx = (ch == 0 ? 0 : sx) + psx;
                sxx = (ch == 0 ? 0 : sxx) + psxx;
                if (ch == CH - 1) ln_row<CFG>(sx, sxx, ln_mean[ta], ln_recip[ta]);
            }
            const int tc = ta - LAG;
            if (tc >= 0)
                ln_norm_chunk<CFG>(x + static_cast<long>(tc) * COLS, y + static_cast<long>(tc) * COLS,
                                   ch, ln_mean[tc], ln_recip[tc], it);
            if (ch + 1 < CH) {
                ++ch;
            } else {
                ch = 0;
                ++ta;
            }
        }
    } else {
        {
            Walk w;
            int64_t sx = 0, sxx = 0;
        ln_stats:
            for (int i = 0; i < rows * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
                int64_t psx, psxx;
                ln_stats_chunk<CFG>(x + static_cast<long>(w.in) * COLS, w.ch, psx, psxx);
                sx = (w.ch == 0 ? 0 : sx) + psx;
                sxx = (w.ch == 0 ? 0 : sxx) + psxx;
                if (w.last()) {
                    ln_sx[w.t] = sx;
                    ln_sxx[w.t] = sxx;
                }
                w.next();
            }
        }
    ln_row_unit:
        for (int t = 0; t < rows; ++t) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
            ln_row<CFG>(ln_sx[t], ln_sxx[t], ln_mean[t], ln_recip[t]);
        }
        {
            Walk w;
        ln_norm:
            for (int i = 0; i < rows * CH; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
                ln_norm_chunk<CFG>(x + static_cast<long>(w.in) * COLS, y + static_cast<long>(w.t) * COLS,
                                   w.ch, ln_mean[w.t], ln_recip[w.t], it);
                w.next();
            }
        }
    }
    eng::account(CFG::IDX[it], layernorm_cycles(rows, COLS, L, MERGED));
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_UNITS_VECTOR_H
