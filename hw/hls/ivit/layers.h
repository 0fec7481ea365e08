// Layer kernels of the engine: one per layer kind plus the fused pairs (see layers_common.h for
// the calling convention). The units live in their own headers by the hardware they run on.
#ifndef IVIT_LAYERS_H
#define IVIT_LAYERS_H

#include "layers_common.h"
#include "units_attention.h"
#include "units_gemm.h"
#include "units_vector.h"

#endif  // IVIT_LAYERS_H
