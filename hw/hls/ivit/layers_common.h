// Layer kernels of the engine, one per layer kind plus the fused pairs, each templated on the
// config structs of its layers (generated into ivit_params.h). A config struct is a slot: the
// same layer in every iteration of the block loop. Dimensions and element types are plain
// members; every per-layer constant is a table indexed by the iteration `it` (scalars
// NAME[it], per-channel arrays name[it][c]), with W_OFF[it] (weight panels), TRACE[it]
// (trace offset) and IDX[it] (layer index for the cycle accounting). Engine parameters:
// R, C (array), EL (epilogue lanes: rows of one column a drain takes per cycle), L (vector
// lanes), LA (the attention unit's drain rows and Shiftmax lanes), KMAX (panel depth), BPC
// (DDR bytes per cycle). Every engine kernel takes `nb`, the images of this batch (1..IVIT_MAX_BATCH):
// image b's tensor starts b times its rows further in every buffer, so token-wise units
// run over nb * ROWS rows (one GEMM per weight panel for the whole batch) and attention loops
// over the images. Rows sit LDX / LDX1 (inputs) and LDY (output) elements apart: a buffer may
// be wider than the tensor it holds (ivit_hls/hls/buffers.py, allocate).
#ifndef IVIT_LAYERS_COMMON_H
#define IVIT_LAYERS_COMMON_H

#include <type_traits>

#include "engine.h"
#include "epilogues.h"

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

/// P.v's B operand: the head's v, copied into a local array whose HD columns are banked, so
/// that the C columns of one token (one array step) sit in distinct banks.
template <typename TV, int HD>
struct LocalV {
    const TV (*p)[HD];
    int32_t operator()(int k, int j) const {
#pragma HLS INLINE
        return static_cast<int32_t>(p[k][j]);
    }
};

/// Lanes of the v copy: the largest divisor of R that is at most HD, so that lane c's tokens
/// (c, X + c, 2X + c, ...) sit in R / X of the buffer's R row banks.
constexpr int copy_v_lanes(int R, int HD, int x = 0) {
    return x == 0 ? copy_v_lanes(R, HD, R < HD ? R : HD) : (R % x == 0 ? x : copy_v_lanes(R, HD, x - 1));
}

/// Step i of copying one head's v (T x HD, columns `off` .. of the token-major qkv buffer)
/// into `vl` (its HD columns each a bank): blocks of X tokens, HD steps each; in step s of
/// block q, lane c copies token q*X + c, column (c + s) mod HD. The X tokens read sit in
/// distinct row banks of the buffer, the X columns written in distinct banks of `vl`.
template <typename TQ, typename TV, int T, int HD, int X>
inline void copy_v_step(const TQ* qkv, int ld, int off, TV vl[T][HD], int i) {
#pragma HLS INLINE
    static_assert(X >= 1 && X <= HD, "at most one lane per column bank");
    const int q = i / HD, s = i - q * HD;
    for (int c = 0; c < X; ++c) {
#pragma HLS UNROLL
        const int tok = q * X + c, d = c + s < HD ? c + s : c + s - HD;
        if (tok < T) vl[tok][d] = static_cast<TV>(qkv[tok * ld + off + d]);
    }
}

/// Steps of copy_v_step for one head.
constexpr int copy_v_steps(int T, int HD, int X) { return (T + X - 1) / X * HD; }

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_LAYERS_COMMON_H
