// Swin layer kernels (spec §14): window attention with the relative position bias and the
// shifted-window mask, the patch embedding without class token, patch merging, and the
// pooled head. Each is templated on its layer's config struct, like the kernels of
// layers.h: ivit::layer::KIND<CFG>(inputs..., output[, weights]).
//
// Window attention reads natural-order tokens through CFG::index (windowed position ->
// token: the cyclic shift and the window partition, computed at generation time) and writes
// its context back through the same table; CFG::label holds each windowed position's region
// of the shifted grid: a query and a key with different labels are masked.
#ifndef IVIT_SWIN_H
#define IVIT_SWIN_H

#include <cstdint>

#include "gemm.h"
#include "shiftexp.h"
#include "types.h"

namespace ivit {
namespace swin {

/// CFG::EXP_FORM holds ivit::layer::ExpFormId (0 corrected, 1 paper) -> the ShiftExp form.
constexpr int exp_form_of(int id) { return id == 1 ? ivit::EXP_PAPER : ivit::EXP_CORRECTED; }

/// Epilogue: scores = sat(requant(acc, m, e) + bias[i][j], bits), the requant unsaturated.
template <typename TO>
struct ScoreBiasEpi {
    TO* out;
    const int16_t* bias;  // (N, N) of this head
    int n;
    int64_t m;
    int e;
    int bits;
    int32_t init(int) const { return 0; }
    void store(int i, int j, int32_t acc) {
        out[i * n + j] = static_cast<TO>(saturate(requant(acc, m, e) + bias[i * n + j], bits));
    }
};

/// Epilogue: context row i of a window goes to its natural token index[base + i].
template <typename TO>
struct ScatterEpi {
    TO* out;
    const int32_t* index;
    int base;
    int ldo;
    int col;
    int64_t m;
    int e;
    int bits;
    int32_t init(int) const { return 0; }
    void store(int i, int j, int32_t acc) {
        out[static_cast<long>(index[base + i]) * ldo + col + j] =
            static_cast<TO>(requant_sat(acc, m, e, bits));
    }
};

}  // namespace swin

namespace layer {

/// Window scores with the relative position bias: qkv (T, 3*H*HD) -> (NW, H, N, N).
template <class CFG>
void window_qk(const typename CFG::in_t* qkv, typename CFG::out_t* scores) {
    constexpr int N = CFG::N, H = CFG::H, HD = CFG::HD, W = 3 * H * HD;
    typename CFG::in_t qw[N * HD];
    typename CFG::in_t kt[HD * N];  // k transposed: the B operand (HD x N)
wqk_windows:
    for (int w = 0; w < CFG::NW; ++w) {
    wqk_heads:
        for (int h = 0; h < H; ++h) {
        wqk_gather:
            for (int i = 0; i < N; ++i)
                for (int d = 0; d < HD; ++d) {
#pragma HLS PIPELINE II=1
                    const long row = static_cast<long>(CFG::index[w * N + i]) * W;
                    qw[i * HD + d] = qkv[row + h * HD + d];
                    kt[d * N + i] = qkv[row + H * HD + h * HD + d];
                }
            swin::ScoreBiasEpi<typename CFG::out_t> epi{
                scores + (static_cast<long>(w) * H + h) * N * N, CFG::bias + h * N * N, N,
                CFG::M, CFG::E, CFG::OUT_BITS};
            gemm<CFG::R, CFG::C>(qw, HD, kt, N, N, N, HD, epi);
        }
    }
}

/// Shiftmax over window rows with the shifted-window mask: a masked logit is left out of the
/// row maximum and the row sum and gets probability exactly 0. (NW, H, LEN, LEN) -> same.
template <class CFG>
void window_shiftmax(const typename CFG::in_t* x, typename CFG::out_t* y) {
    constexpr int LEN = CFG::LEN;
    const int form = swin::exp_form_of(CFG::EXP_FORM);
    const int m_bits = bit_length(static_cast<int64_t>(CFG::I0) << CFG::N) + 30;
    const int shift = m_bits - (CFG::OUT_BITS - 1);
    const int64_t half = int64_t(1) << (shift - 1);
    int64_t ebuf[LEN];
wsm_rows:
    for (long r = 0; r < static_cast<long>(CFG::NW) * CFG::H * LEN; ++r) {
        const int w = static_cast<int>(r / (CFG::H * LEN));
        const int i = static_cast<int>(r % LEN);
        const uint8_t* lab = CFG::label + w * LEN;
        const typename CFG::in_t* row = x + r * LEN;
        int64_t top = row[i];  // the diagonal is never masked
    wsm_max:
        for (int j = 0; j < LEN; ++j) {
#pragma HLS PIPELINE II=1
            if (lab[j] == lab[i] && row[j] > top) top = row[j];
        }
        int64_t total = 0;
    wsm_exp:
        for (int j = 0; j < LEN; ++j) {
#pragma HLS PIPELINE II=1
            const int64_t ev =
                lab[j] == lab[i] ? shift_exp(shl(row[j] - top, CFG::K), CFG::I0, CFG::N, form) : 0;
            ebuf[j] = ev;
            total += ev;
        }
        const int64_t factor = (int64_t(1) << m_bits) / total;  // total >= I0 << N > 0
        typename CFG::out_t* out = y + r * LEN;
    wsm_norm:
        for (int j = 0; j < LEN; ++j) {
#pragma HLS PIPELINE II=1
            out[j] = static_cast<typename CFG::out_t>((ebuf[j] * factor + half) >> shift);
        }
    }
}

/// Window context P.v, written back to natural token order: probabilities (NW, H, N, N)
/// and qkv (T, 3*H*HD) -> (T, H*HD).
template <class CFG>
void window_pv(const typename CFG::in_t* probs, const typename CFG::in1_t* qkv,
               typename CFG::out_t* out) {
    constexpr int N = CFG::N, H = CFG::H, HD = CFG::HD, W = 3 * H * HD;
    typename CFG::in1_t vw[N * HD];
wpv_windows:
    for (int w = 0; w < CFG::NW; ++w) {
    wpv_heads:
        for (int h = 0; h < H; ++h) {
        wpv_gather:
            for (int i = 0; i < N; ++i)
                for (int d = 0; d < HD; ++d) {
#pragma HLS PIPELINE II=1
                    vw[i * HD + d] =
                        qkv[static_cast<long>(CFG::index[w * N + i]) * W + 2 * H * HD + h * HD + d];
                }
            swin::ScatterEpi<typename CFG::out_t> epi{out, CFG::index, w * N, H * HD, h * HD,
                                                      CFG::M, CFG::E, CFG::OUT_BITS};
            gemm<CFG::R, CFG::C>(probs + (static_cast<long>(w) * H + h) * N * N, N, vw, HD, N,
                                 HD, N, epi);
        }
    }
}

/// Patch embedding without class token or positions: image (CH, GH*P, GW*P) ->
/// (GH*GW, DIM) = sat(requant(patches * W^T + bias)).
template <class CFG>
void patch_tokens(const typename CFG::in_t* image, typename CFG::out_t* tokens,
                  const int8_t* weights) {
    constexpr int P = CFG::P, GH = CFG::GH, GW = CFG::GW, K = CFG::CH * P * P;
    static typename CFG::in_t cols[GH * GW * K];
pt_im2col:
    for (int gy = 0; gy < GH; ++gy)
        for (int gx = 0; gx < GW; ++gx)
            for (int c = 0; c < CFG::CH; ++c)
                for (int kh = 0; kh < P; ++kh)
                    for (int kw = 0; kw < P; ++kw) {
#pragma HLS PIPELINE II=1
                        cols[(gy * GW + gx) * K + (c * P + kh) * P + kw] =
                            image[(c * GH * P + gy * P + kh) * (GW * P) + gx * P + kw];
                    }
    LinearRequantEpi<typename CFG::out_t> epi{tokens, CFG::DIM, CFG::bias, CFG::m, CFG::e,
                                              CFG::OUT_BITS};
    gemm<CFG::R, CFG::C>(cols, K, weights + CFG::W_OFF, CFG::DIM, GH * GW, CFG::DIM, K, epi);
}

/// Patch merging's data movement: (GH*GW, CH) -> (GH/2*GW/2, 4*CH); output token (i, j)
/// holds input tokens (2i, 2j), (2i+1, 2j), (2i, 2j+1), (2i+1, 2j+1) in that order.
template <class CFG>
void patch_merge(const typename CFG::in_t* x, typename CFG::out_t* y) {
    constexpr int CH = CFG::CH, GW = CFG::GW;
pm_tokens:
    for (int i = 0; i < CFG::GH / 2; ++i)
        for (int j = 0; j < GW / 2; ++j)
            for (int part = 0; part < 4; ++part)
                for (int c = 0; c < CH; ++c) {
#pragma HLS PIPELINE II=1
                    const int src = (2 * i + (part & 1)) * GW + 2 * j + (part >> 1);
                    y[(static_cast<long>(i) * (GW / 2) + j) * 4 * CH + part * CH + c] =
                        static_cast<typename CFG::out_t>(x[static_cast<long>(src) * CH + c]);
                }
}

/// Average over tokens: y[c] = sat(requant(sum_t x[t][c], M, E)), (ROWS, COLS) -> (1, COLS).
template <class CFG>
void mean_pool(const typename CFG::in_t* x, typename CFG::out_t* y) {
mp_cols:
    for (int c = 0; c < CFG::COLS; ++c) {
        int64_t total = 0;
    mp_rows:
        for (int t = 0; t < CFG::ROWS; ++t) {
#pragma HLS PIPELINE II=1
            total += x[static_cast<long>(t) * CFG::COLS + c];
        }
        y[c] = static_cast<typename CFG::out_t>(requant_sat(total, CFG::M, CFG::E, CFG::OUT_BITS));
    }
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_SWIN_H
