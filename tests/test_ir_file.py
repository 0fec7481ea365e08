"""The integer model file: deterministic bytes, exact round trip, clear errors for bad files."""

import io
import json
import zipfile

import numpy as np
import pytest

from ivit_hls import golden, ir
from ivit_hls.api import random_images
from ivit_hls.errors import FormatError
from ivit_hls.ir.fileformat import to_bytes


def _images(model, n=3, seed=5):
    cfg = model.config
    imgs = random_images(n, cfg["in_chans"], cfg["img_size"], seed).numpy()
    return golden.quantize_image(model, imgs)


def test_round_trip_is_bit_exact_and_bytes_are_deterministic(small_int_model, tmp_path):
    path = ir.save(small_int_model, tmp_path / "m.ivit")
    loaded = ir.load(path)
    assert loaded.config == json.loads(json.dumps(small_int_model.config))
    for a, b in zip(small_int_model.layers, loaded.layers):
        assert (a.name, a.kind, a.inputs, a.attrs) == (b.name, b.kind, b.inputs, b.attrs)
        assert set(a.params) == set(b.params)
        for key in a.params:
            assert a.params[key].dtype == b.params[key].dtype
            np.testing.assert_array_equal(a.params[key], b.params[key])
    x = _images(small_int_model)
    want = golden.run(small_int_model, x, trace=True)
    got = golden.run(loaded, x, trace=True)
    golden.assert_traces_equal(want.trace, got.trace)
    assert path.read_bytes() == to_bytes(loaded) == to_bytes(small_int_model)


def _rewrite(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, edit(info.filename, zin.read(info.filename)))


def test_newer_format_version_is_refused(small_int_model, tmp_path):
    src = ir.save(small_int_model, tmp_path / "m.ivit")

    def bump(name, data):
        if name != "manifest.json":
            return data
        meta = json.loads(data)
        meta["version"] = ir.FORMAT_VERSION + 1
        return json.dumps(meta).encode()

    _rewrite(src, tmp_path / "new.ivit", bump)
    with pytest.raises(FormatError, match="newer than this ivit-hls supports"):
        ir.load(tmp_path / "new.ivit")


def test_tampered_parameter_fails_its_checksum(small_int_model, tmp_path):
    src = ir.save(small_int_model, tmp_path / "m.ivit")

    def flip(name, data):
        if name.endswith("_weight.npy"):
            data = bytearray(data)
            data[-1] ^= 0x01
            return bytes(data)
        return data

    _rewrite(src, tmp_path / "bad.ivit", flip)
    with pytest.raises(FormatError, match="fails its checksum"):
        ir.load(tmp_path / "bad.ivit")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "no-manifest", "bad-json"])
def test_damaged_files_give_a_clear_error(small_int_model, tmp_path, damage):
    good = ir.save(small_int_model, tmp_path / "m.ivit").read_bytes()
    bad = tmp_path / "bad.ivit"
    if damage == "truncate":
        bad.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        bad.write_bytes(good[:100] + b"\x00" * 500 + good[600:])
    elif damage == "empty":
        bad.write_bytes(b"")
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            if damage == "bad-json":
                zf.writestr("manifest.json", "{not json")
            else:
                zf.writestr("other.txt", "hello")
        bad.write_bytes(buf.getvalue())
    with pytest.raises(FormatError) as err:
        ir.load(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        ir.load(tmp_path / "absent.ivit")


def test_save_leaves_no_partial_file_when_the_model_is_invalid(small_int_model, tmp_path):
    broken = ir.IntegerModel(small_int_model.config, list(small_int_model.layers))
    broken.layers = broken.layers[:1] + [ir.Layer("x", "linear", ["nope"], {"out_bits": 8}, {})]
    with pytest.raises(FormatError):
        ir.save(broken, tmp_path / "m.ivit")
    assert list(tmp_path.iterdir()) == []
