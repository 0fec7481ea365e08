// Attention matmuls on the GEMM array, head by head. qkv holds per token [q | k | v], each
// H*HD wide with head h at columns h*HD..h*HD+HD-1 (the integer model's layout).
#ifndef IVIT_ATTENTION_H
#define IVIT_ATTENTION_H

#include "gemm.h"

namespace ivit {

/// scores[h][i][j] = sat(requant(sum_d q[i][h,d] * k[j][h,d], m, e)), shape (H, T, T).
/// K of one head is first transposed into an on-chip buffer (HD x T) so the array streams
/// contiguous rows of it.
template <int R, int C, int T, int H, int HD, typename TQ, typename TO>
void qk_matmul(const TQ* qkv, TO* scores, int64_t m, int e, int out_bits) {
    constexpr int W = 3 * H * HD;
    TQ kt[HD * T];
qk_heads:
    for (int h = 0; h < H; ++h) {
    qk_transpose:
        for (int j = 0; j < T; ++j)
            for (int d = 0; d < HD; ++d) {
#pragma HLS PIPELINE II=1
                kt[d * T + j] = qkv[j * W + H * HD + h * HD + d];
            }
        ScalarRequantEpi<TO> epi{scores + h * T * T, T, m, e, out_bits};
        gemm<R, C>(qkv + h * HD, W, kt, T, T, T, HD, epi);
    }
}

/// out[i][h*HD + d] = sat(requant(sum_j P[h][i][j] * v[j][h,d], m, e)), shape (T, H*HD).
template <int R, int C, int T, int H, int HD, typename TP, typename TQ, typename TO>
void pv_matmul(const TP* probs, const TQ* qkv, TO* out, int64_t m, int e, int out_bits) {
    constexpr int W = 3 * H * HD;
pv_heads:
    for (int h = 0; h < H; ++h) {
        ScalarRequantEpi<TO> epi{out + h * HD, H * HD, m, e, out_bits};
        gemm<R, C>(probs + h * T * T, T, qkv + 2 * H * HD + h * HD, W, T, HD, T, epi);
    }
}

}  // namespace ivit

#endif  // IVIT_ATTENTION_H
