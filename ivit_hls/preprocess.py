"""Image files to normalized float arrays, following the model's recorded input config."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import IvitError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".webp", ".tif", ".tiff"}


def input_config(model) -> dict:
    """Preprocessing of a timm model (mean, std, crop, interpolation) from its pretrained cfg."""
    pcfg = dict(getattr(model, "pretrained_cfg", {}) or {})
    chans = int(model.patch_embed.proj.in_channels)
    return {"mean": list(pcfg.get("mean", (0.485, 0.456, 0.406)))[:chans],
            "std": list(pcfg.get("std", (0.229, 0.224, 0.225)))[:chans],
            "crop_pct": float(pcfg.get("crop_pct", 0.875)),
            "interpolation": str(pcfg.get("interpolation", "bicubic"))}


def load_image(path: str | Path, input_cfg: dict, img_size: int, in_chans: int) -> np.ndarray:
    """Read one image: resize the short side to ``img_size / crop_pct``, center-crop,
    scale to [0, 1], normalize with the recorded mean/std. Returns ``(C, H, W)`` float32."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise IvitError(f"image {path}: no such file")
    try:
        with Image.open(path) as im:
            im = im.convert("L" if in_chans == 1 else "RGB")
            im.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise IvitError(f"image {path}: unreadable ({exc})") from None
    resample = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST}.get(
        input_cfg.get("interpolation", "bicubic"), Image.BICUBIC)
    short = int(math.floor(img_size / float(input_cfg.get("crop_pct", 1.0))))
    w, h = im.size
    scale = short / min(w, h)
    im = im.resize((max(short, round(w * scale)), max(short, round(h * scale))), resample)
    w, h = im.size
    left, top = (w - img_size) // 2, (h - img_size) // 2
    im = im.crop((left, top, left + img_size, top + img_size))
    arr = np.asarray(im, dtype=np.float32) / 255.0
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    mean = np.asarray(input_cfg["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(input_cfg["std"], dtype=np.float32).reshape(-1, 1, 1)
    return (arr - mean) / std


def image_files(directory: str | Path) -> list[Path]:
    """Image files directly inside ``directory`` (sorted, so runs are deterministic)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise IvitError(f"{directory}: not a directory")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise IvitError(f"{directory}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files
