"""Datasets and accuracy loops of the ``eval`` and ``train`` commands.

Images come from an ImageFolder (one sub-folder per class, classes in sorted order) through
timm's transforms; every model is scored on the same batches, so their argmaxes can be
compared image by image. The integer model runs as the QAT module (exact golden integers on
any torch device) or, for an integer model file, as the numpy golden model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ..errors import IvitError


@dataclass(frozen=True)
class InputSpec:
    """What an image must become for a model: size, channels and timm's preprocessing."""

    img_size: int
    in_chans: int
    mean: tuple
    std: tuple
    crop_pct: float = 0.875
    interpolation: str = "bicubic"

    @classmethod
    def of(cls, img_size: int, in_chans: int, cfg: dict) -> "InputSpec":
        """From an ``input_config`` dict (the one the model file records)."""
        return cls(int(img_size), int(in_chans), tuple(cfg["mean"]), tuple(cfg["std"]),
                   float(cfg.get("crop_pct", 0.875)), str(cfg.get("interpolation", "bicubic")))

    def transform(self, train: bool = False):
        """timm's eval transform (resize, center crop, normalize) or its training one."""
        from timm.data import create_transform

        return create_transform(input_size=(self.in_chans, self.img_size, self.img_size),
                                is_training=train, interpolation=self.interpolation,
                                mean=self.mean, std=self.std, crop_pct=self.crop_pct)


def image_folder(root: str | Path, spec: InputSpec, train: bool = False,
                 limit: int | None = None, num_classes: int | None = None):
    """An ImageFolder dataset (first ``limit`` images, deterministic) for ``spec``; one-line
    ``IvitError`` for a missing folder, a folder without classes or images, or more classes
    than the model has."""
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import default_loader

    root = Path(root)
    if not root.is_dir():
        raise IvitError(f"{root}: not a directory (expected an ImageFolder: one folder per class)")
    mode = "L" if spec.in_chans == 1 else "RGB"

    def load(path):
        return default_loader(path).convert(mode)

    try:
        ds = ImageFolder(str(root), transform=spec.transform(train), loader=load)
    except (FileNotFoundError, RuntimeError) as exc:
        text = str(exc).splitlines()[0]
        if "Found no valid file" in text:  # torchvision lists every empty class: keep one line
            text = "a class folder holds no image (" + text.split(". ")[-1] + ")"
        raise IvitError(f"{root}: not an ImageFolder: {text[:300]}") from None
    if num_classes is not None and len(ds.classes) > num_classes:
        raise IvitError(f"{root}: {len(ds.classes)} class folders but the model has "
                        f"{num_classes} classes")
    if limit is not None:
        if limit < 1:
            raise IvitError(f"--limit {limit}: needs at least 1 image")
        ds = torch.utils.data.Subset(ds, range(min(limit, len(ds))))
    return ds


def loader(dataset, batch_size: int, workers: int, shuffle: bool = False, seed: int = 0):
    """A DataLoader with the command's batch size and worker count."""
    if batch_size < 1:
        raise IvitError(f"--batch-size {batch_size}: needs at least 1")
    if workers < 0:
        raise IvitError(f"--workers {workers}: needs 0 or more")
    gen = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                       num_workers=workers, generator=gen,
                                       pin_memory=torch.cuda.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: the GPU when one is present, else the CPU; refuses an absent CUDA device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise IvitError(f"--device {name!r}: not a torch device (cpu, cuda, cuda:1, auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise IvitError(f"--device {name}: no CUDA device is available")
    return dev


def topk_stable(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Classes by descending logit, ties to the lower index (the integer argmax rule)."""
    order = torch.sort(logits, dim=-1, descending=True, stable=True).indices
    return order[:, :k]


@dataclass
class Tally:
    """Running top-1/top-5 counts of one model, and the argmax of every image seen."""

    correct1: int = 0
    correct5: int = 0
    seen: int = 0
    argmax: list = field(default_factory=list)
    logits: list = field(default_factory=list)

    def add(self, logits: torch.Tensor, labels: torch.Tensor, keep_logits: bool = False) -> None:
        top = topk_stable(logits.detach().to(torch.float64).cpu(), min(5, logits.shape[-1]))
        lab = labels.cpu()[:, None]
        self.correct1 += int((top[:, :1] == lab).sum())
        self.correct5 += int((top == lab).any(dim=1).sum())
        self.seen += len(labels)
        self.argmax.extend(top[:, 0].tolist())
        if keep_logits:
            self.logits.append(logits.detach().to(torch.float64).cpu().numpy())

    def summary(self) -> dict:
        n = max(self.seen, 1)
        return {"top1": 100.0 * self.correct1 / n, "top5": 100.0 * self.correct5 / n,
                "images": self.seen}


def logit_fidelity(ref: np.ndarray, other: np.ndarray) -> dict:
    """KL(softmax(ref) || softmax(other)) averaged over images (nats) and top-1 agreement (%),
    logits as real numbers (integer logits times their scale)."""
    def log_softmax(x):
        x = x - x.max(axis=1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=1, keepdims=True))

    lp, lq = log_softmax(ref), log_softmax(other)
    kl = float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=1)))
    agree = float(100.0 * np.mean(ref.argmax(axis=1) == other.argmax(axis=1)))
    return {"kl": kl, "top1_agreement": agree}


Scorer = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def evaluate(scorers: dict[str, Scorer], batches, progress: bool = True, total: int | None = None,
             keep_logits: bool = False) -> dict:
    """Score every model on the same batches: ``{"models": {name: top1/top5/images},
    "agreement": {"a vs b": % equal argmax}}``; each scorer maps a batch of normalized
    images to real-valued logits (for the integer model: integers times their scale)."""
    tallies = {name: Tally() for name in scorers}
    bar = tqdm(batches, desc="evaluating", unit="batch", disable=not progress, total=total,
               leave=False)
    for images, labels in bar:
        for name, fn in scorers.items():
            tallies[name].add(fn(images), labels, keep_logits)
        first = tallies[next(iter(tallies))].summary()
        bar.set_postfix(top1=f"{first['top1']:.2f}")
    if not tallies or next(iter(tallies.values())).seen == 0:
        raise IvitError("no images to evaluate")
    out = {"models": {n: t.summary() for n, t in tallies.items()}, "agreement": {}}
    names = list(tallies)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            same = np.asarray(tallies[a].argmax) == np.asarray(tallies[b].argmax)
            out["agreement"][f"{a} vs {b}"] = float(100.0 * same.mean())
            if keep_logits:
                out.setdefault("fidelity", {})[f"{a} vs {b}"] = logit_fidelity(
                    np.concatenate(tallies[a].logits), np.concatenate(tallies[b].logits))
    return out


def float_scorer(model: torch.nn.Module, device: torch.device) -> Scorer:
    """FP32 logits of a timm model."""
    model.eval().to(device)
    return lambda images: model(images.to(device)).float()


def integer_scorer(qmodel: torch.nn.Module, device: torch.device) -> Scorer:
    """Integer logits of a QAT module (exact golden integers on ``device``) times their scale."""
    qmodel.eval().to(device)

    def run(images):
        q, s = qmodel(images.to(device))
        return q * float(np.asarray(s).max())
    return run


def golden_scorer(model) -> Scorer:
    """Integer logits of an integer model file through the numpy golden model (CPU)."""
    from .. import golden

    def run(images):
        res = golden.run(model, golden.quantize_image(model, images.numpy()))
        return torch.as_tensor(res.logits, dtype=torch.float64)
    return run


def format_table(result: dict) -> str:
    """The side-by-side text table of ``evaluate``'s result."""
    lines = [f"{'model':<24} {'top-1 %':>8} {'top-5 %':>8} {'images':>7}"]
    for name, r in result["models"].items():
        lines.append(f"{name:<24} {r['top1']:>8.2f} {r['top5']:>8.2f} {r['images']:>7}")
    for pair, pct in result["agreement"].items():
        lines.append(f"argmax agreement {pair}: {pct:.2f} %")
    for pair, fid in result.get("fidelity", {}).items():
        lines.append(f"logit fidelity {pair}: KL {fid['kl']:.4g} nats, "
                     f"top-1 agreement {fid['top1_agreement']:.2f} %")
    return "\n".join(lines)


def batches_total(dataset, batch_size: int) -> int:
    """Number of batches of ``dataset`` (for the progress bar)."""
    return math.ceil(len(dataset) / batch_size)
