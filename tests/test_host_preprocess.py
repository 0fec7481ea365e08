"""Host preprocessing: the project's one image pipeline, equal to timm's eval transform, and
quantization equal to the spec's."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ivit_hls import spec
from ivit_hls.errors import IvitError
from ivit_hls.preprocess import load_image as hls_load_image
from ivit_host import HostError, load_image, preprocess_files, quantize

CFG = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "crop_pct": 0.875,
       "interpolation": "bicubic", "scale": 0.0341, "bits": 8}


def _write(tmp_path, name, w, h, mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    chans = {"RGB": 3, "RGBA": 4, "L": None}[mode]
    shape = (h, w) if chans is None else (h, w, chans)
    path = tmp_path / name
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


def test_quantize_equals_spec_including_ties_and_clipping():
    rng = np.random.default_rng(0)
    for scale, bits in [(0.0341, 8), (0.5, 8), (1e-3, 16), (0.25, 4)]:
        x = rng.standard_normal(4000) * rng.choice([0.01, 1.0, 30.0, 1e4], 4000)
        ties = (rng.integers(-200, 200, 1000) + 0.5) * scale  # exact half-way points
        x = np.concatenate([x, ties, [0.0, -0.0, scale / 2, -scale / 2, 1e300, -1e300]])
        np.testing.assert_array_equal(quantize(x, scale, bits), spec.quantize(x, scale, bits))
        x32 = x[np.abs(x) < 1e30].astype(np.float32)
        np.testing.assert_array_equal(quantize(x32, scale, bits), spec.quantize(x32, scale, bits))
    # half-way points round to even, and a zero scale maps everything to 0, like the spec
    np.testing.assert_array_equal(quantize([0.5, 1.5, 2.5, -2.5], 1.0, 8), [0, 2, 2, -2])
    np.testing.assert_array_equal(quantize([3.0, -7.0], 0.0, 8), spec.quantize([3.0, -7.0], 0.0, 8))


@pytest.mark.parametrize("interp", ["bicubic", "bilinear"])
def test_load_image_equals_timm_eval_transform(tmp_path, interp):
    from timm.data import create_transform

    cfg = {**CFG, "interpolation": interp}
    for i, (w, h) in enumerate([(80, 100), (101, 67), (64, 64), (300, 257), (31, 45)]):
        path = _write(tmp_path, f"img{i}.png", w, h, seed=i)
        t = create_transform(input_size=(3, 64, 64), crop_pct=cfg["crop_pct"],
                             interpolation=interp, mean=cfg["mean"], std=cfg["std"])
        with Image.open(path) as im:
            ref = t(im.convert("RGB")).numpy()
        got = load_image(path, cfg, 64, 3)
        assert got.dtype == np.float32 and got.shape == (3, 64, 64)
        np.testing.assert_array_equal(got, ref, err_msg=f"{w}x{h} {interp}")


def test_ivit_hls_load_image_delegates(tmp_path):
    for i, (name, mode) in enumerate([("a.png", "RGB"), ("b.jpg", "RGB"), ("c.png", "L"),
                                      ("d.png", "RGBA")]):
        path = _write(tmp_path, name, 70 + 9 * i, 90 - 7 * i, mode, seed=i)
        np.testing.assert_array_equal(hls_load_image(path, CFG, 48, 3), load_image(path, CFG, 48, 3))
    one = hls_load_image(tmp_path / "c.png", {**CFG, "mean": [0.5], "std": [0.25]}, 32, 1)
    assert one.shape == (1, 32, 32)


def test_preprocess_files_quantizes_like_golden(tmp_path):
    paths = [_write(tmp_path, f"p{i}.png", 50 + i, 60, seed=i) for i in range(3)]
    q = preprocess_files(paths, CFG, 32, 3)
    floats = np.stack([load_image(p, CFG, 32, 3) for p in paths])
    np.testing.assert_array_equal(q, spec.quantize(floats, CFG["scale"], CFG["bits"]))
    assert q.dtype == np.int64 and np.abs(q).max() <= 127


def test_bad_images_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(HostError, match="unreadable"):
        load_image(bad, CFG, 32, 3)
    with pytest.raises(HostError, match="no such file"):
        load_image(tmp_path / "missing.jpg", CFG, 32, 3)
    with pytest.raises(IvitError, match="unreadable"):
        hls_load_image(bad, CFG, 32, 3)
    good = _write(tmp_path, "g.png", 40, 40)
    with pytest.raises(HostError, match="interpolation"):
        load_image(good, {**CFG, "interpolation": "cubic-ish"}, 32, 3)
