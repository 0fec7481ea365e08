"""Image files to normalized float arrays, following the model's recorded input config."""

from __future__ import annotations

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
    scale to [0, 1], normalize with the recorded mean/std. Returns ``(C, H, W)`` float32.

    The implementation lives in ``ivit_host.preprocess`` (the host driver needs it without
    torch); this wrapper turns its errors into ``IvitError``.
    """
    from ivit_host.errors import HostError
    from ivit_host.preprocess import load_image as host_load_image

    try:
        return host_load_image(path, input_cfg, img_size, in_chans)
    except HostError as exc:
        raise IvitError(str(exc)) from None


def image_files(directory: str | Path) -> list[Path]:
    """Image files directly inside ``directory`` (sorted, so runs are deterministic)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise IvitError(f"{directory}: not a directory")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise IvitError(f"{directory}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files
