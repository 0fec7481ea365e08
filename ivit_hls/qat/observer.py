"""Per-tensor activation range observers (EMA of min/max, as in I-ViT's reference code)."""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn


class RangeObserver(nn.Module):
    """Tracks an EMA of a tensor's min and max (momentum 0.95) while its module trains.

    Under DistributedDataParallel the batch min/max are reduced across ranks first, so every
    rank keeps identical statistics and therefore identical integer constants.
    """

    def __init__(self, bits: int, momentum: float = 0.95):
        super().__init__()
        self.bits = bits
        self.momentum = momentum
        self.register_buffer("lo", torch.tensor(math.nan, dtype=torch.float64))
        self.register_buffer("hi", torch.tensor(math.nan, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold a batch's min/max into the running statistics."""
        lo = x.detach().min().to(torch.float64)
        hi = x.detach().max().to(torch.float64)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(lo, op=dist.ReduceOp.MIN)
            dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        if torch.isnan(self.lo):
            self.lo.copy_(lo)
            self.hi.copy_(hi)
        else:
            self.lo.mul_(self.momentum).add_((1 - self.momentum) * lo)
            self.hi.mul_(self.momentum).add_((1 - self.momentum) * hi)

    @property
    def calibrated(self) -> bool:
        return not bool(torch.isnan(self.lo))

    def scale(self) -> float:
        """Symmetric scale ``max(|lo|, |hi|) / (2^(bits-1) - 1)`` as a python float."""
        if not self.calibrated:
            raise RuntimeError("activation ranges are not calibrated: run calibration first")
        amax = max(abs(float(self.lo)), abs(float(self.hi)), 1e-8)
        return amax / ((1 << (self.bits - 1)) - 1)
