// The PE array of the engine: R x C processing elements. Every PE multiplies a 9-bit row
// operand by an 8-bit column operand and adds the product to its own IVIT_W_ACC-bit
// accumulator; two PEs share one DSP48E2 slice, so an R x C array takes ceil(R*C/2) slices
// (what ivit_hls/perf/cycles.py prices) plus one IVIT_W_ACC-bit fabric adder per PE.
// Included by engine.h.
//
// Two products in one DSP48E2 (the technique of Xilinx WP486, "Deep Learning with INT8
// Optimization on Xilinx Devices"): two PEs that share one operand s multiply it by their
// other operands x_hi, x_lo in ONE 27 x 18 product
//     P = (x_hi * 2^S + x_lo) * s = x_hi*s * 2^S + x_lo*s,            S = PACK_SHIFT = 17.
// The packed factor x_hi * 2^S + x_lo takes the multiplier's 27-bit port, s the 18-bit one;
// a row pair's factor is the same for all C columns, so pe_step forms it once per pair
// (a DSP48E2 pre-adder's D + A, or one 27-bit fabric adder) and feeds it to C slices. Then
//     lo = P mod 2^S, read as a signed S-bit number          (bits S-1..0, sign-extended)
//     hi = (P - lo) / 2^S = floor(P / 2^S) + (lo < 0 ? 1 : 0)  (bits 34..S, plus lo's sign)
// are exactly x_lo*s and x_hi*s:
//   * every 9 x 8 product lies in [255*(-128), (-256)*(-128)] = [-32640, 32768], so x_lo*s
//     is in [-2^16, 2^16), the range of a signed S-bit number.
//     P - x_lo*s = x_hi*s * 2^S is a multiple of 2^S, so P mod 2^S = x_lo*s mod 2^S, and the
//     only value of that class in [-2^16, 2^16) is x_lo*s itself: lo = x_lo*s.
//   * then hi = (P - x_lo*s) / 2^S = x_hi*s, an exact division. The "+ (lo < 0)" is not an
//     adder of its own: it is the carry-in of the upper PE's accumulator (pe_acc_carry).
//   * the packed factor fits the 27-bit port: for 9-bit x_hi, x_lo in [-256, 255] it lies in
//     [-256*2^17 - 256, 255*2^17 + 255] = [-2^25 - 256, 2^25 - 2^17 + 255], inside
//     [-2^26, 2^26). (WP486 places the upper operand at 2^18, which leaves room to add
//     several products in the P register. With a 9-bit upper operand that would need
//     28 bits (x_hi = -256, x_lo < 0); this array adds every product in its own fabric
//     accumulator, so S = 17, the least shift that holds every 9 x 8 product, is used.)
// tests/test_pe_array.py checks both identities exhaustively (2^26 cases for row pairs,
// 2^25 for column pairs) through these very functions.
//
// Row pairs (r, r+1) share the column operand bv[c]. With an odd R the last row is alone:
// its PEs pair up along the row instead (columns c, c+1 share av[R-1]; the packed factor
// is then two 8-bit column operands), and with C odd as well one PE has a slice of its own:
// floor(R/2)*C + ceil(C/2) = ceil(R*C/2) slices for odd R, R*C/2 for even R.
#ifndef IVIT_PE_ARRAY_H
#define IVIT_PE_ARRAY_H

#include "types.h"

namespace ivit {
namespace eng {

/// A PE accumulator: IVIT_W_ACC bits, enough for every partial sum of every GEMM (range
/// analysis bounds the sum of the products' magnitudes, which bounds each partial sum).
typedef wint<IVIT_W_ACC> acc_t;

// -- operand and product widths -------------------------------------------------------------------
/// Row operand: an int8 value, or one byte (0..255) of a 16-bit unsigned operand fed in two
/// slices (mac_step's `slices` = 2): 9 bits signed.
constexpr int PE_A_BITS = 9;
/// Column operand: an int8 weight (or an int8 activation of the on-chip GEMMs).
constexpr int PE_B_BITS = 8;
/// One PE product, 9 x 8 bits, in [-32640, 32768]: 17 bits signed (a WA x WB product needs
/// WA + WB - 1 bits but for (-2^(WA-1)) * (-2^(WB-1)) = 2^(WA+WB-2), which needs WA + WB).
constexpr int PE_P_BITS = PE_A_BITS + PE_B_BITS;
/// Where the upper operand sits in the packed factor (see the proof above).
constexpr int PACK_SHIFT = PE_P_BITS;
/// The DSP48E2 multiplier's wide port (and its pre-adder's output).
constexpr int DSP_PORT_A = 27;
/// The DSP48E2 multiplier's narrow port.
constexpr int DSP_PORT_B = 18;
/// A product shifted for the high byte slice (sh = 8).
constexpr int PE_SHIFTED_BITS = PE_P_BITS + 8;

typedef wint<PE_A_BITS> pe_a_t;
typedef wint<PE_B_BITS> pe_b_t;
typedef wint<PE_P_BITS> pe_p_t;

#ifdef IVIT_PE_COUNT_DSP
/// Test hook: the DSP48E2 products pe_step issues (tests/test_pe_array.py counts them).
inline long& pe_dsp_count() {
    static long n = 0;
    return n;
}
#define IVIT_PE_DSP_USED() (++::ivit::eng::pe_dsp_count())
#else
#define IVIT_PE_DSP_USED() ((void)0)
#endif

/// The packed factor x_hi * 2^S + x_lo of two WX-bit operands (the D + A of a DSP48E2
/// pre-adder, or one 27-bit fabric adder). pe_step packs each pair ONCE and feeds it to
/// every slice of that pair: a row pair's factor serves all C columns.
template <int WX>
inline wint<DSP_PORT_A> pe_pack(int64_t x_hi, int64_t x_lo) {
#pragma HLS INLINE
    // x_hi * 2^S takes WX + S bits, adding x_lo one more
    static_assert(WX + PACK_SHIFT + 1 <= DSP_PORT_A, "the packed factor exceeds the 27-bit port");
#ifdef __SYNTHESIS__
    const ap_int<WX> xh = x_hi, xl = x_lo;
    const ap_int<DSP_PORT_A> w = (ap_int<DSP_PORT_A>(xh) << PACK_SHIFT) + xl;
    return w;
#else
    const wint<WX> xh = x_hi, xl = x_lo;   // -DIVIT_CHECK_WIDTHS: the operands fit
    return wint<DSP_PORT_A>(int64_t(xh) * (int64_t(1) << PACK_SHIFT) + int64_t(xl));
#endif
}

/// The two products of one DSP48E2 slice, P = w * s for a packed factor w and a WS-bit
/// shared operand s: lo = the low S bits of P, signed (= x_lo * s); hraw = floor(P / 2^S)
/// and neg = (lo < 0), so that x_hi * s = hraw + neg. The correction `neg` is left to the
/// upper PE's accumulator, where it is the adder's carry-in (pe_acc_carry): no adder here.
template <int WS>
inline void dsp_split(wint<DSP_PORT_A> w, int64_t s, wint<PE_P_BITS + 1>& hraw, bool& neg,
                      pe_p_t& lo) {
#pragma HLS INLINE
    static_assert(WS <= DSP_PORT_B, "the shared operand exceeds the 18-bit port");
    IVIT_PE_DSP_USED();
#ifdef __SYNTHESIS__
    const ap_int<WS> sv = s;
    ap_int<DSP_PORT_A + WS> p = w * sv;
#pragma HLS BIND_OP variable=p op=mul impl=dsp
    const ap_int<PE_P_BITS> l = p(PE_P_BITS - 1, 0);             // low S bits, signed
    hraw = p >> PACK_SHIFT;
    neg = l[PE_P_BITS - 1];
    lo = l;
#else
    const wint<WS> sv = s;
    const int64_t p = int64_t(w) * int64_t(sv);
    const int64_t field = int64_t(1) << PACK_SHIFT;
    const int64_t l = ((p & (field - 1)) ^ (field >> 1)) - (field >> 1);  // sign-extended
    hraw = p >> PACK_SHIFT;
    neg = l < 0;
    lo = l;
#endif
}

/// Both products of one slice at once (what the exhaustive test checks): hi = x_hi * s,
/// lo = x_lo * s for WX-bit x_hi, x_lo and a WS-bit s (row pairs: WX = 9, WS = 8; the column
/// pairs of an odd last row: WX = 8, WS = 9).
template <int WX, int WS>
inline void dsp_pair(int64_t x_hi, int64_t x_lo, int64_t s, pe_p_t& hi, pe_p_t& lo) {
#pragma HLS INLINE
    static_assert(WX + WS <= PE_P_BITS, "a product exceeds its S-bit field");
    wint<PE_P_BITS + 1> hraw;
    bool neg;
    dsp_split<WS>(pe_pack<WX>(x_hi, x_lo), s, hraw, neg, lo);
    hi = pe_p_t(int64_t(hraw) + (neg ? 1 : 0));
}

/// One product alone in a DSP48E2 slice (the last PE of an odd R x odd C array).
inline pe_p_t dsp_single(int64_t a, int64_t b) {
#pragma HLS INLINE
    IVIT_PE_DSP_USED();
#ifdef __SYNTHESIS__
    const ap_int<PE_A_BITS> av = a;
    const ap_int<PE_B_BITS> bv = b;
    ap_int<PE_P_BITS> p = av * bv;
#pragma HLS BIND_OP variable=p op=mul impl=dsp
    return p;
#else
    return pe_p_t(int64_t(pe_a_t(a)) * int64_t(pe_b_t(b)));
#endif
}

/// A PE's accumulate: acc + p, or acc + p * 2^8 for the high byte slice; the shift is
/// wiring on the 17-bit product, the add one IVIT_W_ACC-bit fabric adder.
inline acc_t pe_acc(acc_t acc, pe_p_t p, bool high) {
#pragma HLS INLINE
#ifdef __SYNTHESIS__
    const ap_int<PE_SHIFTED_BITS> ps = high ? ap_int<PE_SHIFTED_BITS>(ap_int<PE_SHIFTED_BITS>(p) << 8)
                                            : ap_int<PE_SHIFTED_BITS>(p);
    acc_t s = acc + ps;
#pragma HLS BIND_OP variable=s op=add impl=fabric
    return s;
#else
    const wint<PE_SHIFTED_BITS> ps = high ? int64_t(p) * 256 : int64_t(p);
    return acc_t(int64_t(acc) + int64_t(ps));
#endif
}

/// The upper PE's accumulate: acc + (hraw + neg) * 2^sh as ONE adder with carry-in neg.
/// For sh = 8 the operand's low byte is 0xFF when neg is set: acc + hraw*2^8 + 255 + 1 =
/// acc + (hraw + 1)*2^8, so the carry still enters at bit 0.
inline acc_t pe_acc_carry(acc_t acc, wint<PE_P_BITS + 1> hraw, bool neg, bool high) {
#pragma HLS INLINE
#ifdef __SYNTHESIS__
    const ap_int<PE_SHIFTED_BITS + 1> t =
        high ? ap_int<PE_SHIFTED_BITS + 1>((ap_int<PE_SHIFTED_BITS + 1>(hraw) << 8) |
                                           ap_int<PE_SHIFTED_BITS + 1>(neg ? 255 : 0))
             : ap_int<PE_SHIFTED_BITS + 1>(hraw);
    acc_t s = acc + t + ap_uint<1>(neg);
#pragma HLS BIND_OP variable=s op=add impl=fabric
    return s;
#else
    const wint<PE_SHIFTED_BITS + 1> t =
        high ? int64_t(hraw) * 256 + (neg ? 255 : 0) : int64_t(hraw);
    return acc_t(int64_t(acc) + int64_t(t) + (neg ? 1 : 0));
#endif
}

/// One cycle of the R x C array: PE (r, c) adds av[r] * bv[c] * 2^sh to acc[r][c], where
/// sh = 8 for the high byte of a byte-sliced 16-bit operand and 0 otherwise. av[] holds
/// 9-bit row operands, bv[] 8-bit column operands (the int32 ports are narrowed on entry;
/// a checking build stops on a value that does not fit). ceil(R*C/2) DSP48E2 products,
/// floor(R/2) + (R odd ? floor(C/2) : 0) packing adders (27 bits), one IVIT_W_ACC-bit
/// adder per PE.
/// Not inlined: every GEMM of the program calls this one function, so the top's
/// `ALLOCATION function ... limit=1` can hold the array to one instance.
template <int R, int C>
void pe_step(acc_t acc[R][C], const int32_t av[R], const int32_t bv[C], int sh) {
#pragma HLS INLINE off
#pragma HLS PIPELINE II=1
#if !defined(__SYNTHESIS__) && defined(IVIT_CHECK_WIDTHS)
    if (sh != 0 && sh != 8) {
        std::fprintf(stderr, "ivit: pe_step shift %d is neither 0 nor 8\n", sh);
        std::abort();
    }
#endif
    const bool high = sh != 0;
pe_row_pairs:
    for (int r = 0; r + 1 < R; r += 2) {
#pragma HLS UNROLL
        const wint<DSP_PORT_A> w = pe_pack<PE_A_BITS>(av[r + 1], av[r]);
    pe_pair_cols:
        for (int c = 0; c < C; ++c) {
#pragma HLS UNROLL
            wint<PE_P_BITS + 1> hraw;
            bool neg;
            pe_p_t lo;
            dsp_split<PE_B_BITS>(w, bv[c], hraw, neg, lo);
            acc[r][c] = pe_acc(acc[r][c], lo, high);
            acc[r + 1][c] = pe_acc_carry(acc[r + 1][c], hraw, neg, high);
        }
    }
    if (R % 2 == 1) {
    pe_last_row:
        for (int c = 0; c + 1 < C; c += 2) {
#pragma HLS UNROLL
            wint<PE_P_BITS + 1> hraw;
            bool neg;
            pe_p_t lo;
            dsp_split<PE_A_BITS>(pe_pack<PE_B_BITS>(bv[c + 1], bv[c]), av[R - 1], hraw, neg, lo);
            acc[R - 1][c] = pe_acc(acc[R - 1][c], lo, high);
            acc[R - 1][c + 1] = pe_acc_carry(acc[R - 1][c + 1], hraw, neg, high);
        }
        if (C % 2 == 1)
            acc[R - 1][C - 1] = pe_acc(acc[R - 1][C - 1], dsp_single(av[R - 1], bv[C - 1]), high);
    }
}

}  // namespace eng
}  // namespace ivit

#endif  // IVIT_PE_ARRAY_H
