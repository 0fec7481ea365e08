// Engine units on the GEMM array with weights from DDR (patch embedding, linear layers and
// their fused epilogues) and the unfused attention matmuls. Included by layers.h.
#ifndef IVIT_UNITS_GEMM_H
#define IVIT_UNITS_GEMM_H

#include "layers_common.h"

namespace ivit {
namespace layer {

/// Patch embedding: each image of the batch is read once over the activation port, one
/// 64-byte word per cycle, straight into an im2col buffer (row = image x patch, column =
/// (c, kh, kw)); then one GEMM over the whole batch (nb x patches rows x W^T) whose epilogue
/// adds positions; token 0 of every image is the class token. MAXB is part of the kernel's
/// name, so the im2col buffer of one batch size never stands for another's (g++ merges a
/// template's static locals across the shared libraries of one process).
template <class CFG, int MAXB = IVIT_MAX_BATCH>
void patch_embed(const typename CFG::in_t* image, typename CFG::out_t* tokens,
                 const int8_t* weights, int it, int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C]) {
#pragma HLS INLINE
    typedef typename CFG::in_t TI;
    constexpr int K = CFG::CH * CFG::P * CFG::P, SW = CFG::GW * CFG::P;
    constexpr int SIZE = CFG::CH * CFG::GH * CFG::P * SW;
    constexpr int NP = CFG::GH * CFG::GW, T = NP + 1;
    constexpr int PER_WORD = eng::WORD_BYTES / static_cast<int>(sizeof(TI));
    static TI cols[MAXB * NP][K];
#pragma HLS ARRAY_PARTITION variable=cols cyclic factor=CFG::R dim=1
    const int64_t bytes = static_cast<int64_t>(SIZE) * sizeof(TI);
pe_images:
    for (int n = 0; n < nb; ++n) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=IVIT_MAX_BATCH
        const TI* src = image + static_cast<long>(n) * SIZE;
    pe_load:
        for (int w = 0; w < (SIZE + PER_WORD - 1) / PER_WORD; ++w) {
#pragma HLS PIPELINE II=1
            for (int b = 0; b < PER_WORD; ++b) {
                const int i = w * PER_WORD + b;
                if (i >= SIZE) break;
                const int x = i % SW, y = (i / SW) % (CFG::GH * CFG::P), c = i / (SW * CFG::GH * CFG::P);
                cols[n * NP + (y / CFG::P) * CFG::GW + x / CFG::P]
                    [(c * CFG::P + y % CFG::P) * CFG::P + x % CFG::P] = src[i];
            }
        }
        eng::account(CFG::IDX[it], eng::cdiv(bytes, eng::WORD_BYTES) + eng::DDR_LATENCY, 0, bytes);
    pe_cls:
        for (int j = 0; j < CFG::DIM; ++j)
            tokens[static_cast<long>(n) * T * CFG::DIM + j] = static_cast<typename CFG::out_t>(CFG::cls[it][j]);
    }
    eng::Rows<TI> a{&cols[0][0], K, 0};
    eng::EpiPatch<typename CFG::out_t, typename std::remove_cv<typename std::remove_reference<decltype(CFG::pos[0][0])>::type>::type>
        epi{tokens, CFG::DIM, CFG::bias[it], CFG::m[it], CFG::e[it], CFG::pos[it],
            static_cast<int>(CFG::OUT_BITS[it]), NP, T};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC>(
        weights, CFG::W_OFF[it], nb * NP, CFG::DIM, K, 1, a, epi, CFG::IDX[it], accs, panel);
}

/// Linear layer with a per-channel requant: (ROWS, IN) -> (ROWS, OUT).
template <class CFG>
void linear(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights, int it,
            int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C]) {
#pragma HLS INLINE
    eng::Rows<typename CFG::in_t> a{x, CFG::IN, 0};
    eng::EpiRequant<typename CFG::out_t> epi{y, CFG::OUT, CFG::bias[it], CFG::m[it], CFG::e[it],
                                             static_cast<int>(CFG::OUT_BITS[it])};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC>(weights, CFG::W_OFF[it], nb * CFG::ROWS,
                                                       CFG::OUT, CFG::IN, 1, a, epi, CFG::IDX[it], accs, panel);
}

/// Linear layer keeping the int32 accumulator (a residual branch not fused with its add).
template <class CFG>
void linear_raw(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights,
                int it, int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C]) {
#pragma HLS INLINE
    eng::Rows<typename CFG::in_t> a{x, CFG::IN, 0};
    eng::EpiRaw epi{y, CFG::OUT, CFG::bias[it]};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC>(weights, CFG::W_OFF[it], nb * CFG::ROWS,
                                                       CFG::OUT, CFG::IN, 1, a, epi, CFG::IDX[it], accs, panel);
}

/// Fused: a raw linear branch and the residual add that consumes it (out may alias res).
template <class LIN, class ADD>
void linear_residual(const typename LIN::in_t* x, const typename ADD::in1_t* res,
                     typename ADD::out_t* out, const int8_t* weights, int it, int nb,
    eng::acc_t accs[2][LIN::R][LIN::C], int8_t panel[2][LIN::KMAX][LIN::C]) {
#pragma HLS INLINE
    eng::Rows<typename LIN::in_t> a{x, LIN::IN, 0};
    eng::EpiResidual<typename ADD::in1_t, typename ADD::out_t> epi{
        res, out, LIN::OUT, LIN::bias[it], ADD::m_a[it], ADD::e_a[it], ADD::M_B[it],
        static_cast<int>(ADD::E_B[it]), static_cast<int>(ADD::OUT_BITS[it]), LIN::TRACE[it]};
    eng::gemm_ddr<LIN::R, LIN::C, LIN::EL, LIN::KMAX, LIN::BPC>(weights, LIN::W_OFF[it], nb * LIN::ROWS,
                                                       LIN::OUT, LIN::IN, 1, a, epi, LIN::IDX[it], accs, panel);
}

/// Fused: a requantized linear layer and the element-wise GELU after it.
template <class LIN, class GEL>
void linear_gelu(const typename LIN::in_t* x, typename GEL::out_t* y, const int8_t* weights,
                 int it, int nb,
    eng::acc_t accs[2][LIN::R][LIN::C], int8_t panel[2][LIN::KMAX][LIN::C]) {
#pragma HLS INLINE
    eng::Rows<typename LIN::in_t> a{x, LIN::IN, 0};
    eng::EpiGelu<typename GEL::out_t, typename GeluTable<GEL>::type, gelu_form(GEL::FORM)> epi{
        y, LIN::OUT, LIN::bias[it], LIN::m[it], LIN::e[it], static_cast<int>(LIN::OUT_BITS[it]),
        gelu_unit<GEL>(it), LIN::TRACE[it]};
    eng::gemm_ddr<LIN::R, LIN::C, LIN::EL, LIN::KMAX, LIN::BPC>(weights, LIN::W_OFF[it], nb * LIN::ROWS,
                                                       LIN::OUT, LIN::IN, 1, a, epi, LIN::IDX[it], accs, panel);
}

/// q.k^T per head on the array (not fused with its Shiftmax): (T, 3*H*HD) -> (H, T, T).
template <class CFG>
void qk_matmul(const typename CFG::in_t* qkv_batch, typename CFG::out_t* scores_batch, int it,
               int nb, eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C]) {
#pragma HLS INLINE
    constexpr int T = CFG::T, H = CFG::H, HD = CFG::HD, W = 3 * H * HD;
    int64_t cycles = 0;
qk_images:
    for (int n = 0; n < nb; ++n) {
        const typename CFG::in_t* qkv = qkv_batch + static_cast<long>(n) * T * W;
        typename CFG::out_t* scores = scores_batch + static_cast<long>(n) * H * T * T;
    qk_heads:
        for (int h = 0; h < H; ++h) {
            eng::Rows<typename CFG::in_t> qa{qkv, W, h * HD};
            eng::Cols<typename CFG::in_t> kb{qkv, W, H * HD + h * HD};
            eng::EpiScalar<typename CFG::out_t> epi{scores + h * T * T, T, CFG::M[it],
                                                    static_cast<int>(CFG::E[it]),
                                                    static_cast<int>(CFG::OUT_BITS[it])};
            eng::gemm_onchip<CFG::R, CFG::C, CFG::EL, CFG::KMAX>(T, T, HD, 1, qa, kb, epi, accs, panel);
            cycles += eng::gemm_onchip_cycles(T, T, HD, 1, CFG::R, CFG::C, CFG::EL);
        }
    }
    eng::account(CFG::IDX[it], cycles);
}

/// P.v per head on the array (not fused): probabilities (H, T, T) and qkv -> (T, H*HD).
template <class CFG>
void pv_matmul(const typename CFG::in_t* probs_batch, const typename CFG::in1_t* qkv_batch,
               typename CFG::out_t* out_batch, int it, int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C]) {
#pragma HLS INLINE
    constexpr int T = CFG::T, H = CFG::H, HD = CFG::HD, W = 3 * H * HD;
    int64_t cycles = 0;
pv_images:
    for (int n = 0; n < nb; ++n) {
        const typename CFG::in_t* probs = probs_batch + static_cast<long>(n) * H * T * T;
        const typename CFG::in1_t* qkv = qkv_batch + static_cast<long>(n) * T * W;
        typename CFG::out_t* out = out_batch + static_cast<long>(n) * T * H * HD;
    pv_heads:
        for (int h = 0; h < H; ++h) {
            eng::Rows<typename CFG::in_t> pa{probs + h * T * T, T, 0};
            eng::Rows<typename CFG::in1_t> vb{qkv, W, 2 * H * HD + h * HD};
            eng::EpiScalar<typename CFG::out_t> epi{out + h * HD, H * HD, CFG::M[it],
                                                    static_cast<int>(CFG::E[it]),
                                                    static_cast<int>(CFG::OUT_BITS[it])};
            eng::gemm_onchip<CFG::R, CFG::C, CFG::EL, CFG::KMAX>(T, HD, T, CFG::SLICES, pa, vb, epi, accs, panel);
            cycles += eng::gemm_onchip_cycles(T, HD, T, CFG::SLICES, CFG::R, CFG::C, CFG::EL);
        }
    }
    eng::account(CFG::IDX[it], cycles);
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_UNITS_GEMM_H
