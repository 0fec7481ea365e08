"""Run an integer model on int8 images with numpy, recording every layer's output."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import spec
from ..errors import IvitError
from ..ir.model import IntegerModel


@dataclass
class GoldenResult:
    """Integer logits ``(B, classes)`` and, if asked for, every layer's output by name."""

    logits: np.ndarray
    trace: dict[str, np.ndarray] = field(default_factory=dict)

    def topk(self, k: int = 5) -> np.ndarray:
        """Class indices by descending logit; ties go to the lower index (integer argmax)."""
        order = np.argsort(-self.logits, axis=-1, kind="stable")
        return order[:, :k]


def quantize_image(model: IntegerModel, image: np.ndarray) -> np.ndarray:
    """Quantize normalized float images ``(B, C, H, W)`` with the model's input scale."""
    cfg = model.config["input"]
    return spec.quantize(image, cfg["scale"], cfg["bits"])


def _check_image(model: IntegerModel, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3:
        image = image[None]
    cfg = model.config
    want = (cfg["in_chans"], cfg["img_size"], cfg["img_size"])
    if image.ndim != 4 or tuple(image.shape[1:]) != want:
        raise IvitError(f"image shape {image.shape} does not match the model's (B, {want})")
    if not np.issubdtype(image.dtype, np.integer):
        raise IvitError("the golden model takes quantized integer images (see quantize_image)")
    lo, hi = spec.signed_range(cfg["input"]["bits"])
    if image.min(initial=0) < lo or image.max(initial=0) > hi:
        raise IvitError(f"image values outside int{cfg['input']['bits']}")
    return image.astype(np.int64)


def run(model: IntegerModel, image: np.ndarray, trace: bool = False) -> GoldenResult:
    """Execute ``model`` on integer images ``(B, C, H, W)`` (or one ``(C, H, W)``); each layer
    runs its op-table golden hook (``layer.op.golden``)."""
    tensors = {"image": _check_image(model, image)}
    for layer in model.layers:
        tensors[layer.name] = layer.op.golden(layer, *(tensors[src] for src in layer.inputs))
    logits = tensors[model.output].reshape(tensors["image"].shape[0], -1)
    kept = {k: v for k, v in tensors.items() if k != "image"} if trace else {}
    return GoldenResult(logits=logits, trace=kept)
