// Classification head helpers: integer argmax over the logits (ties go to the lower index).
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

/// Widen the final layer's output into the int32 logits port.
template <typename T>
void copy_logits(const T* src, int32_t* dst, int n) {
head_copy:
    for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II=1
        dst[i] = static_cast<int32_t>(src[i]);
    }
}

}  // namespace ivit

#endif  // IVIT_HEAD_H
