"""L1 == L0 for every selectable nonlinear form, and the LayerNorm β fold with a tiny γ."""

import math
import warnings

import numpy as np
import pytest
import torch

from ivit_hls import golden, spec
from ivit_hls.api import create_float_model, random_images
from ivit_hls.qat import QuantConfig, QuantViT, calibrate
from ivit_hls.qat.nonlinear import QuantLayerNorm, fold_ln_offset


def _quant(config, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_float_model("deit_tiny", seed=seed, depth=1, img_size=64)
    q = QuantViT(model, config)
    calibrate(q, [random_images(2, 3, 64, seed + 100)], progress=False)
    return q


@pytest.mark.parametrize("exp_form,gelu_form", [("corrected", "shift"), ("paper", "symmetric"),
                                                ("corrected", "table")])
def test_forms_are_bit_exact_with_golden_and_recorded(exp_form, gelu_form):
    q = _quant(QuantConfig(exp_form=exp_form, gelu_form=gelu_form))
    images = random_images(2, 3, 64, seed=9)
    qat_trace = {}
    im = q.export("forms", images=images, trace=qat_trace)
    res = golden.run(im, golden.quantize_image(im, images.numpy()), trace=True)
    order = [layer.name for layer in im.layers]
    golden.assert_traces_equal(res.trace, qat_trace, order)
    by_kind = {layer.kind: layer for layer in im.layers}
    assert by_kind["shiftmax"].attrs.exp_form == exp_form
    gelu = by_kind["gelu"]
    assert gelu.attrs.form == gelu_form
    if gelu_form == "table":
        table = gelu.params["table"]
        assert table.shape == (256,)
        x = qat_trace[order[order.index(gelu.name) - 1]]
        np.testing.assert_array_equal(qat_trace[gelu.name], spec.gelu_lookup(x, table))


def test_default_config_uses_the_revised_forms():
    cfg = QuantConfig()
    assert (cfg.exp_form, cfg.gelu_form) == ("corrected", "shift")
    assert cfg.as_dict()["exp_form"] == "corrected"


def test_ln_offset_fold_keeps_beta_when_gamma_is_tiny():
    s_out = 0.05
    gamma = np.array([1e-6, 1e-9, 1.0, -1e-7])
    beta = np.array([0.93, -2.4, 0.3, 6.0])  # 6.0 saturates int8 at this scale
    c = gamma.size
    m, e = spec.dyadic(gamma * math.sqrt(c) / (2.0 ** 16 * s_out))
    m2, e2, off = fold_ln_offset(m, e, beta / s_out)
    assert np.all(np.abs(off) <= 2 ** 60) and np.all(e2 >= 1)
    np.testing.assert_array_equal(m2[2], m[2])  # normal γ: unchanged
    assert e2[2] == e[2]
    n = np.array([[-(1 << 16), -5, 0, 7, 1 << 16]]).T * np.ones((1, c), dtype=np.int64)
    out = spec.requant(n, m2, e2, 8, offset=off)
    want = np.clip(np.floor(beta / s_out + 0.5), -128, 127)
    assert np.all(np.abs(out[:, [0, 1, 3]] - want[[0, 1, 3]]) <= 1)  # ≈ β rounded
    # the real γ term is below 0.04 output units for the tiny channels: within one unit
    exact = n * gamma * math.sqrt(c) / (2.0 ** 16 * s_out) + beta / s_out
    assert np.all(np.abs(out - np.clip(np.round(exact), -128, 127)) <= 1)


def test_layernorm_module_uses_the_fold():
    ln = torch.nn.LayerNorm(8)
    with torch.no_grad():
        ln.weight.fill_(1e-6)
        ln.bias.copy_(torch.linspace(-1, 1, 8))
    mod = QuantLayerNorm("ln", ln, QuantConfig())
    mod.observer.update(torch.tensor([[-1.0, 1.0]]))
    c = mod.constants()
    out = spec.requant(np.zeros((1, 8), dtype=np.int64), c["m"], c["e"], 8, offset=c["bias"])
    want = np.floor(np.linspace(-1, 1, 8) / c["s_out"] + 0.5)
    np.testing.assert_array_equal(out[0], np.clip(want, -128, 127))
