// I-BERT ablation kernels (spec: ivit_hls/spec/ibert.py): the polynomial softmax and GELU
// that replace Shiftmax / ShiftGELU when a model is built with those ablations. Templated on
// the layer's config struct like the kernels of layers.h.
#ifndef IVIT_IBERT_H
#define IVIT_IBERT_H

#include <cstdint>

#include "types.h"

namespace ivit {
namespace ibert {

/// i-exp of q <= 0: ((q_p + q_b)^2 + q_c) >> min(z, 63), z = (-q) // q_ln2, q_p = q + z q_ln2.
/// -q >= 0 and q_ln2 > 0, so C++ `/` is the floor division here.
inline int64_t exp(int64_t q, int64_t q_ln2, int64_t q_b, int64_t q_c) {
#pragma HLS INLINE
    const int64_t z = (-q) / q_ln2;
    const int64_t qp = q + z * q_ln2;
    const int64_t poly = (qp + q_b) * (qp + q_b) + q_c;
    return poly >> (z < 63 ? z : 63);
}

}  // namespace ibert

namespace layer {

/// I-BERT softmax over ROWS rows of LEN logits: i-exp of (x - rowmax) << K, then Shiftmax's
/// normalisation with M = bitlen(Q_B^2 + Q_C) + 30.
template <class CFG>
void ibert_softmax(const typename CFG::in_t* x, typename CFG::out_t* y) {
    constexpr int LEN = CFG::LEN;
    const int m_bits = bit_length(static_cast<int64_t>(CFG::Q_B) * CFG::Q_B + CFG::Q_C) + 30;
    const int shift = m_bits - (CFG::OUT_BITS - 1);
    const int64_t half = int64_t(1) << (shift - 1);
    int64_t ebuf[LEN];
ibs_rows:
    for (long r = 0; r < CFG::ROWS; ++r) {
        const typename CFG::in_t* row = x + r * LEN;
        int64_t top = row[0];
    ibs_max:
        for (int j = 1; j < LEN; ++j) {
#pragma HLS PIPELINE II=1
            if (row[j] > top) top = row[j];
        }
        int64_t total = 0;
    ibs_exp:
        for (int j = 0; j < LEN; ++j) {
#pragma HLS PIPELINE II=1
            const int64_t ev = ibert::exp(shl(row[j] - top, CFG::K), CFG::Q_LN2, CFG::Q_B, CFG::Q_C);
            ebuf[j] = ev;
            total += ev;
        }
        const int64_t factor = (int64_t(1) << m_bits) / total;  // the row maximum's term > 0
        typename CFG::out_t* out = y + r * LEN;
    ibs_norm:
        for (int j = 0; j < LEN; ++j) {
#pragma HLS PIPELINE II=1
            out[j] = static_cast<typename CFG::out_t>((ebuf[j] * factor + half) >> shift);
        }
    }
}

/// I-BERT GELU: y = sat(requant(x * (sgn(x) (Q_ONE_ERF - (min(|x|, Q_CLIP) - Q_CLIP)^2) + Q_ONE))).
template <class CFG>
void ibert_gelu(const typename CFG::in_t* x, typename CFG::out_t* y) {
ibg_elems:
    for (long i = 0; i < static_cast<long>(CFG::ROWS) * CFG::COLS; ++i) {
#pragma HLS PIPELINE II=1
        const int64_t v = x[i];
        const int64_t a = v < 0 ? -v : v;
        const int64_t d = (a < CFG::Q_CLIP ? a : CFG::Q_CLIP) - CFG::Q_CLIP;
        const int64_t erf = CFG::Q_ONE_ERF - d * d;
        const int64_t sgn = v > 0 ? 1 : (v < 0 ? -1 : 0);
        y[i] = static_cast<typename CFG::out_t>(
            requant_sat(v * (sgn * erf + CFG::Q_ONE), CFG::M, CFG::E, CFG::OUT_BITS));
    }
}

}  // namespace layer
}  // namespace ivit

#endif  // IVIT_IBERT_H
