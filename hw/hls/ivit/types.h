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

#ifdef __SYNTHESIS__
#include <ap_int.h>  // Vitis' arbitrary-precision integers, from its own include path
#elif defined(IVIT_CHECK_WIDTHS)
#include <cstdio>
#include <cstdlib>
#endif

// Datapath widths in signed bits, from range analysis: a generated project defines them in
// ivit_params.h before including the library (ivit_hls/perf/cycles.py: operand_widths). The
// defaults narrow nothing: 32-bit PE accumulators, 64-bit helper operands.
#ifndef IVIT_W_ACC
#define IVIT_W_ACC 32       // PE accumulator (every partial sum of a GEMM)
#endif
#ifndef IVIT_W_M
#define IVIT_W_M 64         // dyadic multipliers m
#endif
#ifndef IVIT_W_RES
#define IVIT_W_RES 64       // residual stream (second requant of the residual add)
#endif
#ifndef IVIT_W_GELU_IN
#define IVIT_W_GELU_IN 63   // GELU input x
#endif
#ifndef IVIT_W_LN_IN
#define IVIT_W_LN_IN 64     // LayerNorm input x (its sum of squares)
#endif
#ifndef IVIT_W_LN_DIFF
#define IVIT_W_LN_DIFF 64   // LayerNorm 16x - mean
#endif
#ifndef IVIT_W_LN_NORM
#define IVIT_W_LN_NORM 64   // LayerNorm normalized value before its requant
#endif
#ifndef IVIT_W_EXP
#define IVIT_W_EXP 64       // Shiftmax exponential
#endif
#ifndef IVIT_W_FACTOR
#define IVIT_W_FACTOR 64    // Shiftmax 2^M // row sum
#endif
// Helper multipliers bound to LUT fabric (1) or left to DSP48E2 slices (0): the epilogue lanes
// with the attention drain, and the vector lanes.
#ifndef IVIT_FABRIC_EPI
#define IVIT_FABRIC_EPI 0
#endif
#ifndef IVIT_FABRIC_VEC
#define IVIT_FABRIC_VEC 0
#endif
// Operand widths of the helper-multiplier pools (ivit_hls/hls/lanes.py): the widest product of
// the roles each pool serves
#ifndef IVIT_POOL_EPI_WIDE_A
#define IVIT_POOL_EPI_WIDE_A 64
#define IVIT_POOL_EPI_WIDE_B 64
#endif
#ifndef IVIT_POOL_EPI_NARROW_A
#define IVIT_POOL_EPI_NARROW_A 64
#define IVIT_POOL_EPI_NARROW_B 64
#endif
#ifndef IVIT_POOL_VEC_WIDE_A
#define IVIT_POOL_VEC_WIDE_A 64
#define IVIT_POOL_VEC_WIDE_B 64
#endif
#ifndef IVIT_POOL_VEC_LONG_A
#define IVIT_POOL_VEC_LONG_A 64
#define IVIT_POOL_VEC_LONG_B 64
#endif
#ifndef IVIT_POOL_VEC_SQUARE_A
#define IVIT_POOL_VEC_SQUARE_A 64
#define IVIT_POOL_VEC_SQUARE_B 64
#endif

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

/// In a checking build (-DIVIT_CHECK_WIDTHS), stop when `x` does not fit `w` signed bits:
/// the g++ build then proves on its inputs the widths the synthesized datapath has.
inline void check_width(int64_t x, int w) {
#if !defined(__SYNTHESIS__) && defined(IVIT_CHECK_WIDTHS)
    if (w < 64 && (x < -(int64_t(1) << (w - 1)) || x >= (int64_t(1) << (w - 1)))) {
        std::fprintf(stderr, "ivit: %lld does not fit %d signed bits\n", static_cast<long long>(x), w);
        std::abort();
    }
#else
    (void)x;
    (void)w;
#endif
}

#ifdef __SYNTHESIS__
template <int W>
using wint = ap_int<W>;
#else
/// The g++ stand-in for ap_int<W> (W <= 64): an int64 that behaves the same for values that
/// fit W bits, which a checking build asserts on every assignment.
template <int W>
struct wint {
    static_assert(W >= 2 && W <= 64, "wint holds 2..64 bits");
    int64_t v;
    wint() : v(0) {}
    wint(int64_t x) : v(x) { check_width(x, W); }
    operator int64_t() const { return v; }
};
#endif

/// A WA-bit x WB-bit signed product.
template <int WA, int WB>
inline int64_t mul_w(int64_t a, int64_t b) {
#pragma HLS INLINE
#ifdef __SYNTHESIS__
    const ap_int<WA + WB> p = ap_int<WA>(a) * ap_int<WB>(b);
    return static_cast<int64_t>(p);
#else
    check_width(a, WA);
    check_width(b, WB);
    return a * b;
#endif
}

/// The same product on a LUT-fabric multiplier (BIND_OP impl=fabric).
template <int WA, int WB>
inline int64_t mul_w_fabric(int64_t a, int64_t b) {
#pragma HLS INLINE
#ifdef __SYNTHESIS__
    const ap_int<WA + WB> p = ap_int<WA>(a) * ap_int<WB>(b);
#pragma HLS BIND_OP variable=p op=mul impl=fabric
    return static_cast<int64_t>(p);
#else
    return mul_w<WA, WB>(a, b);
#endif
}

/// A product of a helper unit (epilogue lane, attention drain, vector lane; never the PE
/// array) of a WA-bit and a WB-bit signed operand, in fabric when FABRIC is set (a generated
/// engine that gives the DSP48E2 slices to the array sets IVIT_FABRIC_EPI / IVIT_FABRIC_VEC).
template <int WA = 64, int WB = 64, int FABRIC = 0>
inline int64_t hmul(int64_t a, int64_t b) {
#pragma HLS INLINE
    return FABRIC ? mul_w_fabric<WA, WB>(a, b) : mul_w<WA, WB>(a, b);
}

/// Dyadic requantization without saturation: (acc*m + offset + 2^(e-1)) >> e in int64, the
/// product on a WA x WB multiplier (in fabric when FABRIC is set).
template <int WA = 64, int WB = 64, int FABRIC = 0>
inline int64_t requant(int64_t acc, int64_t m, int e, int64_t offset = 0) {
#pragma HLS INLINE
    return round_shift(hmul<WA, WB, FABRIC>(acc, m) + offset, e);
}

/// Dyadic requantization saturated to `bits` signed bits.
template <int WA = 64, int WB = 64, int FABRIC = 0>
inline int64_t requant_sat(int64_t acc, int64_t m, int e, int bits, int64_t offset = 0) {
#pragma HLS INLINE
    return saturate(requant<WA, WB, FABRIC>(acc, m, e, offset), bits);
}

/// Requantize a product: sat_bits((product + offset + 2^(e-1)) >> e).
inline int64_t requant_product(int64_t product, int e, int bits, int64_t offset = 0) {
#pragma HLS INLINE
    return saturate(round_shift(product + offset, e), bits);
}

// -- the engine's helper multipliers --------------------------------------------------------------
// Every multiplier of the engine outside the PE array has a role (`lane_*`, a checked inline
// call), and every role calls one of five pools: a function that is never inlined, one
// multiplier of the pool's widths. The units run one after another, so a pool serves the roles
// of all of them; the generated top holds each pool to the instances its busiest unit calls at
// once (`ALLOCATION function instances=ivit::pool_... limit=N`), and the resource model
// (ivit_hls/hls/lanes.py) prices exactly those N, so the code and the DSP / LUT figures
// describe the same hardware. The epilogue pools (GEMM epilogues, the attention drain) bind to
// fabric with IVIT_FABRIC_EPI, the vector pools with IVIT_FABRIC_VEC.
/// Pool: requant-class products (acc * m, res * m_b, the GELU core * m) of the epilogue lanes,
/// and the LayerNorm lanes' normalize products (its two halves, IVIT_LN_SPLIT = 1), which run
/// when no drain does.
inline int64_t pool_epi_wide(int64_t a, int64_t b) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_POOL_EPI_WIDE_A, IVIT_POOL_EPI_WIDE_B, IVIT_FABRIC_EPI>(a, b);
}

/// Pool: GELU's short products (|x| * r, y * y, x * sigma) and the squares of the row
/// statistics a drain gathers for the LayerNorm after it.
inline int64_t pool_epi_narrow(int64_t a, int64_t b) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_POOL_EPI_NARROW_A, IVIT_POOL_EPI_NARROW_B, IVIT_FABRIC_EPI>(a, b);
}

/// Pool: the vector lanes' requant-class products (LayerNorm's requant, Shiftmax's e * factor).
inline int64_t pool_vec_wide(int64_t a, int64_t b) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_POOL_VEC_WIDE_A, IVIT_POOL_VEC_WIDE_B, IVIT_FABRIC_VEC>(a, b);
}

/// Pool: the LayerNorm row unit's long product (mean * t), and the LayerNorm lanes'
/// normalize product when it is not split (IVIT_LN_SPLIT = 0).
inline int64_t pool_vec_long(int64_t a, int64_t b) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_POOL_VEC_LONG_A, IVIT_POOL_VEC_LONG_B, IVIT_FABRIC_VEC>(a, b);
}

/// Pool: LayerNorm's squares.
inline int64_t pool_vec_square(int64_t a, int64_t b) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return hmul<IVIT_POOL_VEC_SQUARE_A, IVIT_POOL_VEC_SQUARE_B, IVIT_FABRIC_VEC>(a, b);
}

/// A role's operands checked against the role's own widths (-DIVIT_CHECK_WIDTHS builds).
template <int WA, int WB>
inline void role_widths(int64_t a, int64_t b) {
#pragma HLS INLINE
    check_width(a, WA);
    check_width(b, WB);
}

/// Epilogue / attention drain: the requant product acc * m.
inline int64_t lane_epi_requant(int64_t acc, int64_t m) {
#pragma HLS INLINE
    role_widths<IVIT_W_ACC, IVIT_W_M>(acc, m);
    return pool_epi_wide(acc, m);
}

/// Epilogue: the residual stream's requant product res * m_b.
inline int64_t lane_epi_residual(int64_t res, int64_t m) {
#pragma HLS INLINE
    role_widths<IVIT_W_RES, IVIT_W_M>(res, m);
    return pool_epi_wide(res, m);
}

/// The row unit's divider: floor(num / den) for num >= 0, den > 0 (the per-row divisions:
/// Shiftmax's 2^M // row sum, LayerNorm's reciprocal and its square-root steps). One
/// instance in the whole engine (the top's ALLOCATION limit=1), pipelined: a new division
/// every cycle, each ROW_DIV_DEPTH cycles (engine.h).
inline int64_t row_div(int64_t num, int64_t den) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
    return num / den;
}

/// x * 2^k for a possibly negative x (a defined left shift).
inline int64_t shl(int64_t x, int k) {
#pragma HLS INLINE
    return x * (int64_t(1) << k);
}

}  // namespace ivit

#endif  // IVIT_TYPES_H
