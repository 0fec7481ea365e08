// The engine: one R x C GEMM array fed from tile-major weight panels (wide m_axi bursts,
// ping-pong panel buffers), fused epilogues, an attention unit that keeps one R-row strip of
// scores/probabilities on chip, vector units of LANES elements per cycle, and one shared
// row unit (pipelined divider + integer square root) for the per-row divisions.
//
// Cycle accounting (-DIVIT_CYCLES): every unit adds the cycles its loops take as written
// (trip count x II + pipeline depth; units that overlap add the larger of the two) to the
// layer it runs, with the DDR bytes it moves. ivit_hls/ops/common.py computes the same
// numbers from the same formulas; a test checks that they are equal.
#ifndef IVIT_ENGINE_H
#define IVIT_ENGINE_H

#include "layernorm.h"
#include "pe_array.h"
#include "shiftgelu.h"
#include "shiftmax.h"
#include "types.h"

#ifndef __SYNTHESIS__
#include <cstdio>
#include <cstdlib>
#endif

#ifdef IVIT_TRACE
extern int64_t* ivit_trace_sink;
#endif

/// Images per call the on-chip buffers hold (generate --batch): token-wise units see a batch
/// as its images' rows stacked, so each weight panel crosses DDR once per batch.
#ifndef IVIT_MAX_BATCH
#define IVIT_MAX_BATCH 1
#endif

namespace ivit {
namespace eng {

// -- timing constants (mirrored in ivit_hls/ops/common.py) ------------------------------------
constexpr int GEMM_DEPTH = 6;        // operand fetch, DSP multiply (3), accumulate, skew
constexpr int EPI_DEPTH = 8;         // 32x32 requant multiply (4), round, shift, saturate, store
constexpr int DDR_LATENCY = 64;      // first beat of a weight burst
constexpr int VEC_DEPTH = 8;         // vector unit pipeline
constexpr int ROW_DIV_DEPTH = 68;    // the row unit's pipelined 64-bit divider (row_div)
constexpr int WORD_BYTES = 64;       // one 512-bit m_axi beat

inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// -- accounting and trace sinks ----------------------------------------------------------------
#ifdef IVIT_CYCLES
/// When non-null: 3 int64 per layer (cycles, DDR weight bytes, DDR activation bytes).
inline int64_t*& cycle_sink() {
    static int64_t* sink = 0;
    return sink;
}
inline void account(int op, int64_t cycles, int64_t wbytes = 0, int64_t abytes = 0) {
    int64_t* s = cycle_sink();
    if (!s) return;
    s[3 * op] += cycles;
    s[3 * op + 1] += wbytes;
    s[3 * op + 2] += abytes;
}
#else
inline void account(int, int64_t, int64_t = 0, int64_t = 0) {}
#endif

#ifdef IVIT_TRACE
inline void trace_put(long off, long idx, int64_t v) {
    if (ivit_trace_sink && off >= 0) ivit_trace_sink[off + idx] = v;
}
#else
inline void trace_put(long, long, int64_t) {}
#endif

// -- the PE array --------------------------------------------------------------------------------
/// One step of the array: k-step `kk` of A(i0 + r, k) B(k, j0 + c) over `rows` x `cols` valid
/// lanes into `acc`. `slices` = 2 feeds a 9..16-bit unsigned A operand as two bytes (low,
/// then high shifted by 8), so every PE stays an 8-bit multiplier.
template <int R, int C, class A, class B>
void mac_step(acc_t acc[R][C], const A& a, const B& b, int i0, int j0, int rows, int cols, int kk,
              int slices) {
#pragma HLS INLINE
    const int k = slices == 2 ? kk >> 1 : kk;
    const bool high = slices == 2 && (kk & 1);
    int32_t av[R];
    int32_t bv[C];
#pragma HLS ARRAY_PARTITION variable=av complete
#pragma HLS ARRAY_PARTITION variable=bv complete
    for (int r = 0; r < R; ++r) {
        const int32_t v = r < rows ? static_cast<int32_t>(a(i0 + r, k)) : 0;
        av[r] = slices == 2 ? (high ? (v >> 8) : (v & 255)) : v;
    }
    for (int c = 0; c < C; ++c) bv[c] = c < cols ? static_cast<int32_t>(b(k, j0 + c)) : 0;
    pe_step<R, C>(acc, av, bv, high ? 8 : 0);
}

/// Cycles of draining one R x C tile through E epilogue lanes: column by column, E rows of
/// one column per cycle (the rows sit in distinct banks of every activation buffer).
inline int64_t drain_cycles(int R, int C, int E) { return static_cast<int64_t>(C) * cdiv(R, E); }

/// Bytes of one tile-major panel in the weight blob.
inline int64_t panel_stride(int K, int C) { return cdiv(static_cast<int64_t>(K) * C, WORD_BYTES) * WORD_BYTES; }

/// Iterations of one weight-panel load: two C-byte panel rows per cycle (the two ports of
/// the panel half being written), and no faster than the port's `bpc` bytes per cycle.
inline int64_t panel_load_steps(int K, int C, int bpc) {
    return imax(cdiv(K, 2), cdiv(static_cast<int64_t>(K) * C, bpc));
}

/// Steps of phase q of the flat GEMM loop (q = 1..panels: panel q-1 computes, `comp` steps,
/// while panel q loads, `nl` steps, or, in the last, the next GEMM's first panel, `nl_next`
/// steps; panels + 1: the last tile's drain, `d` steps).
inline int64_t gemm_phase_steps(int q, int panels, int64_t comp, int64_t nl, int64_t nl_next,
                                int64_t d) {
    return q < panels ? imax(comp, nl) : (q == panels ? imax(comp, nl_next) : d);
}

/// Iterations of the engine's flat GEMM loop: the first panel's load (`nl` steps; none for
/// on-chip operands or when the GEMM before loaded it, `pre`), every panel's tiles (`tiles`
/// windows of max(K * slices, drain) steps, stretched to `nl` when the next panel's load is
/// longer, the last panel's to `nl_next`, the load of the next GEMM's first panel), and the
/// last tile's drain.
inline int64_t gemm_trips(int M, int N, int K, int slices, int R, int C, int E, int64_t nl,
                          bool pre = false, int64_t nl_next = 0) {
    const int64_t tiles = cdiv(M, R), panels = cdiv(N, C), d = drain_cycles(R, C, E);
    const int64_t comp = tiles * imax(static_cast<int64_t>(K) * slices, d);
    return (pre ? 0 : nl) + (panels - 1) * imax(comp, nl) + imax(comp, nl_next) + d;
}

/// Cycles of a GEMM with weights from DDR: the flat loop, the first weight beat's latency
/// (the panels are one sequential stream; counted for every GEMM, also one whose first
/// panel the GEMM before loaded) and the array and epilogue depths. `pre`: its first panel
/// is on chip already; `next_k`: it loads the next GEMM's first panel (K rows; 0: none).
inline int64_t gemm_ddr_cycles(int M, int N, int K, int slices, int R, int C, int E, int bpc,
                               bool pre = false, int next_k = 0) {
    const int64_t nl_next = next_k > 0 ? panel_load_steps(next_k, C, bpc) : 0;
    return gemm_trips(M, N, K, slices, R, C, E, panel_load_steps(K, C, bpc), pre, nl_next) +
           DDR_LATENCY + GEMM_DEPTH + EPI_DEPTH;
}

/// How a DDR GEMM's weight panels chain with the GEMMs around it: `*half` is the half of
/// eng_panel its first panel goes to (panel p to (half + p) & 1; afterwards the half of the
/// next GEMM's first), `pre` that the GEMM before loaded that first panel, `next_off` and
/// `next_k` the next GEMM's first panel (blob offset, K rows; next_k = 0: none), which this
/// one loads while its last panel computes. No unit between two GEMMs touches eng_panel.
struct PanelLink {
    int* half;
    bool pre;
    long next_off;
    int next_k;
};

/// The same for gemm_run: the first panel's half, `pre`, the next first panel and its steps.
struct PanelPlan {
    int h0 = 0;
    bool pre = false;
    long next_off = 0;
    int next_k = 0;
    int64_t nl_next = 0;
};

/// Cycles of a GEMM with both operands on chip (the unfused attention matmuls).
inline int64_t gemm_onchip_cycles(int M, int N, int K, int slices, int R, int C, int E) {
    return gemm_trips(M, N, K, slices, R, C, E, 0) + GEMM_DEPTH + EPI_DEPTH;
}

/// The B operand of an on-chip GEMM is read through `b(k, j)`; a DDR GEMM reads its panels.
struct NoOperand {
    int32_t operator()(int, int) const { return 0; }
};

// -- row statistics ------------------------------------------------------------------------------
// A GEMM with STATS leaves, for the LayerNorm that reads its output next (whose statistics
// sweep then has nothing to do), the sum and the sum of squares of output row i over its N
// columns in slot row row_sums_slot<R, E>(i), lane (i % R) % E, of two [slots][E] arrays
// partitioned on the lane: drain lane e reads and writes bank e in every tile and chunk.

/// The slot row of output row i: its tile's ceil(R / E) chunks, then its chunk.
template <int R, int E>
inline int row_sums_slot(int i) {
#pragma HLS INLINE
    return (i / R) * ((R + E - 1) / E) + (i % R) / E;
}

/// Row i's value in a row-sums array (the LayerNorm's row unit: one read, any bank).
template <int R, int E>
inline int64_t row_sums_at(const int64_t (*s)[E], int i) {
#pragma HLS INLINE
    return s[row_sums_slot<R, E>(i)][(i % R) % E];
}

/// Epilogue: a drained value's square, for the row statistics.
inline int64_t lane_epi_square(int64_t v) {
#pragma HLS INLINE
    role_widths<IVIT_W_LN_IN, IVIT_W_LN_IN>(v, v);
    return pool_epi_narrow(v, v);
}

/// One drain step of the row statistics. The drained tile's rows keep their running sums in
/// a ring of RING = ceil(R / E) * E registers that turns by E every step, so lane e always
/// takes entry e (the row the drain's chunk puts in lane e) and no lane selects among rows;
/// after a column's ceil(R / E) steps the ring is back in row order. A row's sums enter the
/// ring at the tile's first column (0 in the first panel; from sx / sxx when several tiles
/// take turns, else still in the ring) and leave to sx / sxx at its last column (`cols`);
/// `slot` is the chunk's slot row (row_sums_slot), whose lane e is bank e.
template <int E, int RING>
inline void row_sums_step(int64_t rx[RING], int64_t rxx[RING], int64_t (*sx)[E],
                          int64_t (*sxx)[E], const int64_t v[E], int slot, int nrows, int col,
                          int cols, bool first_panel, bool one_tile) {
#pragma HLS INLINE
    int64_t nx[E], nxx[E];
#pragma HLS ARRAY_PARTITION variable=nx complete
#pragma HLS ARRAY_PARTITION variable=nxx complete
    for (int e = 0; e < E; ++e) {
        int64_t bx = rx[e], bxx = rxx[e];
        if (col == 0 && first_panel) {
            bx = 0;
            bxx = 0;
        } else if (col == 0 && !one_tile && e < nrows) {
            bx = sx[slot][e];
            bxx = sxx[slot][e];
        }
        nx[e] = bx + v[e];
        nxx[e] = bxx + lane_epi_square(v[e]);
        if (e < nrows && col == cols - 1) {
            sx[slot][e] = nx[e];
            sxx[slot][e] = nxx[e];
        }
    }
    for (int r = 0; r + E < RING; ++r) {
        rx[r] = rx[r + E];
        rxx[r] = rxx[r + E];
    }
    for (int e = 0; e < E; ++e) {
        rx[RING - E + e] = nx[e];
        rxx[RING - E + e] = nxx[e];
    }
}

/// The engine's GEMM: y = epi(A (M x K) * B (K x N)), as ONE pipelined loop (II=1) over
/// column panels (outermost) and R-row tiles. Every iteration does, each under its guard:
///  (a) MAC step s of the current tile into accs[g & 1] (step 0 clears it, no init loop);
///  (b) drain step s of the previous tile from accs[(g - 1) & 1]: the drained half is a shift
///      register (rows 0..E-1 of column 0 leave through the E epilogue lanes, column 0 moves
///      up E rows per chunk, the columns move left one per column), so the epilogue reads
///      fixed registers and writes E rows of one column, one per row bank; the bias and the
///      per-channel constants are one scalar read per cycle; the last tile of a panel drains
///      under the first tile of the next;
///  (c) with DDR weights, one step of the next panel's load: a 64-byte word of the weight
///      stream (whole words, in order) into a (2C + 64)-byte staging register when it holds
///      less than two rows, and two C-byte rows from it into the panel half not computed on;
///      under the last panel, the next GEMM's first panel (`pp`).
/// Trip count: gemm_trips(); exposed are the first panel's load (unless the GEMM before
/// loaded it) and the last tile's drain.
template <int R, int C, int E, int KMAX, bool DDR, class A, class B, class Epi,
          bool STATS = false>
void gemm_run(const int8_t* wmem, long w_off, int M, int N, int K, int slices, int64_t nl, A& a,
              B& b, Epi& epi, acc_t accs[2][R][C], int8_t panel[2][KMAX][C],
              PanelPlan pp = PanelPlan(), int64_t (*sx)[E] = nullptr,
              int64_t (*sxx)[E] = nullptr) {
#pragma HLS INLINE
    static_assert(E >= 1 && E <= R, "the epilogue lanes drain part of one column per cycle");
    constexpr int NCH = (R + E - 1) / E;   // drain chunks per column
    constexpr int D = C * NCH;             // drain steps per tile
    constexpr int RING = STATS ? NCH * E : 1;
    // the row statistics' ring (row_sums_step); their per-row sums are written at a tile's
    // last column and read back at its first column of the next panel, whole tiles later
    int64_t rx[RING], rxx[RING];
#pragma HLS ARRAY_PARTITION variable=rx complete
#pragma HLS ARRAY_PARTITION variable=rxx complete
    for (int r = 0; r < RING; ++r) {
        rx[r] = 0;
        rxx[r] = 0;
    }
    constexpr int SB = 2 * C + WORD_BYTES; // staging register bytes
    const int tiles = static_cast<int>(cdiv(M, R));
    const int panels = static_cast<int>(cdiv(N, C));
    const int ks = K * slices;
    const int st = static_cast<int>(imax(ks, D));
    const int comp = tiles * st;
    const int nload = static_cast<int>(nl);
    const int nnext = static_cast<int>(pp.nl_next);
    const int nwords = static_cast<int>(cdiv(static_cast<int64_t>(K) * C, WORD_BYTES));
    const int nwords_next = static_cast<int>(cdiv(static_cast<int64_t>(pp.next_k) * C, WORD_BYTES));
    const int total = static_cast<int>(gemm_trips(M, N, K, slices, R, C, E, nl, pp.pre, pp.nl_next));
    // phases: 0 = the first panel's load (DDR, unless loaded before), q = 1..panels = panel
    // q-1 computes while panel q (in the last, the next GEMM's first panel) loads,
    // panels + 1 = the last tile's drain
    int q = nload > 0 && !pp.pre ? 0 : 1;
    int pos = 0;
    int plen = static_cast<int>(q == 0 ? nload : gemm_phase_steps(1, panels, comp, nload, nnext, D));
    int t = 0, s = 0, g = 0;               // tile of the panel, step of its window, tiles begun
    bool cur_on = false;
    int c_i0 = 0, c_j0 = 0, c_rows = 0, c_cols = 0, c_buf = 0, c_t = 0;
    bool dr_on = false;
    int d_i0 = 0, d_j0 = 0, d_rows = 0, d_cols = 0, d_buf = 0, d_c = 0, d_ch = 0, d_t = 0;
    int lk = 0, fill = 0, rd = 0;          // load: panel rows written, staged bytes, words read
    // next byte of the weight stream: this GEMM's panels in order (from panel 1 if panel 0
    // was loaded before), then the next GEMM's first
    long wp = q == panels ? pp.next_off : w_off + (pp.pre ? panel_stride(K, C) : 0);
    int8_t stg[SB];
#pragma HLS ARRAY_PARTITION variable=stg complete
    for (int j = 0; j < SB; ++j) stg[j] = 0;
    // a row's sums are read back (at a tile's first column) at least `tiles` windows of st >= D
    // steps after their write (at its last column, D - NCH steps into the drain), and tiles
    // >= 2 whenever they are read back. The recurrence through sx / sxx is a read, one add
    // and a write (the epilogue's value does not depend on it), so II=1 needs a distance of
    // a few steps only: D + NCH >= 5 on every swept array
    [[maybe_unused]] constexpr int DIST_SUMS = D + NCH;  // named by the pragmas only
gemm_flat:
    for (int i = 0; i < total; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=64 max=262144
#pragma HLS DEPENDENCE variable=sx type=inter direction=RAW dependent=true distance=DIST_SUMS
#pragma HLS DEPENDENCE variable=sxx type=inter direction=RAW dependent=true distance=DIST_SUMS
        const bool computing = q >= 1 && q <= panels;
        const int p = q - 1;
        // a tile window begins: the finished tile goes to the drain, the next one starts
        if (s == 0 && ((computing && t < tiles) || (q == panels + 1 && pos == 0))) {
            if (cur_on) {
                dr_on = true;
                d_i0 = c_i0; d_j0 = c_j0; d_rows = c_rows; d_cols = c_cols; d_buf = c_buf;
                d_c = 0; d_ch = 0; d_t = c_t;
            }
            cur_on = computing;
            if (computing) {
                c_t = t;
                c_i0 = t * R;
                c_rows = M - c_i0 < R ? M - c_i0 : R;
                c_j0 = p * C;
                c_cols = N - c_j0 < C ? N - c_j0 : C;
                c_buf = g & 1;
                ++g;
            }
        }
        // (a) one MAC step of the current tile
        if (computing && t < tiles && s < ks) {
            acc_t (&acc)[R][C] = accs[c_buf];
            if (s == 0)
                for (int r = 0; r < R; ++r)
                    for (int c = 0; c < C; ++c) acc[r][c] = 0;
            if constexpr (DDR) {
                int8_t row[C];
#pragma HLS ARRAY_PARTITION variable=row complete
                const int k = slices == 2 ? s >> 1 : s;
                if ((p + pp.h0) & 1)
                    for (int c = 0; c < C; ++c) row[c] = panel[1][k][c];
                else
                    for (int c = 0; c < C; ++c) row[c] = panel[0][k][c];
                struct RowB {
                    const int8_t* w; int j0;
                    int32_t operator()(int, int j) const { return w[j - j0]; }
                } rb{row, c_j0};
                mac_step<R, C>(acc, a, rb, c_i0, c_j0, c_rows, c_cols, s, slices);
            } else {
                mac_step<R, C>(acc, a, b, c_i0, c_j0, c_rows, c_cols, s, slices);
            }
        }
        // (b) one drain step of the previous tile: column d_c (now column 0), rows of chunk
        // d_ch (now rows 0..E-1), then shift
        if (dr_on) {
            acc_t (&acc)[R][C] = accs[d_buf];
            int64_t dv[E];                 // the values written (the row statistics' input)
#pragma HLS ARRAY_PARTITION variable=dv complete
            for (int e = 0; e < E; ++e) {
                const int row = d_ch * E + e;
                dv[e] = 0;
                if (row < d_rows && d_c < d_cols) {
                    if constexpr (STATS)
                        dv[e] = epi.store(d_i0 + row, d_j0 + d_c, static_cast<int32_t>(acc[e][0]));
                    else
                        epi.store(d_i0 + row, d_j0 + d_c, static_cast<int32_t>(acc[e][0]));
                }
            }
            if constexpr (STATS)
                row_sums_step<E, RING>(rx, rxx, sx, sxx, dv, d_t * NCH + d_ch, d_rows - d_ch * E,
                                       d_c, d_cols, d_j0 == 0, tiles == 1);
            if (d_ch + 1 < NCH) {
                for (int r = 0; r + E < R; ++r) acc[r][0] = acc[r + E][0];
                ++d_ch;
            } else {
                for (int r = 0; r < R; ++r)
                    for (int c = 0; c + 1 < C; ++c) acc[r][c] = acc[r][c + 1];
                d_ch = 0;
                if (++d_c == C) dr_on = false;
            }
        }
        // (c) one step of panel q's load (in the last phase, the next GEMM's first panel) into
        // the half not computed on
        if constexpr (DDR) {
            const bool own = q < panels;
            const int lsteps = own ? nload : nnext;
            if (q <= panels && pos < lsteps) {
                const int kl = own ? K : pp.next_k;
                const int nw = own ? nwords : nwords_next;
                if (fill < 2 * C && rd < nw) {
                    int8_t word[WORD_BYTES];
#pragma HLS ARRAY_PARTITION variable=word complete
                    for (int b8 = 0; b8 < WORD_BYTES; ++b8) word[b8] = wmem[wp + b8];
                    for (int j = 0; j < SB; ++j)
                        if (j >= fill && j < fill + WORD_BYTES) stg[j] = word[j - fill];
                    wp += WORD_BYTES;
                    fill += WORD_BYTES;
                    ++rd;
                }
                int n = fill >= 2 * C ? 2 : (fill >= C ? 1 : 0);
                if (n > kl - lk) n = kl - lk;
                if ((q + pp.h0) & 1) {
                    if (n > 0) for (int c = 0; c < C; ++c) panel[1][lk][c] = stg[c];
                    if (n > 1) for (int c = 0; c < C; ++c) panel[1][lk + 1][c] = stg[C + c];
                } else {
                    if (n > 0) for (int c = 0; c < C; ++c) panel[0][lk][c] = stg[c];
                    if (n > 1) for (int c = 0; c < C; ++c) panel[0][lk + 1][c] = stg[C + c];
                }
                if (n == 1)
                    for (int j = 0; j + C < SB; ++j) stg[j] = stg[j + C];
                else if (n == 2)
                    for (int j = 0; j + 2 * C < SB; ++j) stg[j] = stg[j + 2 * C];
                fill -= n * C;
                lk += n;
                if (pos + 1 == lsteps) {
#ifndef __SYNTHESIS__
                    if (lk != kl || rd != nw) {
                        std::fprintf(stderr, "gemm_run: panel load unfinished after its steps\n");
                        std::abort();
                    }
#endif
                    lk = 0; fill = 0; rd = 0;
                }
            }
        }
        // advance the window and the phase
        if (computing && ++s == st) {
            s = 0;
            ++t;
        }
        if (++pos == plen) {
            pos = 0;
            ++q;
            t = 0;
            s = 0;
            plen = static_cast<int>(gemm_phase_steps(q, panels, comp, nload, nnext, D));
            if (q == panels) wp = pp.next_off;
        }
    }
}

/// The GEMM engine with weights from DDR: panels of K x C bytes, tile-major in the blob at
/// `w_off`, read as one sequential stream of 64-byte words.
template <int R, int C, int E, int KMAX, int BPC, bool STATS = false, class A, class Epi>
void gemm_ddr(const int8_t* wmem, long w_off, int M, int N, int K, int slices, A& a,
              Epi& epi, int op, acc_t accs[2][R][C], int8_t panel[2][KMAX][C],
              const PanelLink& link, int64_t (*sx)[E] = nullptr, int64_t (*sxx)[E] = nullptr) {
#pragma HLS INLINE
    NoOperand none;
    PanelPlan pp;
    pp.h0 = *link.half;
    pp.pre = link.pre;
    pp.next_off = link.next_off;
    pp.next_k = link.next_k;
    pp.nl_next = link.next_k > 0 ? panel_load_steps(link.next_k, C, BPC) : 0;
    gemm_run<R, C, E, KMAX, true, A, NoOperand, Epi, STATS>(
        wmem, w_off, M, N, K, slices, panel_load_steps(K, C, BPC), a, none, epi, accs, panel, pp,
        sx, sxx);
    *link.half = static_cast<int>((pp.h0 + cdiv(N, C)) & 1);
    account(op, gemm_ddr_cycles(M, N, K, slices, R, C, E, BPC, link.pre, link.next_k),
            cdiv(N, C) * panel_stride(K, C), 0);
}

/// A GEMM with both operands on chip (B read through `b(k, j)`).
template <int R, int C, int E, int KMAX, class A, class B, class Epi>
void gemm_onchip(int M, int N, int K, int slices, A& a, B& b, Epi& epi, acc_t accs[2][R][C],
                 int8_t panel[2][KMAX][C]) {
#pragma HLS INLINE
    gemm_run<R, C, E, KMAX, false>(0, 0, M, N, K, slices, 0, a, b, epi, accs, panel);
}

// -- the row unit and the vector units -------------------------------------------------------------
/// floor(n / d) for a per-layer constant d as a multiplication: ((n + d*B) * mul >> sh) - B.
/// The generator (ivit_hls/hls/recip.py) picks B, mul, sh and proves the quotient exact and
/// the product below 2^63 for every |n| within the layer's bound.
inline int64_t div_const(int64_t n, int64_t mul, int sh, int64_t dB, int64_t B) {
#pragma HLS INLINE
    return ((n + dB) * mul >> sh) - B;
}

/// Cycles of the vector unit over `rows` rows of `len` elements, `passes` passes each.
inline int64_t vector_cycles(int rows, int len, int passes, int lanes) {
    return static_cast<int64_t>(rows) * passes * cdiv(len, lanes) + VEC_DEPTH;
}

}  // namespace eng
}  // namespace ivit

#endif  // IVIT_ENGINE_H
