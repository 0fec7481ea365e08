// Integer GEMM on an output-stationary R x C systolic tile with a fused epilogue.
//
// C[i][j] = init(j) + sum_k A[i][k] * B[k][j], A row-major with row stride lda, B row-major
// (K x N) with row stride ldb. Each R x C output tile keeps its accumulators in registers
// (the PE array); the k loop streams one A column slice (R values) and one B row slice
// (C values) per cycle. The epilogue (dyadic requant, bias, saturation) runs on the tile.
//
// Accumulation is modular 32-bit (uint32_t, as a hardware adder wraps); the result is the
// exact integer whenever the final sum fits int32, which range analysis proves for every
// layer. Products of 8/16-bit operands fit int32 exactly.
#ifndef IVIT_GEMM_H
#define IVIT_GEMM_H

#include "types.h"

namespace ivit {

/// Epilogue concept: `int32_t init(int j)` (bias folded into the accumulator start) and
/// `void store(int i, int j, int32_t acc)`.
template <int R, int C, typename TA, typename TB, typename Epi>
void gemm(const TA* a, int lda, const TB* b, int ldb, int M, int N, int K, Epi& epi) {
    static_assert(R >= 1 && C >= 1, "array dimensions must be positive");
gemm_row_tiles:
    for (int i0 = 0; i0 < M; i0 += R) {
    gemm_col_tiles:
        for (int j0 = 0; j0 < N; j0 += C) {
            uint32_t acc[R][C];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
        gemm_init:
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c)
                    acc[r][c] = (j0 + c < N) ? static_cast<uint32_t>(epi.init(j0 + c)) : 0u;
        gemm_k:
            for (int k = 0; k < K; ++k) {
#pragma HLS PIPELINE II=1
                int32_t av[R];
                int32_t bv[C];
#pragma HLS ARRAY_PARTITION variable=av complete
#pragma HLS ARRAY_PARTITION variable=bv complete
                for (int r = 0; r < R; ++r)
                    av[r] = (i0 + r < M) ? static_cast<int32_t>(a[(i0 + r) * lda + k]) : 0;
                for (int c = 0; c < C; ++c)
                    bv[c] = (j0 + c < N) ? static_cast<int32_t>(b[k * ldb + j0 + c]) : 0;
            gemm_pe_rows:
                for (int r = 0; r < R; ++r) {
#pragma HLS UNROLL
                gemm_pe_cols:
                    for (int c = 0; c < C; ++c) {
#pragma HLS UNROLL
                        acc[r][c] += static_cast<uint32_t>(av[r] * bv[c]);
                    }
                }
            }
        gemm_drain:
            for (int r = 0; r < R; ++r) {
                if (i0 + r >= M) break;
                for (int c = 0; c < C; ++c) {
#pragma HLS PIPELINE II=1
                    if (j0 + c < N) epi.store(i0 + r, j0 + c, static_cast<int32_t>(acc[r][c]));
                }
            }
        }
    }
}

/// Epilogue of a linear layer: bias, per-channel dyadic requant, saturation to `bits`.
template <typename TO>
struct LinearRequantEpi {
    TO* out;
    int ldo;
    const int32_t* bias;
    const int32_t* m;
    const uint8_t* e;
    int bits;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) {
        out[i * ldo + j] = static_cast<TO>(requant_sat(acc, m[j], e[j], bits));
    }
};

/// Epilogue of a linear layer that keeps the raw int32 accumulator (plus bias).
struct LinearRawEpi {
    int32_t* out;
    int ldo;
    const int32_t* bias;
    int32_t init(int j) const { return bias[j]; }
    void store(int i, int j, int32_t acc) { out[i * ldo + j] = acc; }
};

/// Epilogue with one multiplier for the whole tensor (attention matmuls), no bias.
template <typename TO>
struct ScalarRequantEpi {
    TO* out;
    int ldo;
    int64_t m;
    int e;
    int bits;
    int32_t init(int) const { return 0; }
    void store(int i, int j, int32_t acc) {
        out[i * ldo + j] = static_cast<TO>(requant_sat(acc, m, e, bits));
    }
};

/// Linear layer: y[T][N] = requant(x[T][K] * W^T + bias); `wt` is W transposed (K x N).
template <int R, int C, typename TI, typename TO>
void linear(const TI* x, const int8_t* wt, TO* y, int rows, int in_dim, int out_dim,
            const int32_t* bias, const int32_t* m, const uint8_t* e, int bits) {
    LinearRequantEpi<TO> epi{y, out_dim, bias, m, e, bits};
    gemm<R, C>(x, in_dim, wt, out_dim, rows, out_dim, in_dim, epi);
}

/// Linear layer keeping the int32 accumulator (out_bits null in the integer model).
template <int R, int C, typename TI>
void linear_raw(const TI* x, const int8_t* wt, int32_t* y, int rows, int in_dim, int out_dim,
                const int32_t* bias) {
    LinearRawEpi epi{y, out_dim, bias};
    gemm<R, C>(x, in_dim, wt, out_dim, rows, out_dim, in_dim, epi);
}

}  // namespace ivit

#endif  // IVIT_GEMM_H
