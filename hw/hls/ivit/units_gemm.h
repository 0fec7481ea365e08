// Engine units on the GEMM array with weights from DDR (patch embedding, linear layers and
// their fused epilogues) and the unfused attention matmuls. Included by layers.h.
#ifndef IVIT_UNITS_GEMM_H
#define IVIT_UNITS_GEMM_H

#include "layers_common.h"

namespace ivit {
namespace layer {

/// The weight-panel chain of iteration `it` of a DDR GEMM's slot (its PRE, NEXT_W_OFF and
/// NEXT_K tables: whether the GEMM before loaded its first panel, and the next GEMM's first
/// panel, which it loads under its last); `half` is the top's eng_half.
template <class CFG>
inline eng::PanelLink panel_link(int& half, int it) {
#pragma HLS INLINE
    return eng::PanelLink{&half, CFG::PRE[it] != 0, CFG::NEXT_W_OFF[it],
                          static_cast<int>(CFG::NEXT_K[it])};
}

/// A bank at most this many words deep, or of at most this many bits, is distributed RAM
/// (the resource model's LUTRAM_DEPTH / LUTRAM_BITS, ivit_hls/ops/common.py IM2COL_LUTRAM_*).
constexpr int IM2COL_LUTRAM_DEPTH = 64;
constexpr int IM2COL_LUTRAM_BITS = 2048;
/// 1: half-row im2col words where they turn distributed RAM into block RAM (ivit_params.h).
#ifndef IVIT_IM2COL_HALF
#define IVIT_IM2COL_HALF 0
#endif

/// Elements of one im2col word: a patch row (P elements), or with `half`, where whole-row
/// words leave a bank (`rows_per_bank` rows of K elements of `elem_bits`) distributed RAM
/// by its depth and half-row words make it block RAM (over IM2COL_LUTRAM_DEPTH words and
/// IM2COL_LUTRAM_BITS bits), half a row for an even P.
constexpr int im2col_word(int p, int k, int rows_per_bank, bool half, int elem_bits) {
    return half && rows_per_bank * ((k + p - 1) / p) <= IM2COL_LUTRAM_DEPTH &&
                   2 * rows_per_bank * ((k + p - 1) / p) > IM2COL_LUTRAM_DEPTH &&
                   rows_per_bank * ((k + p - 1) / p) * p * elem_bits > IM2COL_LUTRAM_BITS &&
                   p % 2 == 0
               ? p / 2
               : p;
}

/// Steps of one image's load into the im2col buffer (patch_embed's `pe_load`): two words a
/// cycle through the banks' two ports (two P-element runs, patch rows, of whole-row words; one
/// of half-row words), no faster than the port's words (`per_word` elements).
inline int64_t patch_load_steps(int64_t size, int p, int pw, int per_word) {
    return eng::imax(eng::cdiv(size / p, 2 * pw / p), eng::cdiv(size, per_word));
}

/// Patch embedding: each image of the batch is read once over the activation port as
/// 64-byte words, in order, into an im2col buffer (row = image x token, column =
/// (c, kh, kw)) reshaped PW = im2col_word(...) elements a word on its columns. A run is one
/// image row's span of one patch, P elements: the load writes two words a cycle, one run of
/// whole-row words each (two banks), or one run of two half-row words (the two ports of one
/// bank). Then one GEMM over the token rows of the whole batch
/// (nb x tokens rows x W^T) whose epilogue adds positions and writes the class token (token 0,
/// an im2col row no load writes), so every row of the output comes out of the drain. MAXB is
/// part of the kernel's name, so the im2col buffer of one batch size never stands for
/// another's (g++ merges a template's static locals across the shared libraries of one
/// process). STATS: the drain leaves every token's LayerNorm sums in sx / sxx for the
/// LayerNorm after.
template <class CFG, bool STATS = false, int MAXB = IVIT_MAX_BATCH>
void patch_embed(const typename CFG::in_t* image, typename CFG::out_t* tokens,
                 const int8_t* weights, int it, int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C], int& half,
    int64_t (*sx)[CFG::EL] = nullptr, int64_t (*sxx)[CFG::EL] = nullptr) {
#pragma HLS INLINE
    typedef typename CFG::in_t TI;
    constexpr int P = CFG::P;
    constexpr int K = CFG::CH * P * P, SW = CFG::GW * P;
    constexpr int SIZE = CFG::CH * CFG::GH * P * SW;
    constexpr int NP = CFG::GH * CFG::GW, T = NP + 1;
    constexpr int PER_WORD = eng::WORD_BYTES / static_cast<int>(sizeof(TI));
    constexpr int NWORDS = (SIZE + PER_WORD - 1) / PER_WORD;
    constexpr int RUNS = SIZE / P;             // P-element runs, one patch row each
    constexpr int PW = im2col_word(P, K, (MAXB * T + CFG::R - 1) / CFG::R,   // elements a word
                                   IVIT_IM2COL_HALF != 0, 8 * static_cast<int>(sizeof(TI)));
    constexpr int RPS = 2 * PW / P;            // runs a step: two words, one per port
    constexpr int SB = 2 * P + PER_WORD;       // staging register (elements)
    static TI cols[MAXB * T][K];
#pragma HLS ARRAY_PARTITION variable=cols cyclic factor=CFG::R dim=1
#pragma HLS ARRAY_RESHAPE variable=cols cyclic factor=PW dim=2
#if IVIT_IM2COL_HALF
    // half-row words: a run's two words go through the two write ports of one bank
#pragma HLS BIND_STORAGE variable=cols type=ram_t2p impl=bram
#endif
    const int steps = static_cast<int>(patch_load_steps(SIZE, P, PW, PER_WORD));
    const int64_t bytes = static_cast<int64_t>(SIZE) * sizeof(TI);
pe_images:
    for (int n = 0; n < nb; ++n) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=IVIT_MAX_BATCH
        const TI* src = image + static_cast<long>(n) * SIZE;
        TI stg[SB];
#pragma HLS ARRAY_PARTITION variable=stg complete
        for (int j = 0; j < SB; ++j) stg[j] = 0;
        int fill = 0, rd = 0, run = 0;
        int gx = 0, kh = 0, gy = 0, ch = 0;    // run `run`: patch (gy, gx), row kh, channel ch
    pe_load:
        for (int i = 0; i < steps; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=64 max=65536
            if (fill < 2 * P && rd < NWORDS) {
                TI word[PER_WORD];
#pragma HLS ARRAY_PARTITION variable=word complete
                for (int b = 0; b < PER_WORD; ++b) {
                    if constexpr (SIZE % PER_WORD == 0)
                        word[b] = src[rd * PER_WORD + b];
                    else
                        word[b] = rd * PER_WORD + b < SIZE ? src[rd * PER_WORD + b] : TI(0);
                }
                for (int j = 0; j < SB; ++j)
                    if (j >= fill && j < fill + PER_WORD) stg[j] = word[j - fill];
                fill += PER_WORD;
                ++rd;
            }
            int m = fill >= 2 * P ? 2 : (fill >= P ? 1 : 0);
            if (m > RPS) m = RPS;
            if (m > RUNS - run) m = RUNS - run;
            for (int u = 0; u < RPS; ++u) {
                if (u < m) {
                    for (int e = 0; e < P; ++e)
                        cols[n * T + 1 + gy * CFG::GW + gx][(ch * P + kh) * P + e] = stg[u * P + e];
                    if (++gx == CFG::GW) {
                        gx = 0;
                        if (++kh == P) {
                            kh = 0;
                            if (++gy == CFG::GH) {
                                gy = 0;
                                ++ch;
                            }
                        }
                    }
                }
            }
            if (m == 1)
                for (int j = 0; j + P < SB; ++j) stg[j] = stg[j + P];
            else if (m == 2)
                for (int j = 0; j + 2 * P < SB; ++j) stg[j] = stg[j + 2 * P];
            fill -= m * P;
            run += m;
        }
#ifndef __SYNTHESIS__
        if (run != RUNS || rd != NWORDS) {
            std::fprintf(stderr, "patch_embed: image load unfinished after its steps\n");
            std::abort();
        }
#endif
        eng::account(CFG::IDX[it], steps + eng::DDR_LATENCY, 0, bytes);
    }
    eng::Rows<TI> a{&cols[0][0], K, 0};
    eng::EpiPatch<typename CFG::out_t, typename std::remove_cv<typename std::remove_reference<decltype(CFG::pos[0][0])>::type>::type>
        epi{tokens, CFG::LDY, CFG::bias[it], CFG::m[it], CFG::e[it], CFG::pos[it], CFG::cls[it],
            static_cast<int>(CFG::OUT_BITS[it]), NP, T};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC, STATS>(
        weights, CFG::W_OFF[it], nb * T, CFG::DIM, K, 1, a, epi, CFG::IDX[it], accs, panel,
        panel_link<CFG>(half, it), sx, sxx);
}

/// Linear layer with a per-channel requant: (ROWS, IN) -> (ROWS, OUT).
template <class CFG>
void linear(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights, int it,
            int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C], int& half) {
#pragma HLS INLINE
    eng::Rows<typename CFG::in_t> a{x, CFG::LDX, 0};
    eng::EpiRequant<typename CFG::out_t> epi{y, CFG::LDY, CFG::bias[it], CFG::m[it], CFG::e[it],
                                             static_cast<int>(CFG::OUT_BITS[it])};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC>(weights, CFG::W_OFF[it], nb * CFG::ROWS,
                                                       CFG::OUT, CFG::IN, 1, a, epi, CFG::IDX[it], accs, panel,
                                                       panel_link<CFG>(half, it));
}

/// Linear layer keeping the int32 accumulator (a residual branch not fused with its add).
template <class CFG>
void linear_raw(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights,
                int it, int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C], int& half) {
#pragma HLS INLINE
    eng::Rows<typename CFG::in_t> a{x, CFG::LDX, 0};
    eng::EpiRaw epi{y, CFG::LDY, CFG::bias[it]};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC>(weights, CFG::W_OFF[it], nb * CFG::ROWS,
                                                       CFG::OUT, CFG::IN, 1, a, epi, CFG::IDX[it], accs, panel,
                                                       panel_link<CFG>(half, it));
}

/// Fused: a raw linear branch and the residual add that consumes it (out may alias res).
/// STATS: the drain also leaves each output row's sum and sum of squares in sx / sxx for the
/// LayerNorm that runs next (layernorm<CFG, true>).
template <class LIN, class ADD, bool STATS = false>
void linear_residual(const typename LIN::in_t* x, const typename ADD::in1_t* res,
                     typename ADD::out_t* out, const int8_t* weights, int it, int nb,
    eng::acc_t accs[2][LIN::R][LIN::C], int8_t panel[2][LIN::KMAX][LIN::C], int& half,
    int64_t (*sx)[LIN::EL] = nullptr, int64_t (*sxx)[LIN::EL] = nullptr) {
#pragma HLS INLINE
    eng::Rows<typename LIN::in_t> a{x, LIN::LDX, 0};
    eng::EpiResidual<typename ADD::in1_t, typename ADD::out_t> epi{
        res, ADD::LDX1, out, ADD::LDY, LIN::OUT, LIN::bias[it], ADD::m_a[it], ADD::e_a[it], ADD::M_B[it],
        static_cast<int>(ADD::E_B[it]), static_cast<int>(ADD::OUT_BITS[it]), LIN::TRACE[it]};
    eng::gemm_ddr<LIN::R, LIN::C, LIN::EL, LIN::KMAX, LIN::BPC, STATS>(
        weights, LIN::W_OFF[it], nb * LIN::ROWS, LIN::OUT, LIN::IN, 1, a, epi, LIN::IDX[it], accs,
        panel, panel_link<LIN>(half, it), sx, sxx);
}

/// Fused: a requantized linear layer and the element-wise GELU after it.
template <class LIN, class GEL>
void linear_gelu(const typename LIN::in_t* x, typename GEL::out_t* y, const int8_t* weights,
                 int it, int nb,
    eng::acc_t accs[2][LIN::R][LIN::C], int8_t panel[2][LIN::KMAX][LIN::C], int& half) {
#pragma HLS INLINE
    eng::Rows<typename LIN::in_t> a{x, LIN::LDX, 0};
    eng::EpiGelu<typename GEL::out_t, typename GeluTable<GEL>::type, gelu_form(GEL::FORM)> epi{
        y, GEL::LDY, LIN::OUT, LIN::bias[it], LIN::m[it], LIN::e[it], static_cast<int>(LIN::OUT_BITS[it]),
        gelu_unit<GEL>(it), LIN::TRACE[it]};
    eng::gemm_ddr<LIN::R, LIN::C, LIN::EL, LIN::KMAX, LIN::BPC>(weights, LIN::W_OFF[it], nb * LIN::ROWS,
                                                       LIN::OUT, LIN::IN, 1, a, epi, LIN::IDX[it], accs, panel,
                                                       panel_link<LIN>(half, it));
}

/// q.k^T per head on the array (not fused with its Shiftmax): (T, 3*H*HD) -> (H, T, T).
template <class CFG>
void qk_matmul(const typename CFG::in_t* qkv_batch, typename CFG::out_t* scores_batch, int it,
               int nb, eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C]) {
#pragma HLS INLINE
    constexpr int T = CFG::T, H = CFG::H, HD = CFG::HD, W = CFG::LDX, LS = CFG::LDY;
    static_assert(CFG::C <= CFG::R, "q.k^T reads C tokens of one column per cycle from the R row banks");
    int64_t cycles = 0;
qk_images:
    for (int n = 0; n < nb; ++n) {
        const typename CFG::in_t* qkv = qkv_batch + static_cast<long>(n) * T * W;
        typename CFG::out_t* scores = scores_batch + static_cast<long>(n) * H * T * LS;
    qk_heads:
        for (int h = 0; h < H; ++h) {
            eng::Rows<typename CFG::in_t> qa{qkv, W, h * HD};
            eng::Cols<typename CFG::in_t> kb{qkv, W, H * HD + h * HD};
            eng::EpiScalar<typename CFG::out_t> epi{scores + h * T * LS, LS, CFG::M[it],
                                                    static_cast<int>(CFG::E[it]),
                                                    static_cast<int>(CFG::OUT_BITS[it])};
            eng::gemm_onchip<CFG::R, CFG::C, CFG::EL, CFG::KMAX>(T, T, HD, 1, qa, kb, epi, accs, panel);
            cycles += eng::gemm_onchip_cycles(T, T, HD, 1, CFG::R, CFG::C, CFG::EL);
        }
    }
    eng::account(CFG::IDX[it], cycles);
}

/// Cycles of pv_matmul's copy of one head's v into its local array (the copy loop and the
/// vector pipeline's depth).
inline int64_t pv_copy_cycles(int T, int HD, int X) { return copy_v_steps(T, HD, X) + eng::VEC_DEPTH; }

/// P.v per head on the array (not fused): probabilities (H, T, T) and qkv -> (T, H*HD). Each
/// head's v is first copied into a local array banked on its columns (the B operand reads C
/// columns of one token per step, which the qkv buffer keeps in one row bank).
template <class CFG>
void pv_matmul(const typename CFG::in_t* probs_batch, const typename CFG::in1_t* qkv_batch,
               typename CFG::out_t* out_batch, int it, int nb,
    eng::acc_t accs[2][CFG::R][CFG::C], int8_t panel[2][CFG::KMAX][CFG::C]) {
#pragma HLS INLINE
    constexpr int T = CFG::T, H = CFG::H, HD = CFG::HD, W = CFG::LDX1;
    constexpr int LP = CFG::LDX, LO = CFG::LDY;  // row strides of the probabilities and the output
    constexpr int X = copy_v_lanes(CFG::R, HD);
    typedef typename CFG::in1_t TV;
    static TV vl[T][HD];
#pragma HLS ARRAY_PARTITION variable=vl complete dim=2
    int64_t cycles = 0;
pv_images:
    for (int n = 0; n < nb; ++n) {
        const typename CFG::in_t* probs = probs_batch + static_cast<long>(n) * H * T * LP;
        const typename CFG::in1_t* qkv = qkv_batch + static_cast<long>(n) * T * W;
        typename CFG::out_t* out = out_batch + static_cast<long>(n) * T * LO;
    pv_heads:
        for (int h = 0; h < H; ++h) {
        pv_copy:
            for (int i = 0; i < copy_v_steps(T, HD, X); ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536
                copy_v_step<TV, TV, T, HD, X>(qkv, W, 2 * H * HD + h * HD, vl, i);
            }
            cycles += pv_copy_cycles(T, HD, X);
            eng::Rows<typename CFG::in_t> pa{probs + h * T * LP, LP, 0};
            const LocalV<TV, HD> vb{vl};
            eng::EpiScalar<typename CFG::out_t> epi{out + h * HD, LO, CFG::M[it],
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
