// The GEMM engine's epilogues (what a drain lane does with an accumulator: requant, the
// fused residual add, the fused GELU, the patch embedding's positions) and its operand
// sources (how the array reads an on-chip operand). Both are template arguments of
// eng::gemm_run (engine.h). Included by layers_common.h.
#ifndef IVIT_EPILOGUES_H
#define IVIT_EPILOGUES_H

#include "engine.h"

namespace ivit {
namespace eng {

// -- epilogues -----------------------------------------------------------------------------------
// Every epilogue drains E rows of one column j per cycle: its per-channel constants
// (bias[j], m[j], e[j], ...) are one scalar read a cycle, shared by the E lanes.

/// Per-channel dyadic requant + bias (a linear layer).
template <typename TO>
struct EpiRequant {
    TO* out; int ldo; const int32_t* bias; const int32_t* m; const uint8_t* e; int bits;
    void store(int i, int j, int32_t acc) {
#pragma HLS INLINE
        out[i * ldo + j] = static_cast<TO>(
            requant_product(lane_epi_requant(acc + bias[j], m[j]), e[j], bits));
    }
};

/// Raw int32 accumulator + bias.
struct EpiRaw {
    int32_t* out; int ldo; const int32_t* bias;
    void store(int i, int j, int32_t acc) {
#pragma HLS INLINE
        out[i * ldo + j] = acc + bias[j];
    }
};

/// Fused residual add: out = sat(rq(acc, m_a[j], e_a[j]) + rq(res, m_b, e_b)); `out` may be
/// the residual buffer itself (element (i, j) is read before it is written). The raw branch
/// (`n` columns) goes to the trace only. `ldr`, `ldo`: the buffers' row strides.
template <typename TR, typename TO>
struct EpiResidual {
    const TR* res; int ldr; TO* out; int ldo; int n; const int32_t* bias; const int32_t* m_a;
    const uint8_t* e_a; int64_t m_b; int e_b; int bits; long trace_branch;
    /// Writes element (i, j) and returns it (a row-statistics input).
    int64_t store(int i, int j, int32_t acc) {
#pragma HLS INLINE
        const int32_t branch = acc + bias[j];
        trace_put(trace_branch, static_cast<long>(i) * n + j, branch);
        const int64_t s = round_shift(lane_epi_requant(branch, m_a[j]), e_a[j]) +
                          round_shift(lane_epi_residual(res[i * ldr + j], m_b), e_b);
        const int64_t y = saturate(s, bits);
        out[i * ldo + j] = static_cast<TO>(y);
        return y;
    }
};

/// GELU of one requantized value in an element-wise form (shift, symmetric or table).
/// `eval<FORM>` takes the form as a template argument, so a unit built with it has only that
/// form's datapath; `operator()` picks by the runtime member `form` (every form is built).
template <typename TT>
struct GeluUnit {
    int form; int k; int64_t i0; int n; int64_t recip; int64_t m; int e; int bits;
    const TT* table; int64_t half;
    template <int FORM>
    int64_t eval(int64_t x) const {
#pragma HLS INLINE
        if constexpr (FORM == GELU_TABLE) {
            return table[x + half];
        } else {
            int64_t core;
            if constexpr (FORM == GELU_SHIFT)
                core = shift_gelu_shift(x, k, recip);
            else
                core = shift_gelu_symmetric(x, k, i0, n);
            return requant_product(lane_gelu_requant(core, m), e, bits);
        }
    }
    int64_t operator()(int64_t x) const {
#pragma HLS INLINE
        if (form == GELU_TABLE) return eval<GELU_TABLE>(x);
        return form == GELU_SHIFT ? eval<GELU_SHIFT>(x) : eval<GELU_SYMMETRIC>(x);
    }
};

/// Fused fc1 + GELU (form FORM, fixed at compile time): the requantized fc1 value (`n`
/// columns) goes to the trace, its GELU to `out` (row stride `ldo`).
template <typename TO, typename TT, int FORM>
struct EpiGelu {
    TO* out; int ldo; int n; const int32_t* bias; const int32_t* m; const uint8_t* e; int bits;
    GeluUnit<TT> g; long trace_fc1;
    void store(int i, int j, int32_t acc) {
#pragma HLS INLINE
        const int64_t v = requant_product(lane_epi_requant(acc + bias[j], m[j]), e[j], bits);
        trace_put(trace_fc1, static_cast<long>(i) * n + j, v);
        out[i * ldo + j] = static_cast<TO>(g.template eval<FORM>(v));
    }
};

/// Patch embedding over token rows: row i = token t of image b (i = b * tokens + t); token 0
/// is the class token cls[j], token t = p + 1 is sat(rq(acc, m[j], e[j]) + pos[p][j]). The
/// position table is stored transposed after one pad entry (pos_t[1 + j * np + p]), so the E
/// rows of one drain step read E consecutive entries of its E-way cyclic split (which bank
/// each lane reads moves with the channel, the tile and the image: a multiplexer per lane,
/// onchip.row_select_ports).
template <typename TO, typename TP>
struct EpiPatch {
    TO* out; int ldo; const int32_t* bias; const int32_t* m; const uint8_t* e;
    const TP* pos_t; const TP* cls; int bits; int np; int tokens;
    /// Writes token row i's channel j and returns it (a row-statistics input): the class
    /// token's value for token 0 of an image (its accumulator, of an im2col row no load
    /// writes, is not used), else patch i - 1's requantized sum plus its position.
    int64_t store(int i, int j, int32_t acc) {
#pragma HLS INLINE
        const int b = i / tokens, p = i - b * tokens - 1;
        // the class token's lane (p = -1) reads the entry before patch 0's, in the bank its
        // neighbours' pattern gives it, and drops it
        const int64_t v =
            round_shift(lane_epi_requant(acc + bias[j], m[j]), e[j]) + pos_t[1 + j * np + p];
        const int64_t y = p < 0 ? static_cast<int64_t>(cls[j]) : saturate(v, bits);
        out[i * ldo + j] = static_cast<TO>(y);
        return y;
    }
};

/// Scalar requant into a strided destination (attention matmuls).
template <typename TO>
struct EpiScalar {
    TO* out; int ldo; int64_t m; int e; int bits;
    void store(int i, int j, int32_t acc) {
#pragma HLS INLINE
        out[i * ldo + j] =
            static_cast<TO>(requant_product(lane_epi_requant(acc, m), e, bits));
    }
};

// -- operand sources -----------------------------------------------------------------------------
/// A row-major on-chip operand with row stride `ld` and column offset `off`.
template <typename T>
struct Rows {
    const T* p; int ld; int off;
    int32_t operator()(int i, int k) const {
#pragma HLS INLINE
        return static_cast<int32_t>(p[i * ld + off + k]);
    }
};

/// The transposed view: element (k, j) is p[j][off + k] (K of q.k^T read token-major).
template <typename T>
struct Cols {
    const T* p; int ld; int off;
    int32_t operator()(int k, int j) const {
#pragma HLS INLINE
        return static_cast<int32_t>(p[j * ld + off + k]);
    }
};

}  // namespace eng
}  // namespace ivit

#endif  // IVIT_EPILOGUES_H
