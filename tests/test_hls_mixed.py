"""A model with kinds the engine has no unit for (a small Swin): the generated project runs
them through their layer kernels (once per image of a batch), bit-exact per layer, and still
accounts every cycle."""

from __future__ import annotations

import ctypes
import json
import subprocess
import warnings

import numpy as np

from ivit_hls.golden import assert_traces_equal
from ivit_hls.golden import run as golden_run
from ivit_hls.hls import CsimLibrary, HlsOptions, generate
from ivit_hls.hls.fusion import ENGINE_KINDS
from ivit_hls.hls.project import tb_images

from hls_helpers import CXXFLAGS


def _small_swin_model():
    import torch

    from ivit_hls.qat import calibrate
    from ivit_hls.qat.swin import QuantSwin
    from test_swin import _small_swin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = QuantSwin(_small_swin())
        calibrate(q, [torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))],
                  progress=False)
        return q.export("small_swin")


def _batch_of_two_counts_its_estimate(model, out, image, lib: str, checks: tuple = ()):
    """Build the cycle-accounting library ``build/<lib>`` (plus ``checks`` defines), run a
    batch of two: logits equal golden, every layer's cycles and DDR bytes equal
    estimate.json. Each test names its own library: two loaded copies must not share one."""
    cmd = ["g++", *CXXFLAGS, "-DIVIT_CYCLES", *checks, "-fPIC", "-shared", "-Iinclude",
           "-Isrc", "src/ivit_top.cpp", "src/ivit_capi.cpp", "-o", f"build/{lib}"]
    (out / "build").mkdir(exist_ok=True)
    proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr[-2000:]
    so = ctypes.CDLL(str(out / "build" / lib))
    n = len(model.layers)
    counters = np.zeros(3 * n, dtype=np.int64)
    weights = np.fromfile(out / "data" / "weights.bin", dtype=np.int8)
    img = np.ascontiguousarray(image.astype(np.int8))
    res = np.zeros((2, model.config["num_classes"]), dtype=np.int32)
    vp = ctypes.c_void_p
    assert so.ivit_run_cycles(vp(img.ctypes.data), vp(weights.ctypes.data), vp(res.ctypes.data),
                              2, vp(counters.ctypes.data)) == 0
    np.testing.assert_array_equal(res, golden_run(model, image).logits)
    est = json.loads((out / "reports" / "estimate.json").read_text())
    modelled = [[ly["cycles"], ly["ddr_weight_bytes"], ly["ddr_activation_bytes"]]
                for ly in est["layers"]]
    np.testing.assert_array_equal(counters.reshape(n, 3), np.array(modelled, dtype=np.int64))


def test_swin_layers_run_through_their_kernels(tmp_path):
    model = _small_swin_model()
    assert {ly.kind for ly in model.layers} - ENGINE_KINDS   # some kinds have no engine unit
    out = generate(model, tmp_path / "swin", HlsOptions(rows=4, cols=4, tb_images=1, batch=2))
    image = tb_images(model, 2, seed=1)
    logits, trace = CsimLibrary(out).run_trace(image[0])
    golden = golden_run(model, image[:1], trace=True)
    assert_traces_equal(golden.trace, trace, [ly.name for ly in model.layers])
    np.testing.assert_array_equal(logits, golden.logits)
    # cycle accounting of one batch of two: engine units count their loops over the batch,
    # layer kernels add the op table's figure once per image
    _batch_of_two_counts_its_estimate(model, out, image, "swin_cycles.so")


def test_unfused_attention_and_ibert_kernels_in_batches(tmp_path):
    """I-BERT softmax / GELU (no engine unit) split attention into q.k^T and P.v units that loop
    over the batch's images: a batch of two is bit-exact and counts its estimate per layer."""
    import torch

    from ivit_hls.api import create_float_model
    from ivit_hls.qat import QuantViT, calibrate
    from ivit_hls.qat.ablation import apply_ablation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = apply_ablation(QuantViT(create_float_model("deit_tiny", depth=1, img_size=32,
                                                       seed=4)), softmax="ibert", gelu="ibert")
        calibrate(q, [torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))],
                  progress=False)
        model = q.export("ibert")
    kinds = {ly.kind for ly in model.layers}
    assert {"qk_matmul", "pv_matmul", "ibert_softmax", "ibert_gelu"} <= kinds
    out = generate(model, tmp_path / "ib", HlsOptions(rows=4, cols=4, tb_images=1, batch=2))
    image = tb_images(model, 2, seed=3)
    _batch_of_two_counts_its_estimate(model, out, image, "ibert_cycles.so",
                                      checks=("-DIVIT_CHECK_WIDTHS",))


def test_unfused_vector_units_in_batches(tmp_path, monkeypatch, model_factory):
    """With fusion off, every engine unit runs on its own (Shiftmax, GELU in the shift and the
    row-max forms, residual add, the attention matmuls): a batch of two is bit-exact per layer
    and counts its estimate per layer."""
    import dataclasses

    import ivit_hls.hls.lower as lower_mod
    from ivit_hls.hls.fusion import Step

    def one_layer_per_step(layers, types):
        steps = []
        for op in layers:
            engine = op.layer.kind in ENGINE_KINDS
            gemm = op.layer.op.gemm(op.layer, [types[n] for n in op.layer.inputs])
            steps.append(Step(op.kernel, [op], list(op.inputs), weighted=op.weighted,
                              engine=engine, array=engine and gemm is not None))
        return steps

    monkeypatch.setattr(lower_mod, "find_steps", one_layer_per_step)
    base = model_factory("deit_tiny", calib_random=2, depth=1, img_size=32)
    image = tb_images(base, 2, seed=1)
    for form in ("shift", "rowmax"):
        model = dataclasses.replace(base, layers=[
            dataclasses.replace(ly, attrs=dataclasses.replace(ly.attrs, form=form))
            if ly.kind == "gelu" else ly for ly in base.layers])
        out = generate(model, tmp_path / form, HlsOptions(rows=5, cols=4, lanes=8,
                                                         tb_images=1, batch=2))
        top = (out / "src" / "ivit_top.cpp").read_text()
        for kernel in ("shiftmax", "gelu", "residual_add", "qk_matmul", "pv_matmul"):
            assert f"ivit::layer::{kernel}<" in top
        logits, trace = CsimLibrary(out).run_trace(image[0])
        golden = golden_run(model, image[:1], trace=True)
        assert_traces_equal(golden.trace, trace, [ly.name for ly in model.layers])
        np.testing.assert_array_equal(logits, golden.logits)
        _batch_of_two_counts_its_estimate(model, out, image, f"unfused_{form}.so",
                                          checks=("-DIVIT_CHECK_WIDTHS",))
