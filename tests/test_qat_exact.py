"""L1 == L0: the PyTorch QAT model computes exactly the golden model's integers."""

import warnings

import numpy as np
import pytest
import torch

from ivit_hls import golden
from ivit_hls.api import create_float_model, random_images
from ivit_hls.qat import QuantConfig, QuantViT, calibrate


def _quant(name, seed=0, calib=2, config=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_float_model(name, seed=seed, **kw)
    size = int(model.patch_embed.img_size[0])
    chans = int(model.patch_embed.proj.in_channels)
    q = QuantViT(model, config)
    calibrate(q, [random_images(calib, chans, size, seed + 100)], progress=False)
    return q, chans, size


def _assert_qat_matches_golden(q, images):
    qat_trace = {}
    im = q.export("under-test", images=images, trace=qat_trace)
    res = golden.run(im, golden.quantize_image(im, images.numpy()), trace=True)
    order = [layer.name for layer in im.layers]
    assert list(qat_trace) == order
    golden.assert_traces_equal(res.trace, qat_trace, order)
    np.testing.assert_array_equal(qat_trace["head"].reshape(res.logits.shape), res.logits)
    return res


def test_deit_tiny_qat_forward_is_bit_exact_with_golden_on_every_layer():
    q, chans, size = _quant("deit_tiny")
    res = _assert_qat_matches_golden(q, random_images(2, chans, size, seed=7))
    # the comparison covered all 12 blocks and real, non-degenerate integers
    assert len(res.trace) == 1 + 12 * 12 + 2  # patch_embed, 12 blocks, norm, head
    assert len(np.unique(res.logits)) > 100


def test_deit_small_one_block_is_bit_exact_with_golden():
    q, chans, size = _quant("deit_s", depth=1)
    _assert_qat_matches_golden(q, random_images(2, chans, size, seed=8))


def test_rowmax_gelu_form_is_bit_exact_too():
    q, chans, size = _quant("deit_tiny", depth=1, img_size=64,
                            config=QuantConfig(gelu_form="rowmax"))
    _assert_qat_matches_golden(q, random_images(3, chans, size, seed=9))


def test_trace_mismatch_names_the_first_differing_layer():
    q, chans, size = _quant("deit_tiny", depth=1, img_size=64)
    images = random_images(1, chans, size, seed=3)
    tr = q.trace(images)
    im = q.export("t")
    res = golden.run(im, golden.quantize_image(im, images.numpy()), trace=True)
    tampered = dict(tr)
    tampered["blocks.0.mlp.gelu"] = tr["blocks.0.mlp.gelu"].copy()
    tampered["blocks.0.mlp.gelu"][0, 3, 5] += 1
    with pytest.raises(AssertionError, match=r"layer blocks\.0\.mlp\.gelu: 1 of"):
        golden.assert_traces_equal(res.trace, tampered, [layer.name for layer in im.layers])


def test_gradients_reach_every_float_parameter_through_the_surrogates():
    q, chans, size = _quant("deit_tiny", depth=1, img_size=32)
    q.train()
    images = random_images(4, chans, size, seed=11)
    logits = q.real_logits(images)
    torch.nn.functional.cross_entropy(logits.float(), torch.tensor([1, 2, 3, 4])).backward()
    for name, p in q.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_eval_forward_before_calibration_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_float_model("deit_tiny", depth=1, img_size=32)
    q = QuantViT(model).eval()
    with pytest.raises(RuntimeError, match="not calibrated"):
        q(random_images(1, 3, 32))


@pytest.mark.parametrize("name", ["deit_b", "vit_s", "vit_b"])
def test_every_supported_family_converts_bit_exactly(name):
    q, chans, size = _quant(name, depth=1, img_size=32)
    _assert_qat_matches_golden(q, random_images(2, chans, size, seed=12))


def test_unsupported_timm_features_are_refused_in_one_line():
    import timm

    from ivit_hls.errors import IvitError

    model = timm.create_model("deit_tiny_distilled_patch16_224", pretrained=False, depth=1,
                              img_size=32)
    with pytest.raises(IvitError, match="distillation token"):
        QuantViT(model)
