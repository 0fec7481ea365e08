// The PE array of the engine: R x C processing elements, each an 8-bit multiplier and an
// IVIT_W_ACC-bit accumulator. Included by engine.h.
#ifndef IVIT_PE_ARRAY_H
#define IVIT_PE_ARRAY_H

#include "types.h"

namespace ivit {
namespace eng {

/// A PE accumulator: IVIT_W_ACC bits, enough for every partial sum of every GEMM (range
/// analysis bounds the sum of the products' magnitudes, which bounds each partial sum).
typedef wint<IVIT_W_ACC> acc_t;

/// One cycle of the R x C array: every PE multiplies its row operand by its column operand
/// (`sh` = 8 for the high byte of a byte-sliced 16-bit operand) and adds the product to its
/// IVIT_W_ACC-bit accumulator.
/// Not inlined: every GEMM of the program calls this one function, so the top's
/// `ALLOCATION function ... limit=1` can hold the array to one instance.
template <int R, int C>
void pe_step(acc_t acc[R][C], const int32_t av[R], const int32_t bv[C], int sh) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
pe_rows:
    for (int r = 0; r < R; ++r) {
#pragma HLS UNROLL
    pe_cols:
        for (int c = 0; c < C; ++c) {
#pragma HLS UNROLL
            acc[r][c] = acc[r][c] + av[r] * bv[c] * (1 << sh);
        }
    }
}

}  // namespace eng
}  // namespace ivit

#endif  // IVIT_PE_ARRAY_H
