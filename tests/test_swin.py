"""Swin integer-only: shifted windows, relative position bias, patch merging, pooled head.

QAT forward = golden on every layer (a small Swin with shifted blocks, and Swin-T at 224
for two images); the window geometry equals timm's roll + partition and its mask; masked
logits get probability exactly 0 and the kept ones equal Shiftmax over the kept logits.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

from ivit_hls import golden, ir
from ivit_hls.errors import IvitError
from ivit_hls.ops import REGISTRY, Engine, RtlParams
from ivit_hls.ops.windows import window_index, window_mask
from ivit_hls.resources import SOURCE_ROOT

SWIN_KINDS = {"patch_tokens", "window_qk", "window_shiftmax", "window_pv", "patch_merge",
              "mean_pool"}


def _small_swin(img_size=32, window=4, **kw):
    from timm.models.swin_transformer import SwinTransformer

    torch.manual_seed(3)
    args = dict(img_size=img_size, patch_size=2, window_size=window, embed_dim=16,
                depths=(2, 2), num_heads=(2, 4), num_classes=10)
    args.update(kw)
    return SwinTransformer(**args).eval()


@pytest.fixture(scope="module")
def small():
    """(float model, QuantSwin, integer model) of a two-stage Swin: 16x16 then 8x8 tokens,
    4x4 windows, the second block of each stage shifted by 2."""
    from ivit_hls.qat import calibrate
    from ivit_hls.qat.swin import QuantSwin

    fp = _small_swin()
    q = QuantSwin(fp)
    calibrate(q, [torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))],
              progress=False)
    return fp, q, q.export("small_swin")


def _images(n, seed, size=32):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _assert_qat_equals_golden(q, model, images):
    trace = q.trace(images)
    res = golden.run(model, golden.quantize_image(model, images.numpy()), trace=True)
    assert [ly.name for ly in model.layers] == list(trace)
    for layer in model.layers:
        np.testing.assert_array_equal(res.trace[layer.name], trace[layer.name],
                                      err_msg=layer.name)
    return res


def test_small_swin_qat_equals_golden_every_layer(small):
    _fp, q, model = small
    kinds = {ly.kind for ly in model.layers}
    assert SWIN_KINDS <= kinds and "shiftmax" in kinds  # unshifted blocks reuse shiftmax
    ir.ranges.check(model)
    _assert_qat_equals_golden(q, model, _images(2, 7))


def test_file_roundtrip_keeps_the_integers(small, tmp_path):
    _fp, _q, model = small
    ir.save(model, tmp_path / "s.ivit")
    back = ir.load(tmp_path / "s.ivit")
    img = golden.quantize_image(model, _images(2, 9).numpy())
    np.testing.assert_array_equal(golden.run(back, img).logits, golden.run(model, img).logits)
    assert back.config["arch"] == "swin" and back.config["depths"] == [2, 2]


@pytest.mark.parametrize("gh,ws,shift", [(8, 4, 2), (8, 4, 0), (56, 7, 3), (14, 7, 3)])
def test_window_index_is_timm_roll_and_partition(gh, ws, shift):
    from timm.models.swin_transformer import window_partition

    grid = torch.arange(gh * gh).reshape(1, gh, gh, 1)
    rolled = torch.roll(grid, shifts=(-shift, -shift), dims=(1, 2))
    want = window_partition(rolled, (ws, ws)).reshape(-1).numpy()
    np.testing.assert_array_equal(window_index(gh, gh, ws, shift), want)


def test_window_mask_is_timms_mask():
    import timm

    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False)
    seen = set()
    for stage in model.layers:
        for blk in stage.blocks:
            (h, w), ws, sh = blk.input_resolution, blk.window_size[0], blk.shift_size[0]
            mine = window_mask(h, w, ws, sh)
            if blk.attn_mask is None:
                assert not mine.any()
            else:
                np.testing.assert_array_equal(mine, blk.attn_mask.numpy() != 0)
            seen.add(sh)
    assert seen == {0, 3}


def test_masked_logits_get_exactly_zero_and_kept_ones_shiftmax(small):
    """Independent check: each row's kept probabilities equal plain Shiftmax over the kept
    logits alone; masked ones are 0."""
    from ivit_hls import spec

    _fp, _q, model = small
    img = golden.quantize_image(model, _images(1, 11).numpy())
    trace = golden.run(model, img, trace=True).trace
    layers = [ly for ly in model.layers if ly.kind == "window_shiftmax"]
    assert layers
    for ly in layers:
        a = ly.attrs
        scores, probs = trace[ly.inputs[0]][0], trace[ly.name][0]      # (nW, H, N, N)
        mask = window_mask(a.grid[0], a.grid[1], a.window, a.shift)
        assert mask.any()
        for w in range(scores.shape[0]):
            for h in range(scores.shape[1]):
                for i in range(scores.shape[2]):
                    keep = ~mask[w, i]
                    assert (probs[w, h, i, ~keep] == 0).all()
                    want = spec.shiftmax(scores[w, h, i, keep], a.k, a.i0, a.n, a.out_bits,
                                         exp_form=a.exp_form)
                    np.testing.assert_array_equal(probs[w, h, i, keep], want)


def test_patch_merge_is_timms_order():
    from timm.models.swin_transformer import PatchMerging

    merge = PatchMerging(3)
    merge.norm, merge.reduction = torch.nn.Identity(), torch.nn.Identity()
    x = torch.arange(2 * 4 * 6 * 3, dtype=torch.float64).reshape(2, 4, 6, 3)
    want = merge(x).reshape(2, -1, 12).numpy().astype(np.int64)
    layer = ir.Layer("m", "patch_merge", ["x"], {"grid": [4, 6]})
    got = layer.op.golden(layer, x.reshape(2, 24, 3).numpy().astype(np.int64))
    np.testing.assert_array_equal(got, want)


class KernelCall:
    """What an ``OpDef.hls`` hook asks of the HLS lowering context (its ``layer``/``enum``
    interface), recorded as plain data: the kernel, dims, constants, arrays and weight."""

    def __init__(self):
        self.blob = bytearray()

    def enum(self, name, value):
        from ivit_hls.hls.lower import ENUMS

        return ENUMS[name][value]

    def layer(self, kernel, ins, out, dims, consts=None, arrays=None, weight=None):
        call = {"kernel": kernel, "dims": dict(dims), "consts": dict(consts or {}),
                "arrays": list(arrays or []), "w_off": None}
        if weight is not None:
            call["w_off"] = len(self.blob)
            self.blob.extend(np.ascontiguousarray(np.asarray(weight, dtype=np.int8)).tobytes())
        return call


def test_swin_kinds_provide_every_level(small):
    """The op-table checks of tests/test_ops.py, on the kinds a Swin adds."""
    _fp, _q, model = small
    kernels = (SOURCE_ROOT / "hw" / "hls" / "ivit" / "swin.h").read_text()
    types = model.tensor_types()
    trace = golden.run(model, golden.quantize_image(model, _images(2, 5).numpy()),
                       trace=True).trace
    ctx = KernelCall()
    for layer in model.layers:
        if layer.kind not in SWIN_KINDS:
            continue
        ins = [types[s] for s in layer.inputs]
        out = types[layer.name]
        got = trace[layer.name]
        assert got.shape == (2, *out.shape), layer.name
        assert out.dtype.lo <= got.min() and got.max() <= out.dtype.hi, layer.name
        assert (layer.op.gemm(layer, ins) is not None) == (layer.op.unit == "array")
        assert layer.op.cycles(layer, ins, out, Engine(4, 4, 4)) > 0
        call = layer.op.hls(layer, ins, out, ctx)
        assert re.search(rf"void {call['kernel']}\(", kernels), call["kernel"]
        rp = layer.op.rtl(layer, ins, out)
        assert isinstance(rp, RtlParams)
        assert (SOURCE_ROOT / "hw" / "rtl" / f"{rp.unit}.sv").is_file(), rp.unit
    assert SWIN_KINDS <= set(REGISTRY)


def test_bounds_hold_on_data(small):
    from ivit_hls.ops.bounds import Proof

    _fp, _q, model = small
    types = model.tensor_types()
    img = np.full((1, 3, 32, 32), 127)
    trace = golden.run(model, img, trace=True).trace
    proof, mags = Proof(), {"image": 128}
    for layer in model.layers:
        mags[layer.name] = layer.op.bounds(layer, [mags[s] for s in layer.inputs],
                                           [types[s] for s in layer.inputs], proof)
        assert np.abs(trace[layer.name]).max() <= mags[layer.name], layer.name


def test_unsupported_swin_is_refused_in_one_line():
    from ivit_hls.qat.swin import QuantSwin

    fp = _small_swin(img_size=24, window=4, depths=(2,), num_heads=(2,))  # 12x12 grid, 4x4
    QuantSwin(fp)  # tiles: fine
    fp = _small_swin(img_size=20, window=4, depths=(2,), num_heads=(2,))  # 10x10: padding
    with pytest.raises(IvitError, match="^unsupported Swin features: windows") as exc:
        QuantSwin(fp)
    assert "\n" not in str(exc.value)


@pytest.mark.slow
def test_swin_t_qat_equals_golden_every_layer_two_images():
    """Swin-T at 224 (158 layers): calibrated on one image, two others compared layer by
    layer; the float model agrees on shapes and the export passes range analysis."""
    import timm

    from ivit_hls.qat import calibrate
    from ivit_hls.qat.swin import QuantSwin

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False).eval()
    q = QuantSwin(fp)
    calibrate(q, [_images(1, 1, 224)], progress=False)
    images = _images(2, 2, 224)
    trace: dict = {}
    model = q.export("swin_t", images=images, trace=trace)
    ir.ranges.check(model)
    assert model.config["depths"] == [2, 2, 6, 2] and len(model.layers) == 158
    res = golden.run(model, golden.quantize_image(model, images.numpy()), trace=True)
    for layer in model.layers:
        np.testing.assert_array_equal(res.trace[layer.name], trace[layer.name],
                                      err_msg=layer.name)


def test_depth_caps_every_swin_stage():
    """``--depth N`` on a Swin keeps at most N blocks in each stage (timm takes ``depths``)."""
    import timm

    from ivit_hls.api import SWIN_DEPTHS, create_float_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp = create_float_model("swin_t", depth=1)
        assert [len(s.blocks) for s in fp.layers] == [1, 1, 1, 1]
        full = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False)
    assert tuple(len(s.blocks) for s in full.layers) == SWIN_DEPTHS[
        "swin_tiny_patch4_window7_224"]
    with pytest.raises(IvitError, match="positive number of blocks"):
        create_float_model("swin_t", depth=0)
