"""QAT fine-tuning: AdamW + cosine schedule, progress bar, checkpoints, optional DDP.

Launched by a plain ``python`` process it trains on one device; launched by ``torchrun`` it
joins the process group (gloo on CPU, NCCL on CUDA), wraps the model in
DistributedDataParallel and shards the data with a ``DistributedSampler``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from .vit import QuantViT


@dataclass
class TrainConfig:
    """Hyper-parameters of a QAT run (the paper fine-tunes with AdamW and a cosine decay)."""

    epochs: int = 1
    lr: float = 1e-5
    weight_decay: float = 0.05
    batch_size: int = 32
    warmup_steps: int = 0
    checkpoint: str | None = None  # file written after every epoch, resumed from if present
    stop_after_epoch: int | None = None  # end this run early (time-sliced jobs); rerun resumes
    progress: bool = True
    seed: int = 0
    workers: int = 0  # DataLoader worker processes
    label_smoothing: float = 0.0
    mixup: float = 0.0  # mixup alpha (0: off)
    cutmix: float = 0.0  # cutmix alpha (0: off)


def distributed() -> bool:
    """True when running inside an initialised (or initialisable) torchrun process group."""
    if dist.is_available() and dist.is_initialized():
        return True
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup_distributed(device: torch.device) -> None:
    """Join the torchrun process group if launched by torchrun and not joined yet."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def _rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def cosine_lr(step: int, total: int, warmup: int) -> float:
    """Multiplier of the base learning rate: linear warm-up, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _save(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _criterion(cfg: TrainConfig, num_classes: int):
    """``(mix, loss)``: timm's Mixup/CutMix with label smoothing folded into soft targets, or
    none; the loss takes (logits, targets)."""
    if cfg.mixup > 0 or cfg.cutmix > 0:
        from timm.data import Mixup
        from timm.loss import SoftTargetCrossEntropy

        mix = Mixup(mixup_alpha=cfg.mixup, cutmix_alpha=cfg.cutmix,
                    label_smoothing=cfg.label_smoothing, num_classes=num_classes)
        return mix, SoftTargetCrossEntropy()
    return None, lambda logits, labels: F.cross_entropy(logits, labels,
                                                        label_smoothing=cfg.label_smoothing)


def train_qat(qmodel: QuantViT, dataset: Dataset, cfg: TrainConfig,
              device: torch.device | str = "cpu") -> list[float]:
    """Fine-tune a calibrated ``QuantViT`` on ``(image, label)`` samples; returns epoch losses.

    The forward pass computes the exact integers; gradients flow through the float
    surrogates (straight-through). Activation ranges keep updating (EMA) while training.
    """
    device = torch.device(device)
    setup_distributed(device)
    qmodel.to(device)
    ddp = dist.is_available() and dist.is_initialized()
    sampler = DistributedSampler(dataset, shuffle=True, seed=cfg.seed) if ddp else None
    gen = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=sampler is None,
                        sampler=sampler, generator=gen if sampler is None else None,
                        drop_last=False, num_workers=cfg.workers)
    mix, criterion = _criterion(cfg, int(qmodel.num_classes))
    net = (torch.nn.parallel.DistributedDataParallel(qmodel, device_ids=None if device.type ==
                                                     "cpu" else [device])
           if ddp else qmodel)
    opt = torch.optim.AdamW(qmodel.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * len(loader)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: cosine_lr(step, total, cfg.warmup_steps))
    start = 0
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else None
    if ckpt is not None and ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        qmodel.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start = int(state["epoch"])
    losses = []
    for epoch in range(start, cfg.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        gen.manual_seed(cfg.seed + epoch)  # a resumed run shuffles as an uninterrupted one
        # ... and draws the same augmentations and mixup/cutmix (torch, numpy and python
        # RNGs: timm's random resized crop uses python's)
        random.seed(cfg.seed + epoch)
        torch.manual_seed(cfg.seed + epoch)
        np.random.seed((cfg.seed + epoch) % (1 << 32))
        qmodel.train()
        running, count = 0.0, 0
        bar = tqdm(loader, desc=f"QAT epoch {epoch + 1}/{cfg.epochs}", unit="batch",
                   disable=not cfg.progress or _rank() != 0, leave=False)
        for images, labels in bar:
            images, labels = images.to(device), labels.to(device)
            targets = labels
            if mix is not None:
                if len(labels) % 2:  # timm's batch mixing pairs images: drop an odd last one
                    images, labels = images[:-1], labels[:-1]
                if len(labels) == 0:
                    continue
                images, targets = mix(images, labels)
            q, s = net(images)
            loss = criterion((q * float(s.max())).float(), targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.detach()) * len(labels)
            count += len(labels)
            bar.set_postfix(loss=f"{running / count:.4f}")
        losses.append(running / max(count, 1))
        if ckpt is not None and _rank() == 0:
            _save(ckpt, {"model": qmodel.state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict(), "epoch": epoch + 1,
                         "config": dataclasses.asdict(qmodel.cfg)})
        if ddp:
            dist.barrier()
        if cfg.stop_after_epoch is not None and epoch + 1 >= cfg.stop_after_epoch:
            break
    qmodel.eval()
    return losses
