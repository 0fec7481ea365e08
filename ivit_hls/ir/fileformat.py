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
from .model import IntegerModel, Layer

FORMAT_NAME = "ivit-hls-integer-model"
FORMAT_VERSION = 1
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
                            "attrs": layer.attrs, "params": params_meta})
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


def _read(zf: zipfile.ZipFile, path: Path) -> IntegerModel:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError:
        raise FormatError(f"{path}: no manifest.json, not an integer model file") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise FormatError(f"{path}: not an integer model file (format {manifest.get('format')!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FormatError(f"{path}: format version {version} is newer than this ivit-hls "
                          f"supports ({FORMAT_VERSION}); upgrade ivit-hls")
    layers = []
    for meta in manifest["layers"]:
        params = {}
        for key, pmeta in meta["params"].items():
            data = zf.read(pmeta["file"])
            if hashlib.sha256(data).hexdigest() != pmeta["sha256"]:
                raise FormatError(f"{path}: parameter {meta['name']}.{key} fails its checksum")
            arr = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
            if str(arr.dtype) != pmeta["dtype"] or list(arr.shape) != pmeta["shape"]:
                raise FormatError(f"{path}: parameter {meta['name']}.{key} has wrong dtype/shape")
            params[key] = arr
        layers.append(Layer(meta["name"], meta["kind"], list(meta["inputs"]),
                            dict(meta["attrs"]), params))
    model = IntegerModel(manifest["config"], layers)
    model.validate()
    return model
