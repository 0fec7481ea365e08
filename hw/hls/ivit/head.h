// Classification head helpers: integer argmax over the logits (ties go to the lower index), and
// the copy of the logits to the output port.
#ifndef IVIT_HEAD_H
#define IVIT_HEAD_H

#include "types.h"

namespace ivit {

/// Index of the largest logit; the first one wins a tie (like a stable descending sort).
template <typename T>
int argmax(const T* logits, int n) {
    int best = 0;
head_argmax:
    for (int i = 1; i < n; ++i) {
#pragma HLS PIPELINE II=1
        if (logits[i] > logits[best]) best = i;
    }
    return best;
}

/// Cycles of copy_logits for `n` logits, as written: one int32 per cycle (the logits port
/// shares the gmem0 bundle with the int8 image port, a 32-bit AXI master, and the batch's
/// logits start at `b * classes` int32s, which is not 64-byte aligned in general), plus
/// `latency` cycles for the write burst to complete (the engine's DDR_LATENCY).
/// Sixteen logits per cycle would need a 512-bit write port and 64-byte aligned rows (e.g.
/// each image's logits padded to a multiple of 16 int32s in the host ABI): Vitis' automatic
/// port widening assumes that alignment (UG1399, "Automatic Port Width Resizing":
/// m_axi_alignment_byte_size) and would write wrong words without it.
inline int64_t copy_logits_cycles(int64_t n, int latency) { return n + latency; }

/// Widen the final layer's output into the int32 logits port: one logit per cycle
/// (copy_logits_cycles).
template <typename T>
void copy_logits(const T* src, int32_t* dst, int n) {
#pragma HLS INLINE
head_copy:
    for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II=1
#if defined(IVIT_NUM_CLASSES) && defined(IVIT_MAX_BATCH)
#pragma HLS LOOP_TRIPCOUNT min=IVIT_NUM_CLASSES max=IVIT_NUM_CLASSES*IVIT_MAX_BATCH
#endif
        dst[i] = static_cast<int32_t>(src[i]);
    }
}

}  // namespace ivit

#endif  // IVIT_HEAD_H
