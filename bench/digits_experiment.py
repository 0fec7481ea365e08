"""A real-data check that runs anywhere (an experiment, not part of the library): scikit-learn's bundled 8×8 digits on a small ViT.

Train a timm ``VisionTransformer`` in FP32, calibrate its I-ViT version, fine-tune it with
QAT, export the integer model and measure the golden (integer-only) accuracy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

#: The small ViT the experiment trains (16×16 single-channel input, 16 patches + cls).
DIGITS_VIT = dict(img_size=16, patch_size=4, in_chans=1, embed_dim=96, depth=4, num_heads=3,
                  num_classes=10)


@dataclass
class DigitsResult:
    """Accuracies (fraction of the held-out split) and timings of one run."""

    fp32_acc: float
    ptq_acc: float
    qat_acc: float
    qat_torch_acc: float
    train_images: int
    test_images: int
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def load_digits_split(seed: int = 0):
    """Digits as normalized ``(N, 1, 16, 16)`` float tensors, a stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32)[:, None] / 16.0
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    x = (x - 0.5) / 0.5
    y = torch.tensor(data.target, dtype=torch.int64)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.2, random_state=seed,
                                           stratify=data.target)
    return x[idx_train], y[idx_train], x[idx_test], y[idx_test]


def train_float(x, y, epochs: int = 30, lr: float = 1e-3, batch: int = 32, seed: int = 0,
                vit: dict | None = None):
    """Train an FP32 ViT (``vit``: timm VisionTransformer arguments, default ``DIGITS_VIT``)
    with AdamW and a one-cycle schedule."""
    import timm.models.vision_transformer as vt

    torch.manual_seed(seed)
    model = vt.VisionTransformer(**(vit or DIGITS_VIT))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def run_digits(seed: int = 0, float_epochs: int = 30, qat_epochs: int = 2,
               qat_lr: float = 5e-5, progress: bool = False) -> DigitsResult:
    """The whole experiment; returns the accuracies of FP32, PTQ, and QAT integer models."""
    from ivit_hls import golden
    from ivit_hls.qat import QuantViT, calibrate
    from ivit_hls.qat.train import TrainConfig, train_qat

    start = time.time()
    xtr, ytr, xte, yte = load_digits_split(seed)
    model = train_float(xtr, ytr, epochs=float_epochs, seed=seed)
    with torch.no_grad():
        fp32 = int((model(xte).argmax(-1) == yte).sum()) / len(yte)

    def golden_acc(qmodel: QuantViT) -> float:
        im = qmodel.export("digits_vit")
        res = golden.run(im, golden.quantize_image(im, xte.numpy()))
        return int((res.logits.argmax(-1) == yte.numpy()).sum()) / len(yte)

    qmodel = QuantViT(model)
    calibrate(qmodel, list(xtr[:512].split(128)), progress=progress)
    ptq = golden_acc(qmodel)
    train_qat(qmodel, TensorDataset(xtr, ytr),
              TrainConfig(epochs=qat_epochs, lr=qat_lr, batch_size=64, progress=progress,
                          seed=seed))
    qat = golden_acc(qmodel)
    with torch.no_grad():
        q, _ = qmodel(xte)
        qat_torch = int((q.argmax(-1) == yte).sum()) / len(yte)
    return DigitsResult(fp32, ptq, qat, qat_torch, len(ytr), len(yte), time.time() - start)
