"""The Triton kernels compile for an H100/H200 (sm_90) on this machine, without a GPU:
Triton's own compiler and ptxas, the GEMMs lowered to Hopper warp-group int8 MMA."""

import importlib.util
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")

KERNELS = Path(__file__).resolve().parents[1] / "ivit_hls" / "gpu" / "triton" / "kernels.py"


@pytest.fixture(scope="module")
def compiled_kernels():
    """The kernels module decorated by the compiler, not the interpreter (loaded from its file
    so the package's interpreter switch for CPU-only machines does not apply)."""
    import os

    saved = os.environ.pop("TRITON_INTERPRET", None)
    try:
        spec = importlib.util.spec_from_file_location("ivit_triton_kernels_sm90", KERNELS)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        if saved is not None:
            os.environ["TRITON_INTERPRET"] = saved
    if not isinstance(mod.gemm_kernel, triton.runtime.jit.JITFunction):
        pytest.fail("kernels were decorated for the interpreter")
    return mod


def _compile(fn, types, consts):
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    sig = {n: types.get(n, "i64") for n in fn.arg_names if n not in consts}
    sig.update({n: "constexpr" for n in consts})
    return triton.compile(ASTSource(fn=fn, signature=sig, constexprs=consts),
                          target=GPUTarget("cuda", 90, 32))


_GEMM_PTRS = {"a_ptr": "*i8", "b_ptr": "*i8", "c_ptr": "*i8", "bias_ptr": "*i32",
              "m_ptr": "*i64", "e_ptr": "*i64", "x_ptr": "*i16", "g_mant": "*i64"}


@pytest.mark.parametrize("mode,split", [(0, False), (1, False), (2, False), (3, False),
                                        (4, False), (1, True)])
def test_gemm_compiles_to_int8_warpgroup_mma(compiled_kernels, mode, split):
    types = dict(_GEMM_PTRS, **({"a_ptr": "*i32"} if split else {}))
    k = _compile(compiled_kernels.gemm_kernel, types, {
        "HAS_BIAS": True, "MODE": mode, "SPLIT_A": split, "GELU_FORM": 2 if mode == 4 else 0,
        "GELU_EXP": 0, "BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 64})
    ttgir = k.asm["ttgir"]
    assert "warp_group_dot" in ttgir and "i8" in ttgir
    assert "sm_90" in k.asm["ptx"] or ".target sm_90" in k.asm["ptx"]


@pytest.mark.parametrize("name,types,consts", [
    ("layernorm_kernel", {"x_ptr": "*i16", "out_ptr": "*i8", "m_ptr": "*i64", "e_ptr": "*i64",
                          "bias_ptr": "*i64"}, {"BLOCK_R": 4, "BLOCK_C": 256}),
    ("shiftmax_kernel", {"x_ptr": "*i8", "out_ptr": "*i32", "mant_ptr": "*i64"},
     {"EXP_FORM": 1, "BLOCK_R": 4, "BLOCK_T": 256}),
    ("gelu_kernel", {"x_ptr": "*i8", "out_ptr": "*i8", "mant_ptr": "*i64"},
     {"FORM": 1, "EXP_FORM": 0, "BLOCK_R": 4, "BLOCK_C": 1024}),
    ("gelu_kernel", {"x_ptr": "*i8", "out_ptr": "*i8", "mant_ptr": "*i64"},
     {"FORM": 2, "EXP_FORM": 0, "BLOCK_R": 4, "BLOCK_C": 1024}),
    ("residual_kernel", {"a_ptr": "*i32", "b_ptr": "*i16", "out_ptr": "*i16", "ma_ptr": "*i64",
                         "ea_ptr": "*i64"}, {"BLOCK_R": 4, "BLOCK_C": 256}),
    ("lookup_kernel", {"x_ptr": "*i8", "table_ptr": "*i64", "out_ptr": "*i8"}, {"BLOCK": 1024}),
])
def test_row_kernels_compile(compiled_kernels, name, types, consts):
    k = _compile(getattr(compiled_kernels, name), types, consts)
    assert len(k.asm["cubin"]) > 1000
