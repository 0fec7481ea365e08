"""Activation-range calibration: EMA min/max observers fed from a data loader."""

from __future__ import annotations

from typing import Iterable

import torch
from tqdm import tqdm

from .vit import QuantViT


@torch.no_grad()
def calibrate(qmodel: QuantViT, batches: Iterable[torch.Tensor], progress: bool = True,
              total: int | None = None) -> QuantViT:
    """Run ``batches`` of normalized images through ``qmodel`` in observe mode, then freeze.

    Accepts tensors or ``(images, labels)`` pairs. Leaves the model in eval mode.
    """
    qmodel.train()
    seen = 0
    for batch in tqdm(batches, desc="calibrating", unit="batch", disable=not progress,
                      total=total, leave=False):
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        qmodel(images.to(next(qmodel.parameters()).device))
        seen += 1
    if seen == 0:
        raise ValueError("calibration needs at least one batch")
    return qmodel.eval()
