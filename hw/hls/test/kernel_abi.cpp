// C ABI around the kernel library for the Python tests (ctypes): one entry per kernel, at
// the widths the generated projects use (int8 GEMM operands, int16 residual stream, uint16
// probabilities) plus int64 entries for the scalar primitives' edge cases.
#include "../ivit/ivit.h"

using namespace ivit;

extern "C" {

int64_t abi_floor_div(int64_t a, int64_t b) { return floor_div(a, b); }
int abi_bit_length(int64_t v) { return bit_length(v); }
int64_t abi_isqrt(int64_t v) { return isqrt(v); }
int64_t abi_shift_exp(int64_t u, int64_t i0, int n, int form) {
    return shift_exp(u, i0, n, form);
}
int64_t abi_shift_exp_default(int64_t u, int64_t i0, int n) { return shift_exp(u, i0, n); }
int abi_shiftmax_div_bits(int64_t i0, int n) { return shiftmax_div_bits(i0, n); }
int64_t abi_shift_gelu_core(int64_t x, int k, int64_t i0, int n, int form) {
    return shift_gelu_core(x, k, i0, n, form);
}
int64_t abi_gelu_recip(int64_t i0) { return gelu_recip(i0); }

void abi_requant(const int64_t* x, int64_t* y, int n, const int32_t* m, const uint8_t* e,
                 int bits) {
    requant_rows(x, y, 1, n, m, e, bits);
}

void abi_requant_i32_i8(const int32_t* x, int8_t* y, int rows, int cols, const int32_t* m,
                        const uint8_t* e, int bits) {
    requant_rows(x, y, rows, cols, m, e, bits);
}

void abi_residual_add(const int8_t* a, const int16_t* b, int16_t* out, int rows, int cols,
                      const int32_t* m_a, const uint8_t* e_a, int64_t m_b, int e_b, int bits) {
    residual_add(a, b, out, rows, cols, m_a, e_a, m_b, e_b, bits);
}

// GEMM at three array shapes (tile edges exercised by the callers' M, N, K).
#define ABI_LINEAR(R, C)                                                                      \
    void abi_linear_##R##x##C(const int8_t* x, const int8_t* wt, int8_t* y, int rows, int k, \
                              int n, const int32_t* bias, const int32_t* m, const uint8_t* e, \
                              int bits) {                                                     \
        linear<R, C>(x, wt, y, rows, k, n, bias, m, e, bits);                                 \
    }                                                                                         \
    void abi_linear_raw_##R##x##C(const int8_t* x, const int8_t* wt, int32_t* y, int rows,  \
                                  int k, int n, const int32_t* bias) {                        \
        linear_raw<R, C>(x, wt, y, rows, k, n, bias);                                         \
    }
ABI_LINEAR(1, 1)
ABI_LINEAR(4, 8)
ABI_LINEAR(16, 16)

void abi_linear_i16_i16(const int16_t* x, const int8_t* wt, int16_t* y, int rows, int k, int n,
                        const int32_t* bias, const int32_t* m, const uint8_t* e, int bits) {
    linear<3, 5>(x, wt, y, rows, k, n, bias, m, e, bits);
}

void abi_shiftmax_i8_u16(const int8_t* x, uint16_t* y, int rows, int len, int k, int64_t i0,
                         int n, int out_bits, int exp_form) {
    shiftmax<4096>(x, y, rows, len, k, i0, n, out_bits, exp_form);
}

void abi_shiftmax_i16_u8(const int16_t* x, uint8_t* y, int rows, int len, int k, int64_t i0,
                         int n, int out_bits, int exp_form) {
    shiftmax<4096>(x, y, rows, len, k, i0, n, out_bits, exp_form);
}

// Today's call (no form argument): the default, corrected ShiftExp.
void abi_shiftmax_default(const int8_t* x, uint16_t* y, int rows, int len, int k, int64_t i0,
                          int n, int out_bits) {
    shiftmax<4096>(x, y, rows, len, k, i0, n, out_bits);
}

void abi_gelu_i8_i8(const int8_t* x, int8_t* y, int rows, int cols, int k, int64_t i0, int n,
                    int form, int64_t m, int e, int out_bits) {
    shift_gelu(x, y, rows, cols, k, i0, n, form, m, e, out_bits);
}

void abi_gelu_i64(const int64_t* x, int64_t* y, int rows, int cols, int k, int64_t i0, int n,
                  int form, int64_t m, int e, int out_bits) {
    shift_gelu(x, y, rows, cols, k, i0, n, form, m, e, out_bits);
}

void abi_gelu_table_i8_i8(const int8_t* x, int8_t* y, int rows, int cols, const int8_t* table) {
    shift_gelu(x, y, rows, cols, 0, 1, 1, GELU_TABLE, 0, 1, 8, table, 8);
}

void abi_layernorm_i16_i8(const int16_t* x, int8_t* y, int rows, int cols, const int32_t* m,
                          const uint8_t* e, const int64_t* bias, int out_bits) {
    layernorm(x, y, rows, cols, m, e, bias, out_bits);
}

void abi_layernorm_i32_i16(const int32_t* x, int16_t* y, int rows, int cols, const int32_t* m,
                           const uint8_t* e, const int64_t* bias, int out_bits) {
    layernorm(x, y, rows, cols, m, e, bias, out_bits);
}

// Attention at a small fixed shape: T=7 tokens, H=2 heads, HD=5, on a 4x3 array.
void abi_qk_matmul(const int8_t* qkv, int8_t* scores, int64_t m, int e, int bits) {
    qk_matmul<4, 3, 7, 2, 5>(qkv, scores, m, e, bits);
}
void abi_pv_matmul(const uint16_t* probs, const int8_t* qkv, int8_t* out, int64_t m, int e,
                   int bits) {
    pv_matmul<4, 3, 7, 2, 5>(probs, qkv, out, m, e, bits);
}

// Patch embedding: 2 channels, patch 3, grid 2x3 (6x9 image), dim 5, on a 2x4 array.
void abi_patch_embed(const int8_t* image, const int8_t* wt, int16_t* tokens, const int32_t* bias,
                     const int32_t* m, const uint8_t* e, const int32_t* cls, const int32_t* pos,
                     int bits) {
    patch_embed<2, 4, 2, 3, 2, 3, 5>(image, wt, tokens, bias, m, e, cls, pos, bits);
}

int abi_argmax_i32(const int32_t* logits, int n) { return argmax(logits, n); }

}  // extern "C"
