"""QuantViT refuses, with the reason, every timm VisionTransformer option whose math it does
not implement; the options it does implement still convert."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ivit_hls.api import quantize_module
from ivit_hls.errors import IvitError

BASE = dict(img_size=32, patch_size=8, embed_dim=48, depth=1, num_heads=3, num_classes=10)


def _vit(**kw):
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    return VisionTransformer(**{**BASE, **kw}).eval()


@pytest.mark.parametrize("options, reason", [
    (dict(pre_norm=True), "pre_norm"),
    (dict(act_layer=nn.ReLU), "activation ReLU"),
    (dict(act_layer="silu"), "activation SiLU"),
    (dict(act_layer="quick_gelu"), "activation QuickGELU"),
    (dict(act_layer="gelu_tanh"), "activation GELUTanh"),
    (dict(img_size=30), "img_size 30 not divisible by the patch size 8"),
    (dict(qk_norm=True), "qk-norm"),
    (dict(init_values=1e-5), "layer scale"),
    (dict(global_pool="avg"), "global_pool='avg'"),
    (dict(global_pool="map"), "attention pooling"),
    (dict(final_norm=False), "no final LayerNorm"),
    (dict(reg_tokens=2), "register tokens"),
    (dict(no_embed_class=True), "no class token"),
    (dict(pos_embed="none"), "no learned position embedding"),
    (dict(dynamic_img_size=True), "dynamic_img_size"),
    (dict(dynamic_img_pad=True), "dynamic_img_pad"),
    (dict(num_classes=0), "no linear classification head"),
    (dict(norm_layer="rmsnorm"), "only affine LayerNorm"),
    (dict(scale_attn_norm=True), "scale_attn_norm"),
    (dict(scale_mlp_norm=True), "scale_mlp_norm"),
    (dict(embed_norm_layer="layernorm"), "patch embedding"),
    (dict(depth=0), "no encoder blocks"),
])
def test_unimplemented_options_are_refused(options, reason):
    model = _vit(**options)
    with pytest.raises(IvitError, match="unsupported ViT features") as err:
        quantize_module(model, torch.zeros(1, 3, 32, 32))
    assert reason in str(err.value) and "\n" not in str(err.value)


def test_non_default_attention_scale_is_refused():
    model = _vit()
    model.blocks[0].attn.scale = 0.5
    with pytest.raises(IvitError, match="attention scale"):
        quantize_module(model, torch.zeros(1, 3, 32, 32))


@pytest.mark.parametrize("options", [{}, dict(qkv_bias=False), dict(mlp_ratio=2.0)])
def test_implemented_options_convert(options):
    model = quantize_module(_vit(**options), torch.randn(2, 3, 32, 32))
    assert model.config["num_classes"] == 10 and model.config["depth"] == 1


@pytest.mark.parametrize("poison, reason", [
    (lambda m: m.blocks[0].mlp.fc1.weight.data.__setitem__((0, 0), float("nan")), "NaN or Inf"),
    (lambda m: m.head.bias.data.__setitem__(1, float("-inf")), "NaN or Inf"),
    (lambda m: m.blocks[0].attn.proj.weight.data.zero_(), "all zeros"),
    (lambda m: m.blocks[0].norm2.weight.data.zero_(), "all zeros"),
])
def test_unusable_weights_are_refused(poison, reason):
    model = _vit()
    poison(model)
    with pytest.raises(IvitError, match=reason):
        quantize_module(model, torch.zeros(1, 3, 32, 32))
