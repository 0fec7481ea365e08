// ShiftExp (I-ViT Alg. 1 core): integer ~ I0 * 2^N * exp(u / I0) for u <= 0, shifts only.
#ifndef IVIT_SHIFTEXP_H
#define IVIT_SHIFTEXP_H

#include "types.h"

namespace ivit {

/// p = u + (u>>1) - (u>>4) (log2 e ~ 1.0111b), clamped at -N*I0; q = (-p) // I0,
/// r = p + q*I0 in (-I0, 0]; 2^(r/I0) ~ 1 + r/(2*I0) gives v = I0 + (r >> 1); result v << (N-q).
/// -p >= 0 and I0 > 0, so C++ `/` equals the floor division here.
inline int64_t shift_exp(int64_t u, int64_t i0, int n) {
#pragma HLS INLINE
    int64_t p = u + (u >> 1) - (u >> 4);
    const int64_t lo = -static_cast<int64_t>(n) * i0;
    if (p < lo) p = lo;
    const int64_t q = (-p) / i0;
    const int64_t r = p + q * i0;
    const int64_t v = i0 + (r >> 1);
    return v << (n - q);
}

}  // namespace ivit

#endif  // IVIT_SHIFTEXP_H
