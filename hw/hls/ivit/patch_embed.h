// Patch embedding: the patch convolution as a GEMM over im2col rows, requant, + position,
// saturate; token 0 is the class token (already summed with position 0).
#ifndef IVIT_PATCH_EMBED_H
#define IVIT_PATCH_EMBED_H

#include "gemm.h"

namespace ivit {

/// Epilogue: token t+1 = sat(requant(acc + bias, m, e) + pos[t], bits) (saturated once).
template <typename TO, typename TP>
struct PatchEpi {
    TO* out;
    int dim;
    const int32_t* bias;
    const int32_t* m;
    const uint8_t* e;
    const TP* pos;
    int bits;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) {
        const int64_t v = requant(acc, m[j], e[j]) + pos[i * dim + j];
        out[(i + 1) * dim + j] = static_cast<TO>(saturate(v, bits));
    }
};

/// image (CH, GH*P, GW*P) -> tokens (1 + GH*GW, DIM). `wt` is the conv weight transposed:
/// (CH*P*P, DIM), rows in (c, kh, kw) order.
template <int R, int C, int CH, int P, int GH, int GW, int DIM, typename TI, typename TO, typename TP>
void patch_embed(const TI* image, const int8_t* wt, TO* tokens, const int32_t* bias,
                 const int32_t* m, const uint8_t* e, const TP* cls, const TP* pos, int bits) {
    constexpr int K = CH * P * P;
    constexpr int SW = GW * P;
    TI cols[GH * GW * K];
pe_im2col:
    for (int gy = 0; gy < GH; ++gy)
        for (int gx = 0; gx < GW; ++gx)
            for (int c = 0; c < CH; ++c)
                for (int kh = 0; kh < P; ++kh)
                    for (int kw = 0; kw < P; ++kw) {
#pragma HLS PIPELINE II=1
                        cols[(gy * GW + gx) * K + (c * P + kh) * P + kw] =
                            image[(c * GH * P + gy * P + kh) * SW + gx * P + kw];
                    }
pe_cls:
    for (int j = 0; j < DIM; ++j) tokens[j] = static_cast<TO>(cls[j]);
    PatchEpi<TO, TP> epi{tokens, DIM, bias, m, e, pos, bits};
    gemm<R, C>(cols, K, wt, DIM, GH * GW, DIM, K, epi);
}

}  // namespace ivit

#endif  // IVIT_PATCH_EMBED_H
