// ivit-hls kernel library: include everything.
#ifndef IVIT_ALL_H
#define IVIT_ALL_H

#include "types.h"
#include "requant.h"
#include "gemm.h"
#include "shiftexp.h"
#include "shiftmax.h"
#include "shiftgelu.h"
#include "layernorm.h"
#include "attention.h"
#include "patch_embed.h"
#include "head.h"

#endif  // IVIT_ALL_H
