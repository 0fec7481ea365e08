"""L4 TVM: the TE kernels compiled for llvm equal the golden model layer by layer on the
whole deit_tiny; the same kernels compile for CUDA sm_90 (nvcc) and export as a library."""

import json
import shutil

import numpy as np
import pytest

tvm = pytest.importorskip("tvm")

from ivit_hls import golden  # noqa: E402
from ivit_hls.errors import IvitError  # noqa: E402
from ivit_hls.gpu import check, common, run, testing  # noqa: E402
from ivit_hls.gpu.tvm import LOWER, TvmExecutor, export, plan  # noqa: E402


def test_table_covers_every_layer_kind():
    """Every kind of the op table is lowered, or listed as not ported."""
    kinds = common.model_kinds()
    assert set(LOWER) <= kinds
    assert kinds - set(LOWER) == common.NOT_PORTED


@pytest.fixture(scope="module")
def small():
    return testing.model("deit_tiny", depth=2, img_size=32, seed=1)


def test_small_model_equals_golden_and_shares_kernels(small):
    ex = TvmExecutor(small)
    keys = {k.key for _, k in plan(small)}
    assert len(keys) < len(small.layers)          # encoder blocks reuse compiled kernels
    img = testing.images(small, 3, seed=2)
    want = golden.run(small, img, trace=True)
    got = run(small, img, backend="tvm-llvm", trace=True, runner=ex)
    golden.assert_traces_equal(want.trace, got.trace, [l.name for l in small.layers])
    one = run(small, img[:1], backend="tvm-llvm", runner=ex)   # symbolic batch: same kernels
    np.testing.assert_array_equal(one.logits, want.logits[:1])


def test_mismatch_names_first_layer(small):
    ex = TvmExecutor(small)
    names = [layer.name for layer, _ in ex.steps]
    i = names.index("blocks.0.attn.qkv")
    bias = ex._consts[i][1]
    ex._consts[i][1] = tvm.runtime.tensor(bias.numpy() + 1, device=ex.dev)  # corrupt one layer
    with pytest.raises(IvitError, match="blocks.0.attn.qkv"):
        check(small, testing.images(small, 1, seed=3), backend="tvm-llvm", runner=ex)


def test_whole_deit_tiny_llvm_equals_golden_per_layer():
    model = testing.model("deit_tiny")
    img = testing.images(model, 1, seed=6)
    want = golden.run(model, img, trace=True)
    got = run(model, img, backend="tvm-llvm", trace=True)
    golden.assert_traces_equal(want.trace, got.trace, [l.name for l in model.layers])
    np.testing.assert_array_equal(got.logits, want.logits)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed: CUDA device "
                    "code cannot be compiled on this machine")
def test_deit_tiny_cuda_library_compiles_for_sm90(tmp_path):
    model = testing.model("deit_tiny")
    path = export(model, str(tmp_path / "deit_tiny.so"), target="cuda", arch="sm_90")
    data = open(path, "rb").read()
    assert data[:4] == b"\x7fELF" and len(data) > 10_000
    meta = json.load(open(path + ".json"))
    assert meta["arch"] == "sm_90" and len(meta["functions"]) >= 8


def test_too_wide_activations_are_refused(small):
    """A model whose GEMM operand is wider than int8 is refused, not wrapped silently."""
    import copy

    wide = copy.deepcopy(small)
    ln = wide.layer("blocks.0.norm1")
    ln.attrs = type(ln.attrs)(**{**vars(ln.attrs), "out_bits": 12}) \
        if not isinstance(ln.attrs, dict) else {**ln.attrs, "out_bits": 12}
    with pytest.raises(IvitError, match="blocks.0.attn.qkv"):
        plan(wide)
