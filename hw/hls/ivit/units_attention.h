// The fused attention unit: q.k^T, Shiftmax and P.v per head on one strip of rows. Included by
// layers.h.
#ifndef IVIT_UNITS_ATTENTION_H
#define IVIT_UNITS_ATTENTION_H

#include "units_vector.h"

namespace ivit {
namespace layer {
namespace att {

constexpr int cdiv(int a, int b) { return (a + b - 1) / b; }
constexpr int imax(int a, int b) { return a > b ? a : b; }
constexpr int imin(int a, int b) { return a < b ? a : b; }

/// Pipeline depth of the merged loop with the array (q.k^T) and the normalize pass.
constexpr int DEPTH_A = imax(eng::GEMM_DEPTH + eng::EPI_DEPTH, eng::VEC_DEPTH);
/// Pipeline depth of the merged loop with the array (P.v), the exp pass and the row
/// divisions: the divider is the longest path.
constexpr int DEPTH_B = imax(eng::GEMM_DEPTH + eng::EPI_DEPTH, imax(eng::ROW_DIV_DEPTH, eng::VEC_DEPTH));

/// One strip of the unit's schedule: image n, head h, rows i0 .. i0 + rows - 1 (on = false
/// before the first strip and after the last).
struct Strip {
    bool on;
    int n, h, i0, rows;
};

template <int R, int T, int H>
inline Strip strip_at(int idx, int count) {
#pragma HLS INLINE
    constexpr int SPH = cdiv(T, R);  // strips per head
    Strip s{false, 0, 0, 0, 0};
    if (idx < 0 || idx >= count) return s;
    s.on = true;
    s.n = idx / (H * SPH);
    s.h = idx / SPH % H;
    s.i0 = idx % SPH * R;
    s.rows = T - s.i0 < R ? T - s.i0 : R;
    return s;
}

/// Array step `kk` of one output tile (columns j0 .. j0 + cols - 1) into `acc`, cleared at the
/// tile's first step. `slices` = 2 feeds a 9..16-bit unsigned A operand as two bytes.
template <int R, int C, class A, class B>
inline void mac_step_cleared(eng::acc_t acc[R][C], const A& a, const B& b, int i0, int j0,
                             int rows, int cols, int kk, int slices) {
#pragma HLS INLINE
    if (kk == 0) {
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = 0;
    }
    eng::mac_step<R, C>(acc, a, b, i0, j0, rows, cols, kk, slices);
}

/// Drain step `k` of tile `tile` (columns tile*C ..): column cc = k / NCH, rows g*E .. g*E+E-1
/// (g = k % NCH) leave through the E epilogue lanes from rows 0..E-1 of column 0; then the
/// accumulator shifts: column 0 up E rows after a chunk, every column left one after a
/// column's last chunk, so the drain reads fixed registers and writes E rows of one column.
template <int R, int C, int E, class Epi>
inline void drain_step(eng::acc_t acc[R][C], Epi& epi, int tile, int k, int rows, int cols) {
#pragma HLS INLINE
    constexpr int NCH = cdiv(R, E);
    const int cc = k / NCH, g = k - cc * NCH;
    for (int e = 0; e < E; ++e) {
#pragma HLS UNROLL
        const int row = g * E + e;
        if (row < rows && cc < cols) epi.store(row, tile * C + cc, static_cast<int32_t>(acc[e][0]));
    }
    if (g + 1 < NCH) {
        for (int r = 0; r + E < R; ++r) acc[r][0] = acc[r + E][0];
    } else {
        for (int r = 0; r < R; ++r)
            for (int c = 0; c + 1 < C; ++c) acc[r][c] = acc[r][c + 1];
    }
}

/// One cycle of an on-chip GEMM strip, as the merged loops run it: `tiles` output tiles of C
/// columns (of n_cols), each in a slot of SLOT = max(K * slices, D) cycles; in slot t the
/// array does step k of tile t into accs[t & 1] and the drain does step k of tile t - 1 from
/// accs[(t - 1) & 1]. tiles * SLOT + D cycles in all.
template <int R, int C, int E, int D, int SLOT, class A, class B, class Epi>
inline void array_step(eng::acc_t accs[2][R][C], const A& a, const B& b, Epi& epi, int i,
                       int tiles, int K, int slices, int i0, int rows, int n_cols) {
#pragma HLS INLINE
    const int t = i / SLOT, k = i - t * SLOT;
    if (t < tiles && k < K * slices) {
        const int j0 = t * C;
        mac_step_cleared<R, C>(accs[t & 1], a, b, i0, j0, rows, n_cols - j0 < C ? n_cols - j0 : C, k,
                               slices);
    }
    if (t > 0 && t <= tiles && k < D) {
        const int j0 = (t - 1) * C;
        drain_step<R, C, E>(accs[(t - 1) & 1], epi, t - 1, k, rows,
                            n_cols - j0 < C ? n_cols - j0 : C);
    }
}

/// P.v's A operand: the probabilities strip as the 2-D array it is (element (r, k) in row
/// bank r), so each of the array's R row operands reads its own bank.
template <typename TP, int T>
struct StripA {
    const TP (*p)[T];
    int32_t operator()(int r, int k) const {
#pragma HLS INLINE
        return static_cast<int32_t>(p[r][k]);
    }
};

/// The q.k^T drain: requantized scores into the strip `s`, each row's running maximum into
/// `top` (set at the row's column 0, which its first tile drains first).
template <class QK>
struct QkEpi {
    typedef typename QK::out_t TS;
    TS (*s)[QK::T];
    TS* top;
    int it;
    long trace;
    void store(int row, int col, int32_t acc) {
#pragma HLS INLINE
        const int64_t v = requant_product(lane_epi_requant(acc, QK::M[it]),
                                          static_cast<int>(QK::E[it]),
                                          static_cast<int>(QK::OUT_BITS[it]));
        s[row][col] = static_cast<TS>(v);
        eng::trace_put(trace, static_cast<long>(row) * QK::T + col, v);
        if (col == 0 || v > top[row]) top[row] = static_cast<TS>(v);
    }
};

/// The P.v drain: requantized context values into the output tensor.
template <class PV>
struct PvEpi {
    typename PV::out_t* ctx;  // row i0 of this strip, column h*HD of this head
    int ld;
    int it;
    void store(int row, int col, int32_t acc) {
#pragma HLS INLINE
        ctx[row * ld + col] = static_cast<typename PV::out_t>(
            requant_product(lane_epi_requant(acc, PV::M[it]), static_cast<int>(PV::E[it]),
                            static_cast<int>(PV::OUT_BITS[it])));
    }
};

}  // namespace att

/// Fused attention: the images' heads are cut into strips of R rows; per strip, q.k^T on the
/// array (its drain writes the scores strip and the row maxima, LA rows of one column per
/// cycle), Shiftmax (an exp pass and a normalize pass, LS = min(LA, T) rows of one column
/// per cycle; after each group of LS rows' exp pass, one row division per cycle
/// through the row divider), P.v on the array with the head's v copied into a local array.
/// Two merged pipelined loops per strip, each iteration one array step and one vector step:
///   A(n): q.k^T of strip n+1 | the normalize pass of strip n,
///   B(n): P.v of strip n     | the exp pass of strip n+1 and its row divisions, and the copy
///         of strip n+1's v into the other half of the local array,
/// for n = -1 .. strips-1. Cycles: the larger trip count of each loop plus its depth
/// (ivit_hls/ops/attention_cost.py computes the same sum). The buffer's R row banks serve
/// q.k^T's R rows of q and C tokens of k (C <= R) in loop A, the copy's X tokens in loop B.
template <class QK, class SM, class PV>
void attention(const typename QK::in_t* qkv_batch, typename PV::out_t* ctx_batch, int it, int nb,
               eng::acc_t accs[2][QK::R][QK::C], int8_t panel[2][QK::KMAX][QK::C]) {
#pragma HLS INLINE
    (void)panel;  // on-chip operands only: no weight panels
    using att::cdiv;
    using att::imax;
    using att::imin;
    // W, LC: the row strides of the qkv and context buffers
    constexpr int R = QK::R, C = QK::C, T = QK::T, H = QK::H, HD = QK::HD, W = QK::LDX;
    constexpr int LC = PV::LDY;
    constexpr int E = QK::LA, SLICES = PV::SLICES;
    static_assert(E >= 1 && E <= R, "the drain takes LA rows of one column per cycle");
    static_assert(C <= R, "q.k^T reads C tokens of one column per cycle from the R row banks");
    // Shiftmax lanes: LS rows of one column per step, LS <= T so that a group's divisions
    // end before the next group's begin
    constexpr int LS = imin(QK::LA, T);
    constexpr int D = C * cdiv(R, E);       // drain steps per tile
    constexpr int X = copy_v_lanes(R, HD);  // the v copy's lanes
    // row banks (never more than the R rows): F where the drain writes E rows and the lanes
    // read LS rows per cycle, LS where only the lanes touch the array
    constexpr int F = imin(imax(LS, E), R);
    static_assert(F >= LS && F >= E, "the drain's E rows and the lanes' LS rows in distinct banks");
    constexpr int QK_TILES = cdiv(T, C), PV_TILES = cdiv(HD, C);
    constexpr int QK_SLOT = imax(HD, D), PV_SLOT = imax(T * SLICES, D);
    constexpr int QK_TRIP = QK_TILES * QK_SLOT + D, PV_TRIP = PV_TILES * PV_SLOT + D;
    constexpr int COPY = copy_v_steps(T, HD, X);
    typedef typename QK::out_t TS;
    typedef typename SM::out_t TP;
    typedef typename QK::in_t TV;
    static TS s[R][T];                      // scores strip (drain writes, exp pass reads)
    static TS top[R];                       // row maxima
    static wint<IVIT_W_EXP> ex[R][T];       // exponentials (exp pass -> normalize pass)
    static int64_t total[R];                // row sums
    static wint<IVIT_W_FACTOR> fac[R];      // 2^M // row sum (the row divider)
    static TP pr[R][T];                     // probabilities strip (P.v's A operand)
    static TV vl[2][T][HD];                 // v of this strip's head | the next strip's
#pragma HLS ARRAY_PARTITION variable=s cyclic factor=F dim=1
#pragma HLS ARRAY_PARTITION variable=top cyclic factor=F dim=1
#pragma HLS ARRAY_PARTITION variable=ex cyclic factor=LS dim=1
#pragma HLS ARRAY_PARTITION variable=total cyclic factor=LS dim=1
#pragma HLS ARRAY_PARTITION variable=fac cyclic factor=LS dim=1
#pragma HLS ARRAY_PARTITION variable=pr complete dim=1
#pragma HLS ARRAY_PARTITION variable=vl complete dim=1
#pragma HLS ARRAY_PARTITION variable=vl complete dim=3
    int64_t tsum[LS];
#pragma HLS ARRAY_PARTITION variable=tsum complete
    for (int l = 0; l < LS; ++l) tsum[l] = 0;  // each row restarts at j = 0; cleared for g++
    const int k_sh = static_cast<int>(SM::K[it]);
    const int64_t i0_sm = SM::I0[it];
    const int n_sm = static_cast<int>(SM::N[it]);
    const int m_bits = shiftmax_div_bits(i0_sm, n_sm);
    const int shift = m_bits - static_cast<int>(SM::OUT_BITS[it] - 1);
    const int64_t half = int64_t(1) << (shift - 1);
    const int count = nb * H * cdiv(T, R);
    int64_t cycles = 0;
att_strips:
    for (int idx = -1; idx < count; ++idx) {
#pragma HLS LOOP_TRIPCOUNT min=2 max=4096
        const att::Strip cur = att::strip_at<R, T, H>(idx, count);
        const att::Strip nxt = att::strip_at<R, T, H>(idx + 1, count);
        const int cur_groups = cdiv(cur.rows, LS), nxt_groups = cdiv(nxt.rows, LS);
        // the last row division of strip n+1: group g's LS divisions start VEC_DEPTH cycles
        // after its exp pass (when its last row sum is written)
        const int div_end = nxt_groups * T + eng::VEC_DEPTH + (nxt.rows - (nxt_groups - 1) * LS);
        const int a_trip = imax(nxt.on ? QK_TRIP : 0, cur.on ? cur_groups * T : 0);
        const int b_trip = imax(cur.on ? PV_TRIP : 0, nxt.on ? imax(div_end, COPY) : 0);
        const int cur_half = idx & 1, nxt_half = (idx + 1) & 1;
        // q.k^T of the next strip
        const typename QK::in_t* qkv_n = qkv_batch + static_cast<long>(nxt.n) * T * W;
        const eng::Rows<typename QK::in_t> qa{qkv_n, W, nxt.h * HD};
        const eng::Cols<typename QK::in_t> kb{qkv_n, W, H * HD + nxt.h * HD};
        att::QkEpi<QK> qk_epi{s, top, it,
                              QK::TRACE[it] < 0 ? -1
                                                : QK::TRACE[it] + (static_cast<long>(nxt.h) * T + nxt.i0) * T};
        const long sm_trace =
            SM::TRACE[it] < 0 ? -1 : SM::TRACE[it] + (static_cast<long>(cur.h) * T + cur.i0) * T;
    att_a:
        for (int i = 0; i < a_trip; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=4096
            if (nxt.on && i < QK_TRIP)
                att::array_step<R, C, E, D, QK_SLOT>(accs, qa, kb, qk_epi, i, QK_TILES, HD, 1,
                                                     nxt.i0, nxt.rows, T);
            if (cur.on && i < cur_groups * T) {
                const int g = i / T, j = i - g * T;
                for (int l = 0; l < LS; ++l) {
#pragma HLS UNROLL
                    const int r = g * LS + l;
                    if (r < cur.rows) {
                        const int64_t ef = lane_sm_factor(ex[r][j], fac[r]);
                        pr[r][j] = static_cast<TP>((ef + half) >> shift);
                        eng::trace_put(sm_trace, static_cast<long>(r) * T + j, pr[r][j]);
                    }
                }
            }
        }
        // P.v of this strip, its v from the local copy
        const LocalV<TV, HD> vb{vl[cur_half]};
        const att::StripA<TP, T> pa{pr};
        att::PvEpi<PV> pv_epi{ctx_batch + (static_cast<long>(cur.n) * T + cur.i0) * LC + cur.h * HD,
                              LC, it};
    att_b:
        for (int i = 0; i < b_trip; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=4096
#pragma HLS DEPENDENCE variable=total inter false
            if (cur.on && i < PV_TRIP)
                att::array_step<R, C, E, D, PV_SLOT>(accs, pa, vb, pv_epi, i, PV_TILES, T,
                                                     SLICES, 0, cur.rows, HD);
            if (nxt.on && i < nxt_groups * T) {
                const int g = i / T, j = i - g * T;
                for (int l = 0; l < LS; ++l) {
#pragma HLS UNROLL
                    const int r = g * LS + l;
                    if (r < nxt.rows) {
                        const int64_t ev = shift_exp(shl(s[r][j] - top[r], k_sh), i0_sm, n_sm,
                                                     exp_form(SM::EXP_FORM));
                        ex[r][j] = ev;
                        tsum[l] = (j == 0 ? 0 : tsum[l]) + ev;
                        if (j == T - 1) total[r] = tsum[l];
                    }
                }
            }
            if (nxt.on) {
                const int dd = i - T - eng::VEC_DEPTH;
                if (dd >= 0) {
                    const int g = dd / T, l = dd - g * T, r = g * LS + l;
                    if (l < LS && r < nxt.rows)
                        fac[r] = row_div(int64_t(1) << m_bits, total[r]);
                }
            }
            if (nxt.on && i < COPY)
                copy_v_step<typename QK::in_t, TV, T, HD, X>(qkv_n, W, 2 * H * HD + nxt.h * HD,
                                                                  vl[nxt_half], i);
        }
        cycles += a_trip + att::DEPTH_A + b_trip + att::DEPTH_B;
    }
    eng::account(QK::IDX[it], cycles);
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_UNITS_ATTENTION_H
