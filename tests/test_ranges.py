"""Range analysis: sound on real data, and refuses models that could overflow, naming the op."""

import copy
import dataclasses

import numpy as np
import pytest

from ivit_hls import golden
from ivit_hls.api import random_images
from ivit_hls.errors import RangeError
from ivit_hls.ir import ranges


def test_calibrated_model_passes_with_headroom(small_int_model):
    bounds = ranges.check(small_int_model)
    kinds = {b.layer.split(".")[-1] for b in bounds}
    assert {"qkv", "scores", "softmax", "context", "fc1", "gelu", "add1", "norm1", "head"} <= kinds
    assert all(b.ok for b in bounds)


def test_bounds_are_sound_on_observed_accumulators(small_int_model):
    """Every raw accumulator seen on data stays within the proven int32 bound."""
    cfg = small_int_model.config
    imgs = random_images(8, cfg["in_chans"], cfg["img_size"], 3).numpy() * 4.0  # saturating
    res = golden.run(small_int_model, golden.quantize_image(small_int_model, imgs), trace=True)
    acc_bounds = {b.layer: b.bound for b in ranges.analyze(small_int_model)
                  if b.quantity == "int32 accumulator"}
    raw = [layer.name for layer in small_int_model.layers
           if layer.kind == "linear" and layer.attrs.out_bits is None]
    assert raw
    for name in raw:
        assert np.abs(res.trace[name]).max() <= acc_bounds[name]


def _with_attrs(model, layer_name, **changes):
    m = copy.deepcopy(model)
    layer = m.layer(layer_name)
    layer.attrs = dataclasses.replace(layer.attrs, **changes)
    return m


def _tampered(model, layer_name, key, value):
    m = copy.deepcopy(model)
    layer = m.layer(layer_name)
    arr = layer.params[key].copy()
    arr.flat[0] = value
    layer.params[key] = arr
    return m


def test_overflowing_accumulator_is_refused_naming_the_layer(small_int_model):
    bad = _tampered(small_int_model, "blocks.1.mlp.fc1", "bias", np.iinfo(np.int32).max)
    with pytest.raises(RangeError, match=r"layer blocks\.1\.mlp\.fc1: int32 accumulator"):
        ranges.check(bad)


def test_out_of_range_dyadic_shift_is_refused(small_int_model):
    bad = _with_attrs(small_int_model, "blocks.0.attn.scores", e=63)
    with pytest.raises(RangeError, match=r"blocks\.0\.attn\.scores: dyadic shift e"):
        ranges.check(bad)


def test_too_long_shiftmax_exponent_is_refused(small_int_model):
    bad = _with_attrs(small_int_model, "blocks.0.attn.softmax", n=30)
    with pytest.raises(RangeError, match=r"blocks\.0\.attn\.softmax"):
        ranges.check(bad)


def test_wide_layernorm_input_is_refused(small_int_model):
    bad = _with_attrs(small_int_model, "blocks.0.add2", out_bits=32)
    with pytest.raises(RangeError, match=r"blocks\.1\.norm1: variance sum"):
        ranges.check(bad)


def test_overflowing_requant_product_is_refused(small_int_model):
    bad = _tampered(small_int_model, "blocks.0.norm2", "bias", np.iinfo(np.int64).max - 1000)
    with pytest.raises(RangeError, match=r"blocks\.0\.norm2: requant product"):
        ranges.check(bad)


def test_zero_shift_is_refused_naming_the_shift(small_int_model):
    bad = _tampered(small_int_model, "blocks.0.mlp.fc1", "e", 0)
    with pytest.raises(RangeError, match=r"blocks\.0\.mlp\.fc1: dyadic shift e: a shift of 0 "
                                         r"is outside 1\.\.62"):
        ranges.check(bad)


def test_tightest_reports_a_derived_quantity(small_int_model):
    tight = ranges.tightest(ranges.analyze(small_int_model))
    assert tight is not None and not tight.declared
    # the multiplier's own width is a format invariant, never the reported margin
    assert "multiplier" not in tight.quantity
    assert tight.headroom_bits > 0
