// Layer kernels of the engine, one per layer kind plus the fused pairs, each templated on the
// config structs of its layers (generated into ivit_params.h). A config struct is a slot: the
// same layer in every iteration of the block loop. Dimensions and element types are plain
// members; every per-layer constant is a table indexed by the iteration `it` (scalars
// NAME[it], per-channel arrays name[it][c]), with W_OFF[it] (weight panels), TRACE[it]
// (trace offset) and IDX[it] (layer index for the cycle accounting). Engine parameters:
// R, C (array), EL (epilogue lanes), L (vector lanes), KMAX (panel depth), BPC (DDR bytes
// per cycle). Every engine kernel takes `nb`, the images of this batch (1..IVIT_MAX_BATCH):
// image b's tensor starts at b times the tensor's size in every buffer, so token-wise units
// run over nb * ROWS rows (one GEMM per weight panel for the whole batch) and attention loops
// over the images.
#ifndef IVIT_LAYERS_H
#define IVIT_LAYERS_H

#include <type_traits>

#include "engine.h"

namespace ivit {
namespace layer {

/// String-valued attributes of the integer model, as the config structs carry them.
enum GeluFormId { GELU_SHIFT = 0, GELU_SYMMETRIC = 1, GELU_ROWMAX = 2, GELU_TABLE = 3 };
enum ExpFormId { EXP_CORRECTED = 0, EXP_PAPER = 1 };

}  // namespace layer
}  // namespace ivit

// Kinds without an engine unit: layer kernels of the plain contract
// ivit::layer::KIND<CFG>(inputs..., output[, weights]) (Swin layers, I-BERT ablations).
#include "ibert.h"
#include "swin.h"

namespace ivit {
namespace layer {

constexpr int exp_form(int id) { return id == EXP_PAPER ? ivit::EXP_PAPER : ivit::EXP_CORRECTED; }
constexpr int gelu_form(int id) {
    return id == GELU_SHIFT ? ivit::GELU_SHIFT
                            : (id == GELU_TABLE ? ivit::GELU_TABLE
                                                : (id == GELU_ROWMAX ? ivit::GELU_ROWMAX
                                                                     : ivit::GELU_SYMMETRIC));
}

/// The GELU table of a slot (table form), or none.
template <class CFG, class = void>
struct GeluTable {
    typedef int8_t type;
    static const type* get(int) { return nullptr; }
};
template <class CFG>
struct GeluTable<CFG, decltype((void)CFG::table, void())> {
    typedef typename std::remove_cv<typename std::remove_reference<decltype(CFG::table[0][0])>::type>::type type;
    static const type* get(int it) { return CFG::table[it]; }
};

template <class CFG>
eng::GeluUnit<typename GeluTable<CFG>::type> gelu_unit(int it) {
    return {gelu_form(CFG::FORM), static_cast<int>(CFG::K[it]), CFG::I0[it],
            static_cast<int>(CFG::N[it]),
            CFG::FORM == GELU_SHIFT ? gelu_recip(CFG::I0[it]) : 0,
            CFG::M[it], static_cast<int>(CFG::E[it]), static_cast<int>(CFG::OUT_BITS[it]),
            GeluTable<CFG>::get(it), int64_t(1) << (CFG::IN_BITS - 1)};
}

/// Patch embedding: each image of the batch is read once over the activation port, one
/// 64-byte word per cycle, straight into an im2col buffer (row = image x patch, column =
/// (c, kh, kw)); then one GEMM over the whole batch (nb x patches rows x W^T) whose epilogue
/// adds positions; token 0 of every image is the class token. MAXB is part of the kernel's
/// name, so the im2col buffer of one batch size never stands for another's (g++ merges a
/// template's static locals across the shared libraries of one process).
template <class CFG, int MAXB = IVIT_MAX_BATCH>
void patch_embed(const typename CFG::in_t* image, typename CFG::out_t* tokens,
                 const int8_t* weights, int it, int nb) {
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
        weights, CFG::W_OFF[it], nb * NP, CFG::DIM, K, 1, a, epi, CFG::IDX[it]);
}

/// Linear layer with a per-channel requant: (ROWS, IN) -> (ROWS, OUT).
template <class CFG>
void linear(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights, int it,
            int nb) {
    eng::Rows<typename CFG::in_t> a{x, CFG::IN, 0};
    eng::EpiRequant<typename CFG::out_t> epi{y, CFG::OUT, CFG::bias[it], CFG::m[it], CFG::e[it],
                                             static_cast<int>(CFG::OUT_BITS[it])};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC>(weights, CFG::W_OFF[it], nb * CFG::ROWS,
                                                       CFG::OUT, CFG::IN, 1, a, epi, CFG::IDX[it]);
}

/// Linear layer keeping the int32 accumulator (a residual branch not fused with its add).
template <class CFG>
void linear_raw(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights,
                int it, int nb) {
    eng::Rows<typename CFG::in_t> a{x, CFG::IN, 0};
    eng::EpiRaw epi{y, CFG::OUT, CFG::bias[it]};
    eng::gemm_ddr<CFG::R, CFG::C, CFG::EL, CFG::KMAX, CFG::BPC>(weights, CFG::W_OFF[it], nb * CFG::ROWS,
                                                       CFG::OUT, CFG::IN, 1, a, epi, CFG::IDX[it]);
}

/// Fused: a raw linear branch and the residual add that consumes it (out may alias res).
template <class LIN, class ADD>
void linear_residual(const typename LIN::in_t* x, const typename ADD::in1_t* res,
                     typename ADD::out_t* out, const int8_t* weights, int it, int nb) {
    eng::Rows<typename LIN::in_t> a{x, LIN::IN, 0};
    eng::EpiResidual<typename ADD::in1_t, typename ADD::out_t> epi{
        res, out, LIN::OUT, LIN::bias[it], ADD::m_a[it], ADD::e_a[it], ADD::M_B[it],
        static_cast<int>(ADD::E_B[it]), static_cast<int>(ADD::OUT_BITS[it]), LIN::TRACE[it]};
    eng::gemm_ddr<LIN::R, LIN::C, LIN::EL, LIN::KMAX, LIN::BPC>(weights, LIN::W_OFF[it], nb * LIN::ROWS,
                                                       LIN::OUT, LIN::IN, 1, a, epi, LIN::IDX[it]);
}

/// Fused: a requantized linear layer and the element-wise GELU after it.
template <class LIN, class GEL>
void linear_gelu(const typename LIN::in_t* x, typename GEL::out_t* y, const int8_t* weights,
                 int it, int nb) {
    eng::Rows<typename LIN::in_t> a{x, LIN::IN, 0};
    eng::EpiGelu<typename GEL::out_t, typename GeluTable<GEL>::type> epi{
        y, LIN::OUT, LIN::bias[it], LIN::m[it], LIN::e[it], static_cast<int>(LIN::OUT_BITS[it]),
        gelu_unit<GEL>(it), LIN::TRACE[it]};
    eng::gemm_ddr<LIN::R, LIN::C, LIN::EL, LIN::KMAX, LIN::BPC>(weights, LIN::W_OFF[it], nb * LIN::ROWS,
                                                       LIN::OUT, LIN::IN, 1, a, epi, LIN::IDX[it]);
}

/// Shiftmax of one row held in `s` (max `top` known) into `p`, through the row unit.
template <class SM, typename TS, typename TP>
void shiftmax_row(const TS* s, TP* p, int len, int64_t top, int64_t* ebuf, int it, long trace) {
    const int k = static_cast<int>(SM::K[it]);
    const int64_t i0 = SM::I0[it];
    const int n = static_cast<int>(SM::N[it]);
    const int m_bits = shiftmax_div_bits(i0, n);
    const int shift = m_bits - static_cast<int>(SM::OUT_BITS[it] - 1);
    int64_t total = 0;
sm_exp:
    for (int j = 0; j < len; ++j) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=16 max=1024
        ebuf[j] = shift_exp(shl(s[j] - top, k), i0, n, exp_form(SM::EXP_FORM));
        total += ebuf[j];
    }
    const int64_t factor = (int64_t(1) << m_bits) / total;  // row unit: once per row
sm_norm:
    for (int j = 0; j < len; ++j) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=16 max=1024
        const int64_t ef = hmul<IVIT_W_EXP, IVIT_W_FACTOR, IVIT_FABRIC_VEC>(ebuf[j], factor);
        p[j] = static_cast<TP>((ef + (int64_t(1) << (shift - 1))) >> shift);
        eng::trace_put(trace, j, p[j]);
    }
}

/// Fused attention: per head and R-row strip, q.k^T on the array (row max in its drain, DR
/// rows per cycle), Shiftmax of the strip on the vector unit, P.v on the array; scores and
/// probabilities exist only as one strip. The vector work of a strip overlaps the array work
/// of the next (across heads and images: the images of a batch run one after another).
template <class QK, class SM, class PV>
void attention(const typename QK::in_t* qkv_batch, typename PV::out_t* ctx_batch, int it, int nb) {
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
                    eng::acc_t acc[R][C];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
                    for (int r = 0; r < R; ++r)
                        for (int c = 0; c < C; ++c) acc[r][c] = 0;
                    eng::mac_tile<R, C>(acc, qa, kb, i0, j0, rows, cols, HD, 1);
                qk_drain:
                    for (int r0 = 0; r0 < rows; r0 += DR) {
                        for (int c0 = 0; c0 < cols; c0 += QK::EL) {
#pragma HLS PIPELINE II=1
                            for (int r = r0; r < r0 + DR && r < rows; ++r) {
                                for (int c = c0; c < c0 + QK::EL && c < cols; ++c) {
                                    const int64_t v = requant_sat<IVIT_W_ACC, IVIT_W_M, IVIT_FABRIC_EPI>(
                                        static_cast<int32_t>(acc[r][c]), QK::M[it],
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
                    eng::acc_t acc[R][C];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
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
                                        requant_sat<IVIT_W_ACC, IVIT_W_M, IVIT_FABRIC_EPI>(
                                            static_cast<int32_t>(acc[r][c]), PV::M[it],
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

/// q.k^T per head on the array (not fused with its Shiftmax): (T, 3*H*HD) -> (H, T, T).
template <class CFG>
void qk_matmul(const typename CFG::in_t* qkv_batch, typename CFG::out_t* scores_batch, int it,
               int nb) {
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
            for (int i0 = 0; i0 < T; i0 += CFG::R) {
                const int rows = T - i0 < CFG::R ? T - i0 : CFG::R;
                for (int j0 = 0; j0 < T; j0 += CFG::C) {
                    const int cols = T - j0 < CFG::C ? T - j0 : CFG::C;
                    eng::acc_t acc[CFG::R][CFG::C];
                    for (int r = 0; r < CFG::R; ++r)
                        for (int c = 0; c < CFG::C; ++c) acc[r][c] = 0;
                    eng::mac_tile<CFG::R, CFG::C>(acc, qa, kb, i0, j0, rows, cols, HD, 1);
                    for (int r = 0; r < rows; ++r)
                        for (int c = 0; c < cols; ++c) epi.store(i0 + r, j0 + c, static_cast<int32_t>(acc[r][c]));
                }
                cycles += eng::strip_cycles(static_cast<int>(eng::cdiv(T, CFG::C)), HD, 1,
                                            eng::drain_cycles(CFG::R, CFG::C, CFG::EL));
            }
        }
    }
    eng::account(CFG::IDX[it], cycles);
}

/// P.v per head on the array (not fused): probabilities (H, T, T) and qkv -> (T, H*HD).
template <class CFG>
void pv_matmul(const typename CFG::in_t* probs_batch, const typename CFG::in1_t* qkv_batch,
               typename CFG::out_t* out_batch, int it, int nb) {
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
            for (int i0 = 0; i0 < T; i0 += CFG::R) {
                const int rows = T - i0 < CFG::R ? T - i0 : CFG::R;
                for (int j0 = 0; j0 < HD; j0 += CFG::C) {
                    const int cols = HD - j0 < CFG::C ? HD - j0 : CFG::C;
                    eng::acc_t acc[CFG::R][CFG::C];
                    for (int r = 0; r < CFG::R; ++r)
                        for (int c = 0; c < CFG::C; ++c) acc[r][c] = 0;
                    eng::mac_tile<CFG::R, CFG::C>(acc, pa, vb, i0, j0, rows, cols, T, CFG::SLICES);
                    for (int r = 0; r < rows; ++r)
                        for (int c = 0; c < cols; ++c) epi.store(i0 + r, j0 + c, static_cast<int32_t>(acc[r][c]));
                }
                cycles += eng::strip_cycles(static_cast<int>(eng::cdiv(HD, CFG::C)), T, CFG::SLICES,
                                            eng::drain_cycles(CFG::R, CFG::C, CFG::EL));
            }
        }
    }
    eng::account(CFG::IDX[it], cycles);
}

/// Shiftmax over ROWS rows of LEN logits (not fused): max pass, exp pass, normalize pass.
template <class CFG>
void shiftmax(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
    static int64_t ebuf[CFG::LEN];
sm_rows:
    for (int t = 0; t < nb * CFG::ROWS; ++t) {
        const typename CFG::in_t* row = x + static_cast<long>(t) * CFG::LEN;
        int64_t top = row[0];
    sm_max:
        for (int j = 1; j < CFG::LEN; ++j) {
#pragma HLS PIPELINE II=1
            if (row[j] > top) top = row[j];
        }
        shiftmax_row<CFG>(row, y + static_cast<long>(t) * CFG::LEN, CFG::LEN, top, ebuf, it, -1);
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, CFG::LEN, 3, CFG::L) + eng::ROW_LATENCY);
}

/// GELU over ROWS tokens of COLS channels (not fused), LANES elements per cycle.
template <class CFG>
void gelu(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
    const int N = nb * CFG::ROWS * CFG::COLS;
    if (CFG::FORM == GELU_ROWMAX) {
        // the paper's row-max form: its own pass structure (two passes, a division per element)
        shift_gelu(x, y, nb * CFG::ROWS, CFG::COLS, static_cast<int>(CFG::K[it]), CFG::I0[it],
                   static_cast<int>(CFG::N[it]), ivit::GELU_ROWMAX, CFG::M[it],
                   static_cast<int>(CFG::E[it]), static_cast<int>(CFG::OUT_BITS[it]));
    } else {
        const eng::GeluUnit<typename GeluTable<CFG>::type> g = gelu_unit<CFG>(it);
    gelu_elems:
        for (int i = 0; i < N; ++i) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            y[i] = static_cast<typename CFG::out_t>(g(x[i]));
        }
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, CFG::COLS,
                                                  CFG::FORM == GELU_ROWMAX ? 2 : 1, CFG::L));
}

/// Residual add (not fused): branch (per-channel multiplier) + residual stream.
template <class CFG>
void residual_add(const typename CFG::in_t* branch, const typename CFG::in1_t* residual,
                  typename CFG::out_t* out, int it, int nb) {
res_rows:
    for (int t = 0; t < nb * CFG::ROWS; ++t) {
    res_cols:
        for (int c = 0; c < CFG::COLS; ++c) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            const int i = t * CFG::COLS + c;
            const int64_t s =
                requant<IVIT_W_ACC, IVIT_W_M, IVIT_FABRIC_VEC>(branch[i], CFG::m_a[it][c],
                                                               CFG::e_a[it][c]) +
                requant<IVIT_W_RES, IVIT_W_M, IVIT_FABRIC_VEC>(residual[i], CFG::M_B[it],
                                                               static_cast<int>(CFG::E_B[it]));
            out[i] = static_cast<typename CFG::out_t>(saturate(s, static_cast<int>(CFG::OUT_BITS[it])));
        }
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, CFG::COLS, 1, CFG::L));
}

/// I-LayerNorm over ROWS rows of each image (ROWS = 1: the class token only, row 0 of the
/// image's IN_ROWS input rows): one statistics pass (sum and sum of squares; the variance
/// about the floor mean follows exactly from both), the row unit (mean by a constant
/// reciprocal, isqrt, one division), one normalize pass.
template <class CFG>
void layernorm(const typename CFG::in_t* x, typename CFG::out_t* y, int it, int nb) {
    constexpr int COLS = CFG::COLS;
    const int shift = LN_RECIP_SHIFT - LN_FRAC_BITS;
    const int64_t half = int64_t(1) << (shift - 1);
ln_rows:
    for (int t = 0; t < nb * CFG::ROWS; ++t) {
        const int n = t / CFG::ROWS;
        const typename CFG::in_t* row =
            x + (static_cast<long>(n) * CFG::IN_ROWS + t - n * CFG::ROWS) * COLS;
        int64_t sx = 0, sxx = 0;
    ln_stats:
        for (int c = 0; c < COLS; ++c) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            sx += row[c];
            sxx += static_cast<int64_t>(row[c]) * row[c];
        }
        // y_c = 16 x_c - mean: sum y^2 = 256 sxx - 32 mean sx + COLS mean^2 (exact)
        const int64_t mean = eng::div_const(sx * LN_MEAN_SCALE, CFG::DIV_MUL, CFG::DIV_SHIFT,
                                            CFG::DIV_OFF, CFG::DIV_B);
        const int64_t var = 256 * sxx - 32 * mean * sx + COLS * mean * mean;
        const int64_t sd = isqrt(var);
        const int64_t recip = sd > 0 ? (int64_t(1) << LN_RECIP_SHIFT) / sd : 0;
        typename CFG::out_t* o = y + static_cast<long>(t) * COLS;
    ln_out:
        for (int c = 0; c < COLS; ++c) {
#pragma HLS PIPELINE II=1
#pragma HLS UNROLL factor=CFG::L
            const int64_t d = row[c] * LN_MEAN_SCALE - mean;
            const int64_t nv = (hmul<IVIT_W_LN_DIFF, LN_RECIP_W, IVIT_FABRIC_VEC>(d, recip) + half) >> shift;
            o[c] = static_cast<typename CFG::out_t>(
                requant_sat<IVIT_W_LN_NORM, IVIT_W_M, IVIT_FABRIC_VEC>(
                    nv, CFG::m[it][c], CFG::e[it][c], static_cast<int>(CFG::OUT_BITS[it]),
                            CFG::bias[it][c]));
        }
    }
    eng::account(CFG::IDX[it], eng::vector_cycles(nb * CFG::ROWS, COLS, 2, CFG::L) + eng::ROW_LATENCY);
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_LAYERS_H
