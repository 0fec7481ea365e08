// ivit-hls kernel library: common integer helpers shared by every kernel.
//
// The integer semantics are those of the numpy spec (ivit_hls/spec). Two C++ facts matter:
//  * `/` and `%` truncate toward zero while the spec's `//` floors: floor_div() below
//    implements the floor where a dividend can be negative.
//  * `>>` on a negative signed integer must be an arithmetic (flooring) shift. C++20 defines
//    it so; g++ and Vitis HLS (clang) have always done it. The static_assert checks it.
// Left shifts of possibly negative values are written as multiplications by 2^k (a negative
// left shift is undefined before C++20).
#ifndef IVIT_TYPES_H
#define IVIT_TYPES_H

#include <cstdint>

static_assert((-7 >> 1) == -4, "ivit-hls needs an arithmetic (flooring) >> on signed integers");
static_assert((int64_t(-1) >> 63) == -1, "ivit-hls needs an arithmetic >> on int64_t");

namespace ivit {

/// Floor division for a positive divisor (numpy's `//`).
inline int64_t floor_div(int64_t a, int64_t b) {
#pragma HLS INLINE
    int64_t q = a / b;
    if ((a % b != 0) && (a < 0)) q -= 1;
    return q;
}

/// Number of bits of a non-negative value (0 for 0), like Python's int.bit_length().
inline int bit_length(int64_t v) {
#pragma HLS INLINE
    int n = 0;
    for (int sh = 32; sh >= 1; sh >>= 1) {
        if (v >= (int64_t(1) << sh)) {
            n += sh;
            v >>= sh;
        }
    }
    return n + (v > 0 ? 1 : 0);
}

/// Clamp to a signed `bits`-bit range.
inline int64_t saturate(int64_t x, int bits) {
#pragma HLS INLINE
    const int64_t hi = (int64_t(1) << (bits - 1)) - 1;
    const int64_t lo = -hi - 1;
    return x < lo ? lo : (x > hi ? hi : x);
}

/// Divide by 2^e rounding half up: (x + 2^(e-1)) >> e, e >= 1.
inline int64_t round_shift(int64_t x, int e) {
#pragma HLS INLINE
    return (x + (int64_t(1) << (e - 1))) >> e;
}

/// A product of a helper unit (epilogue lane, attention drain, vector lane; never the PE
/// array). A generated engine that puts these multipliers in LUT fabric, so that the array
/// gets the DSP48E2 slices, defines IVIT_HELPERS_FABRIC to 1 before including the library.
inline int64_t hmul(int64_t a, int64_t b) {
#pragma HLS INLINE
    const int64_t p = a * b;
#if defined(IVIT_HELPERS_FABRIC) && IVIT_HELPERS_FABRIC
#pragma HLS BIND_OP variable=p op=mul impl=fabric
#endif
    return p;
}

/// Dyadic requantization without saturation: (acc*m + offset + 2^(e-1)) >> e in int64.
inline int64_t requant(int64_t acc, int64_t m, int e, int64_t offset = 0) {
#pragma HLS INLINE
    return round_shift(hmul(acc, m) + offset, e);
}

/// Dyadic requantization saturated to `bits` signed bits.
inline int64_t requant_sat(int64_t acc, int64_t m, int e, int bits, int64_t offset = 0) {
#pragma HLS INLINE
    return saturate(requant(acc, m, e, offset), bits);
}

/// x * 2^k for a possibly negative x (a defined left shift).
inline int64_t shl(int64_t x, int k) {
#pragma HLS INLINE
    return x * (int64_t(1) << k);
}

}  // namespace ivit

#endif  // IVIT_TYPES_H
