"""The ``.ivit`` file: a zip archive holding ``manifest.json`` and one ``.npy`` per parameter.

The manifest is self-describing: format name and version, the model config, and for every
layer its kind, inputs, attrs and the archive name, dtype, shape and SHA-256 of each param.
Writing is deterministic (fixed timestamps, sorted keys), so the same model gives the same
bytes. Reading refuses files from a newer format version and any file whose arrays do not
match their recorded hashes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import FormatError
from ..ops.base import attrs_to_dict
from .model import IntegerModel, Layer

FORMAT_NAME = "ivit-hls-integer-model"
#: 2: typed attrs checked against the op table; Shiftmax ``exp_form`` and the GELU forms
#: "shift" / "table" (a ``table`` param). Version-1 files read unchanged: every attribute they
#: lack defaults to the version-1 meaning (``exp_form="paper"``).
FORMAT_VERSION = 2
#: The oldest format version this reader migrates.
OLDEST_VERSION = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _entry(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def to_bytes(model: IntegerModel) -> bytes:
    """Serialize ``model`` to the bytes of an ``.ivit`` archive."""
    model.validate()
    layers_meta = []
    blobs = []
    for index, layer in enumerate(model.layers):
        params_meta = {}
        for key in sorted(layer.params):
            arr = np.asarray(layer.params[key])
            data = _npy_bytes(arr)
            path = f"params/{index:04d}_{key}.npy"
            blobs.append((path, data))
            params_meta[key] = {"file": path, "dtype": str(arr.dtype), "shape": list(arr.shape),
                                "sha256": hashlib.sha256(data).hexdigest()}
        layers_meta.append({"name": layer.name, "kind": layer.kind, "inputs": list(layer.inputs),
                            "attrs": attrs_to_dict(layer.attrs), "params": params_meta})
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "generator": __version__,
                "config": model.config, "layers": layers_meta}
    text = json.dumps(manifest, indent=1, sort_keys=True, default=_json_default) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _entry(zf, "manifest.json", text.encode())
        for path, data in blobs:
            _entry(zf, path, data)
    return buf.getvalue()


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def save(model: IntegerModel, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` atomically (a partial file never replaces a good one)."""
    path = Path(path)
    data = to_bytes(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | os.PathLike) -> IntegerModel:
    """Read an ``.ivit`` file; raise ``FormatError`` with a clear reason if it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(zf, path)
    except zipfile.BadZipFile as exc:
        raise FormatError(f"{path}: not an integer model file ({exc})") from None
    except (KeyError, ValueError, TypeError, OSError, EOFError, zlib.error) as exc:
        raise FormatError(f"{path}: corrupt integer model file ({exc})") from None


def _expect(ok: bool, path: Path, message: str) -> None:
    if not ok:
        raise FormatError(f"{path}: {message}")


def _read_param(zf: zipfile.ZipFile, path: Path, where: str, pmeta) -> np.ndarray:
    _expect(isinstance(pmeta, dict) and all(k in pmeta for k in ("file", "dtype", "shape",
                                                                  "sha256")),
            path, f"{where}: parameter record needs file, dtype, shape and sha256")
    data = zf.read(pmeta["file"])
    if hashlib.sha256(data).hexdigest() != pmeta["sha256"]:
        raise FormatError(f"{path}: parameter {where} fails its checksum")
    arr = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    if str(arr.dtype) != pmeta["dtype"] or list(arr.shape) != pmeta["shape"]:
        raise FormatError(f"{path}: parameter {where} has wrong dtype/shape")
    _expect(np.issubdtype(arr.dtype, np.integer), path, f"parameter {where} is not integer")
    return arr


def _read(zf: zipfile.ZipFile, path: Path) -> IntegerModel:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError:
        raise FormatError(f"{path}: no manifest.json, not an integer model file") from None
    _expect(isinstance(manifest, dict), path,
            f"manifest is a {type(manifest).__name__}, not an object: not an integer model file")
    _expect(manifest.get("format") == FORMAT_NAME, path,
            f"not an integer model file (format {manifest.get('format')!r})")
    version = manifest.get("version")
    _expect(isinstance(version, int) and not isinstance(version, bool), path,
            f"format version {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise FormatError(f"{path}: format version {version} is newer than this ivit-hls "
                          f"supports ({FORMAT_VERSION}); upgrade ivit-hls")
    _expect(version >= OLDEST_VERSION, path,
            f"format version {version} is not valid (versions {OLDEST_VERSION}..{FORMAT_VERSION})")
    layers_meta = manifest.get("layers")
    _expect(isinstance(layers_meta, list) and layers_meta, path, "the manifest lists no layers")
    layers = []
    for index, meta in enumerate(layers_meta):
        _expect(isinstance(meta, dict) and {"name", "kind", "inputs", "attrs", "params"}
                <= set(meta), path, f"layer record {index} needs name, kind, inputs, attrs, params")
        _expect(isinstance(meta["params"], dict), path, f"layer {meta['name']!r}: params "
                "must be a mapping")
        params = {key: _read_param(zf, path, f"{meta['name']}.{key}", pmeta)
                  for key, pmeta in meta["params"].items()}
        try:
            layers.append(Layer(meta["name"], meta["kind"], meta["inputs"], meta["attrs"],
                                params))
        except FormatError as exc:
            raise FormatError(f"{path}: {exc}") from None
    model = IntegerModel(manifest.get("config"), layers)
    try:
        model.validate()
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None
    return model
