// Layer kernels: one per layer kind, each templated on the layer's config struct (generated
// into ivit_params.h). A config struct carries the element types (in_t, in1_t, out_t), the
// dimensions, the constants and the per-channel arrays; every call in the generated top has
// the same shape: ivit::layer::KIND<CFG>(inputs..., output[, weights]).
#ifndef IVIT_LAYERS_H
#define IVIT_LAYERS_H

#include "attention.h"
#include "gemm.h"
#include "layernorm.h"
#include "patch_embed.h"
#include "requant.h"
#include "shiftgelu.h"
#include "shiftmax.h"

namespace ivit {
namespace layer {

/// String-valued attributes of the integer model, as the config structs carry them.
enum GeluFormId { GELU_SHIFT = 0, GELU_SYMMETRIC = 1, GELU_ROWMAX = 2, GELU_TABLE = 3 };
enum ExpFormId { EXP_CORRECTED = 0, EXP_PAPER = 1 };

/// Patch embedding: image (CH, GH*P, GW*P) -> (1 + GH*GW, DIM) tokens.
template <class CFG>
void patch_embed(const typename CFG::in_t* image, typename CFG::out_t* tokens,
                 const int8_t* weights) {
    ivit::patch_embed<CFG::R, CFG::C, CFG::CH, CFG::P, CFG::GH, CFG::GW, CFG::DIM>(
        image, weights + CFG::W_OFF, tokens, CFG::bias, CFG::m, CFG::e, CFG::cls, CFG::pos,
        CFG::OUT_BITS);
}

/// Linear layer with a per-channel requant: (ROWS, IN) -> (ROWS, OUT).
template <class CFG>
void linear(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights) {
    ivit::linear<CFG::R, CFG::C>(x, weights + CFG::W_OFF, y, CFG::ROWS, CFG::IN, CFG::OUT,
                                 CFG::bias, CFG::m, CFG::e, CFG::OUT_BITS);
}

/// Linear layer keeping the int32 accumulator (a residual branch).
template <class CFG>
void linear_raw(const typename CFG::in_t* x, typename CFG::out_t* y, const int8_t* weights) {
    ivit::linear_raw<CFG::R, CFG::C>(x, weights + CFG::W_OFF, y, CFG::ROWS, CFG::IN, CFG::OUT,
                                     CFG::bias);
}

/// I-LayerNorm over ROWS rows of COLS channels (ROWS = 1: the class token only).
template <class CFG>
void layernorm(const typename CFG::in_t* x, typename CFG::out_t* y) {
    ivit::layernorm(x, y, CFG::ROWS, CFG::COLS, CFG::m, CFG::e, CFG::bias, CFG::OUT_BITS);
}

/// Attention scores q.k^T per head, one scalar requant: (T, 3*H*HD) -> (H, T, T).
template <class CFG>
void qk_matmul(const typename CFG::in_t* qkv, typename CFG::out_t* scores) {
    ivit::qk_matmul<CFG::R, CFG::C, CFG::T, CFG::H, CFG::HD>(qkv, scores, CFG::M, CFG::E,
                                                            CFG::OUT_BITS);
}

/// Attention context P.v per head: probabilities (H, T, T) and qkv -> (T, H*HD).
template <class CFG>
void pv_matmul(const typename CFG::in_t* probs, const typename CFG::in1_t* qkv,
               typename CFG::out_t* out) {
    ivit::pv_matmul<CFG::R, CFG::C, CFG::T, CFG::H, CFG::HD>(probs, qkv, out, CFG::M, CFG::E,
                                                            CFG::OUT_BITS);
}

/// Shiftmax over ROWS rows of LEN logits.
template <class CFG>
void shiftmax(const typename CFG::in_t* x, typename CFG::out_t* y) {
    static_assert(CFG::EXP_FORM == EXP_PAPER, "this kernel library implements the paper's ShiftExp");
    ivit::shiftmax<CFG::LEN>(x, y, CFG::ROWS, CFG::LEN, CFG::K, CFG::I0, CFG::N, CFG::OUT_BITS);
}

/// GELU over ROWS tokens of COLS channels, in the layer's form.
template <class CFG>
void gelu(const typename CFG::in_t* x, typename CFG::out_t* y) {
    static_assert(CFG::FORM == GELU_SYMMETRIC || CFG::FORM == GELU_ROWMAX,
                  "this kernel library implements the symmetric and row-max ShiftGELU");
    ivit::shift_gelu(x, y, CFG::ROWS, CFG::COLS, CFG::K, CFG::I0, CFG::N,
                     CFG::FORM == GELU_SYMMETRIC ? ivit::GELU_SYMMETRIC : ivit::GELU_ROWMAX,
                     CFG::M, CFG::E, CFG::OUT_BITS);
}

/// Residual add: branch (per-channel multiplier) + residual stream (one multiplier).
template <class CFG>
void residual_add(const typename CFG::in_t* branch, const typename CFG::in1_t* residual,
                  typename CFG::out_t* out) {
    ivit::residual_add(branch, residual, out, CFG::ROWS, CFG::COLS, CFG::m_a, CFG::e_a,
                       CFG::M_B, CFG::E_B, CFG::OUT_BITS);
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_LAYERS_H
