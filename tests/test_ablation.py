"""Ablations selectable per op: I-BERT softmax / GELU recorded by the QAT model, reproduced by
the golden model and by the HLS kernels (hw/hls/ivit/ibert.h) bit for bit; the paper's
row-max ShiftGELU and ShiftExp through ``QuantConfig``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ivit_hls import golden, ir, spec
from ivit_hls.errors import IvitError
from ivit_hls.qat import QuantConfig, QuantViT, calibrate
from ivit_hls.qat.ablation import apply_ablation, ibert_gelu, ibert_softmax

from test_swin_hls import build_layers, check_layers

IBERT_KINDS = {"ibert_softmax", "ibert_gelu"}


def _qmodel(cfg=None, **ablation):
    from ivit_hls.api import create_float_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp = create_float_model("deit_tiny", depth=2, img_size=32, seed=4)
    q = apply_ablation(QuantViT(fp, cfg), **ablation)
    calibrate(q, [torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))],
              progress=False)
    return q


@pytest.fixture(scope="module")
def ibert_model():
    q = _qmodel(softmax="ibert", gelu="ibert")
    return q, q.export("ibert")


@pytest.mark.parametrize("ablation, cfg, kinds", [
    ({"softmax": "ibert", "gelu": "ibert"}, None, IBERT_KINDS),
    ({"softmax": "ibert"}, QuantConfig(gelu_form="rowmax", exp_form="paper"),
     {"ibert_softmax", "gelu"}),
    ({"gelu": "ibert"}, QuantConfig(exp_form="paper"), {"shiftmax", "ibert_gelu"}),
])
def test_qat_equals_golden_with_each_ablation(ablation, cfg, kinds):
    q = _qmodel(cfg, **ablation)
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    trace: dict = {}
    model = q.export("ablation", images=images, trace=trace)
    ir.ranges.check(model)
    assert kinds <= {ly.kind for ly in model.layers}
    res = golden.run(model, golden.quantize_image(model, images.numpy()), trace=True)
    for layer in model.layers:
        np.testing.assert_array_equal(res.trace[layer.name], trace[layer.name],
                                      err_msg=layer.name)


def test_torch_ibert_ops_equal_the_numpy_baselines():
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (6, 50))
    for scale in (0.02, 0.11, 0.6):
        k, _ = spec.exp_constants(scale)
        c = spec_ibert().ibert_exp_constants(scale / 2.0 ** k)
        want = spec_ibert().ibert_softmax(x, k, c, 16)
        got = ibert_softmax(torch.as_tensor(x), k, c["q_ln2"], c["q_b"], c["q_c"], 16)
        np.testing.assert_array_equal(got.numpy(), want)
        g = spec_ibert().ibert_gelu_constants(scale)
        np.testing.assert_array_equal(
            ibert_gelu(torch.as_tensor(x), g["q_clip"], g["q_one_erf"], g["q_one"]).numpy(),
            spec_ibert().ibert_gelu(x, g))


def spec_ibert():
    from ivit_hls.spec import ibert

    return ibert


def test_ibert_kernels_csim_bit_exact(ibert_model, tmp_path):
    _q, model = ibert_model
    entries, weights, lib = build_layers(model, IBERT_KINDS, "ibert.h", tmp_path)
    assert {layer.kind for layer, _n, _t in entries} == IBERT_KINDS
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(8)).numpy()
    check_layers(model, entries, weights, lib, images)


def test_ablation_switches_back_and_refuses_unknown_forms(ibert_model):
    q, _ = ibert_model
    apply_ablation(q, softmax="shift", gelu="shift")
    kinds = {ly.kind for ly in q.export("back").layers}
    assert {"shiftmax", "gelu"} <= kinds and not kinds & IBERT_KINDS
    with pytest.raises(IvitError, match="softmax ablation 'float'"):
        apply_ablation(q, softmax="float")
