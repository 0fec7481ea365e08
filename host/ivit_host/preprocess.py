"""Image files to quantized model inputs, following a project's recorded input config.

This is the project's only implementation of image preprocessing (``ivit_hls.preprocess``
delegates here): resize the short side to ``floor(img_size / crop_pct)`` with the recorded
interpolation, center-crop, scale to [0, 1], normalise with the recorded mean/std (float32),
giving the same float32 numbers as timm's eval transform; then quantize in float64 exactly
like ``ivit_hls.spec.quantize``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from .errors import HostError

#: Interpolation names recorded in model configs (timm's names) -> Pillow resampling filters.
_RESAMPLE = ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")


def _resample(name: str):
    from PIL import Image

    name = str(name or "bicubic").lower()
    if name not in _RESAMPLE:
        raise HostError(f"unknown interpolation {name!r}; expected one of {', '.join(_RESAMPLE)}")
    return getattr(Image.Resampling, name.upper())


def open_image(path: str | Path, in_chans: int):
    """Open ``path`` with Pillow as ``L`` (one channel) or ``RGB``; unreadable -> HostError."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - pillow is a dependency of the image path
        raise HostError("reading image files needs Pillow (pip install pillow)") from None
    path = Path(path)
    if not path.is_file():
        raise HostError(f"image {path}: no such file")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse it as well
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im = im.convert("L" if in_chans == 1 else "RGB")
                im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise HostError(f"image {path}: refused, too many pixels for an image file "
                        f"({str(exc).split('.')[0]})") from None
    except UnidentifiedImageError:
        raise HostError(f"image {path}: unreadable (not an image format Pillow knows)") from None
    except MemoryError:
        raise HostError(f"image {path}: too large to decode") from None
    except Exception as exc:  # Pillow's decoders raise OSError, ValueError, SyntaxError, ...
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HostError(f"image {path}: unreadable ({text})") from None
    return im


def resize_short_side(im, short: int, resample):
    """Resize so the short side is ``short`` pixels; the long side keeps the aspect ratio,
    truncated to an integer (the sizes torchvision's ``Resize(int)`` and so timm's eval
    transform compute)."""
    w, h = im.size
    if w <= h:
        size = (short, int(short * h / w))
    else:
        size = (int(short * w / h), short)
    return im if size == (w, h) else im.resize(size, resample)


def load_image(path: str | Path, input_cfg: dict, img_size: int, in_chans: int) -> np.ndarray:
    """Read one image: resize the short side to ``floor(img_size / crop_pct)``, center-crop
    ``img_size``, scale to [0, 1], normalise with the recorded mean/std (float32).
    Returns ``(C, H, W)`` float32; the same numbers as timm's eval transform."""
    im = open_image(path, in_chans)
    im = resize_short_side(im, int(math.floor(img_size / float(input_cfg.get("crop_pct", 1.0)))),
                           _resample(input_cfg.get("interpolation", "bicubic")))
    w, h = im.size
    # center crop; offsets rounded like torchvision's CenterCrop (round half to even)
    left, top = int(round((w - img_size) / 2.0)), int(round((h - img_size) / 2.0))
    im = im.crop((left, top, left + img_size, top + img_size))
    arr = np.asarray(im, dtype=np.float32) / np.float32(255.0)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    mean = np.asarray(input_cfg["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(input_cfg["std"], dtype=np.float32).reshape(-1, 1, 1)
    return np.ascontiguousarray((arr - mean) / std)


def quantize(x, scale: float, bits: int) -> np.ndarray:
    """``clip(round_half_even(x / scale), ±(2^(bits-1)-1))`` in float64, as int64.

    The same integers as ``ivit_hls.spec.quantize`` (a zero scale maps everything to 0).
    """
    x = np.asarray(x, dtype=np.float64)
    scale = np.float64(scale)
    q = np.round(x / scale) if scale > 0 else np.zeros_like(x)
    hi = (1 << (int(bits) - 1)) - 1
    return np.clip(q, -hi, hi).astype(np.int64)


def preprocess_files(paths, input_cfg: dict, img_size: int, in_chans: int) -> np.ndarray:
    """Quantized images ``(N, C, H, W)`` int64 for image files, using the recorded
    ``input_cfg`` (mean, std, crop_pct, interpolation, scale, bits)."""
    if "scale" not in input_cfg or "bits" not in input_cfg:
        raise HostError("the input config has no quantization scale/bits")
    floats = np.stack([load_image(p, input_cfg, img_size, in_chans) for p in paths])
    return quantize(floats, input_cfg["scale"], input_cfg["bits"])
