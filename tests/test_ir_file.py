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


def _edit_manifest(small_int_model, tmp_path, edit, params=None):
    """Save, then rewrite manifest.json with ``edit(meta)`` (and params with new bytes whose
    recorded hashes are updated, so only the structure is wrong)."""
    import hashlib

    src = ir.save(small_int_model, tmp_path / "m.ivit")
    new_blobs = {}
    with zipfile.ZipFile(src) as zf:
        meta = json.loads(zf.read("manifest.json"))
    if params:
        for (layer_index, key), arr in params.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            rec = meta["layers"][layer_index]["params"][key]
            new_blobs[rec["file"]] = buf.getvalue()
            rec.update(sha256=hashlib.sha256(buf.getvalue()).hexdigest(), dtype=str(arr.dtype),
                       shape=list(arr.shape))
    meta = edit(meta)

    def rewrite(name, data):
        if name == "manifest.json":
            return json.dumps(meta).encode()
        return new_blobs.get(name, data)

    dst = tmp_path / "edited.ivit"
    _rewrite(src, dst, rewrite)
    return dst


def _set(path, value):
    def edit(meta):
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return meta
    return edit


@pytest.mark.parametrize("edit,message", [
    (lambda m: [m], "not an object"),
    (_set(("version",), 0), "format version 0 is not valid"),
    (_set(("version",), -3), "format version -3 is not valid"),
    (_set(("version",), "2"), "is not an integer"),
    (_set(("config",), {}), "config must be a non-empty mapping"),
    (_set(("config", "dim"), "192"), "'dim' must be a non-negative integer"),
    (_set(("config", "input", "scale"), -1.0), "input scale must be a positive number"),
    (_set(("layers",), []), "lists no layers"),
    (_set(("layers", 0, "kind"), "conv3d"), "unknown layer kind 'conv3d'"),
    (_set(("layers", 1, "attrs", "out_bits"), "8"), "attribute 'out_bits' must be an integer"),
    (_set(("layers", 1, "attrs", "tokens"), "some"), "tokens='some' is not one of all, cls"),
    (_set(("layers", 1, "attrs", "colour"), 3), "unknown attribute"),
    (_set(("layers", 3, "inputs"), ["blocks.0.attn.qkv", "x"]), "takes 1 input"),
    (_set(("layers", 3, "inputs"), ["later"]), "reads unknown tensor 'later'"),
])
def test_structurally_invalid_files_are_refused(small_int_model, tmp_path, edit, message):
    bad = _edit_manifest(small_int_model, tmp_path, edit)
    with pytest.raises(FormatError, match=message) as err:
        ir.load(bad)
    assert "\n" not in str(err.value)


def test_array_shape_disagreeing_with_the_graph_is_refused(small_int_model, tmp_path):
    # fc1's weight with one input channel too many; the checksum is updated to match
    index = [ly.name for ly in small_int_model.layers].index("blocks.0.mlp.fc1")
    w = small_int_model.layers[index].params["weight"]
    wider = np.zeros((w.shape[0], w.shape[1] + 1), dtype=w.dtype)
    bad = _edit_manifest(small_int_model, tmp_path, lambda m: m,
                         params={(index, "weight"): wider})
    with pytest.raises(FormatError, match=r"blocks\.0\.mlp\.fc1.*weight expects 193 input"):
        ir.load(bad)


def test_parameter_outside_its_hardware_type_is_refused(small_int_model, tmp_path):
    index = [ly.name for ly in small_int_model.layers].index("blocks.0.norm1")
    e = small_int_model.layers[index].params["e"].copy()
    e[0] = 200                                   # a shift does not fit its 6-bit field
    bad = _edit_manifest(small_int_model, tmp_path, lambda m: m, params={(index, "e"): e})
    with pytest.raises(FormatError, match=r"parameter 'e' has values outside uint6"):
        ir.load(bad)


def test_version_1_files_read_with_the_version_1_forms(small_int_model, tmp_path):
    def downgrade(meta):
        meta["version"] = 1
        for layer in meta["layers"]:
            layer["attrs"].pop("exp_form", None)
        return meta

    old = ir.load(_edit_manifest(small_int_model, tmp_path, downgrade))
    sm = [ly for ly in old.layers if ly.kind == "shiftmax"]
    assert sm and all(ly.attrs.exp_form == "paper" for ly in sm)
