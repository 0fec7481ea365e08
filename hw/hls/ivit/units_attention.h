// The fused attention unit: q.k^T, Shiftmax and P.v per head on one strip of rows. Included by
// layers.h.
#ifndef IVIT_UNITS_ATTENTION_H
#define IVIT_UNITS_ATTENTION_H

#include "units_vector.h"

namespace ivit {
namespace layer {

/// Fused attention: per head and R-row strip, q.k^T on the array (row max in its drain, DR
/// rows per cycle), Shiftmax of the strip on the vector unit, P.v on the array; scores and
/// probabilities exist only as one strip. The vector work of a strip overlaps the array work
/// of the next (across heads and images: the images of a batch run one after another).
template <class QK, class SM, class PV>
void attention(const typename QK::in_t* qkv_batch, typename PV::out_t* ctx_batch, int it, int nb,
               eng::acc_t accs[2][QK::R][QK::C], int8_t panel[2][QK::KMAX][QK::C]) {
    (void)panel;  // on-chip operands only: no weight panels
    constexpr int R = QK::R, C = QK::C, T = QK::T, H = QK::H, HD = QK::HD, W = 3 * H * HD;
    // drain rows per cycle: an R-row tile of q.k^T drains in ceil(R/DR) * ceil(C/EL) cycles,
    // within its K = HD array steps, so the drain stays hidden under the next tile
    constexpr int CHUNKS = (C + QK::EL - 1) / QK::EL;
    constexpr int DR = (R * CHUNKS + HD - 1) / HD < R ? (R * CHUNKS + HD - 1) / HD : R;
    typedef typename QK::out_t TS;
    typedef typename SM::out_t TP;
    static TS s[R][T];
    static TP pr[R][T];
    static int64_t ebuf[T];
#pragma HLS ARRAY_PARTITION variable=s cyclic factor=DR dim=1
#pragma HLS ARRAY_PARTITION variable=s cyclic factor=QK::L dim=2
#pragma HLS ARRAY_PARTITION variable=pr complete dim=1
    int64_t top[R];
    int64_t cycles = eng::ROW_LATENCY + eng::VEC_DEPTH;
    bool first = true;
att_images:
    for (int n = 0; n < nb; ++n) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=IVIT_MAX_BATCH
        const typename QK::in_t* qkv = qkv_batch + static_cast<long>(n) * T * W;
        typename PV::out_t* ctx = ctx_batch + static_cast<long>(n) * T * H * HD;
    att_heads:
        for (int h = 0; h < H; ++h) {
        att_strips:
            for (int i0 = 0; i0 < T; i0 += R) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
                const int rows = T - i0 < R ? T - i0 : R;
                eng::Rows<typename QK::in_t> qa{qkv, W, h * HD};
                eng::Cols<typename QK::in_t> kb{qkv, W, H * HD + h * HD};
                for (int r = 0; r < R; ++r) top[r] = INT64_MIN;
            att_qk:
                for (int j0 = 0; j0 < T; j0 += C) {
                    const int cols = T - j0 < C ? T - j0 : C;
                    eng::acc_t (&acc)[R][C] = accs[0];
                    for (int r = 0; r < R; ++r)
                        for (int c = 0; c < C; ++c) acc[r][c] = 0;
                    eng::mac_tile<R, C>(acc, qa, kb, i0, j0, rows, cols, HD, 1);
                qk_drain:
                    for (int r0 = 0; r0 < rows; r0 += DR) {
                        for (int c0 = 0; c0 < cols; c0 += QK::EL) {
#pragma HLS PIPELINE II=1
                            for (int r = r0; r < r0 + DR && r < rows; ++r) {
                                for (int c = c0; c < c0 + QK::EL && c < cols; ++c) {
                                    const int64_t v = requant_product(
                                        lane_epi_requant(static_cast<int32_t>(acc[r][c]), QK::M[it]),
                                        static_cast<int>(QK::E[it]), static_cast<int>(QK::OUT_BITS[it]));
                                    s[r][j0 + c] = static_cast<TS>(v);
                                    eng::trace_put(QK::TRACE[it], (static_cast<long>(h) * T + i0 + r) * T + j0 + c, v);
                                    if (v > top[r]) top[r] = v;
                                }
                            }
                        }
                    }
                }
                for (int r = 0; r < rows; ++r)
                    shiftmax_row<SM>(s[r], pr[r], T, top[r], ebuf, it,
                                     SM::TRACE[it] + (static_cast<long>(h) * T + i0 + r) * T);
                eng::Rows<TP> pa{&pr[0][0], T, 0};
                eng::Rows<typename QK::in_t> vb{qkv, W, 2 * H * HD + h * HD};
            att_pv:
                for (int j0 = 0; j0 < HD; j0 += C) {
                    const int cols = HD - j0 < C ? HD - j0 : C;
                    eng::acc_t (&acc)[R][C] = accs[0];
                    for (int r = 0; r < R; ++r)
                        for (int c = 0; c < C; ++c) acc[r][c] = 0;
                    eng::mac_tile<R, C>(acc, pa, vb, 0, j0, rows, cols, T, PV::SLICES);
                pv_drain:
                    for (int r0 = 0; r0 < rows; r0 += DR) {
                        for (int c0 = 0; c0 < cols; c0 += QK::EL) {
#pragma HLS PIPELINE II=1
                            for (int r = r0; r < r0 + DR && r < rows; ++r) {
                                for (int c = c0; c < c0 + QK::EL && c < cols; ++c) {
                                    ctx[(i0 + r) * H * HD + h * HD + j0 + c] = static_cast<typename PV::out_t>(
                                        requant_product(
                                            lane_epi_requant(static_cast<int32_t>(acc[r][c]), PV::M[it]),
                                            static_cast<int>(PV::E[it]),
                                            static_cast<int>(PV::OUT_BITS[it])));
                                }
                            }
                        }
                    }
                }
                const int64_t d = eng::cdiv(R, DR) * eng::cdiv(C, QK::EL);
                const int64_t array = eng::strip_cycles(static_cast<int>(eng::cdiv(T, C)), HD, 1, d) +
                                      eng::strip_cycles(static_cast<int>(eng::cdiv(HD, C)), T, PV::SLICES, d);
                const int64_t vec = static_cast<int64_t>(rows) * 2 * eng::cdiv(T, QK::L);
                cycles += (first ? vec : 0) + eng::imax(array, vec);
                first = false;
            }
        }
    }
    eng::account(QK::IDX[it], cycles);
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_UNITS_ATTENTION_H
