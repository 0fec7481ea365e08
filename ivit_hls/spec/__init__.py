"""The integer semantics of ivit-hls in numpy: each function *is* the spec of one op.

Every other implementation (the PyTorch QAT model, the HLS C++ kernels, the SystemVerilog
units, the GPU executors) must return exactly the integers these functions return.
See ``docs/integer-spec.md`` for the prose version and the reasoning behind each choice.
"""

from .fixedpoint import (
    IntMatrix,
    bit_length,
    dyadic,
    int_matmul,
    quantize,
    requant,
    residual_add,
    round_shift,
    saturate,
    signed_range,
)
from .layernorm import ilayernorm, ilayernorm_normalize, isqrt, ISQRT_ITERATIONS
from .gelu import gelu_lookup, gelu_table
from .shift import (
    EXP_FORMS,
    GELU_FORMS,
    exp2_neg_frac,
    exp_corr_constants,
    exp_constants,
    shift_exp,
    shift_gelu,
    shiftmax,
    shiftmax_div_bits,
    shiftmax_normalize,
)

__all__ = [
    "IntMatrix", "bit_length", "dyadic", "int_matmul", "quantize", "requant", "residual_add", "round_shift", "saturate",
    "signed_range", "ilayernorm", "ilayernorm_normalize", "isqrt", "ISQRT_ITERATIONS",
    "EXP_FORMS", "GELU_FORMS", "exp2_neg_frac", "exp_corr_constants", "gelu_lookup", "gelu_table",
    "exp_constants", "shift_exp", "shift_gelu", "shiftmax", "shiftmax_div_bits", "shiftmax_normalize",
]
