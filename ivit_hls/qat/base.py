"""Shared machinery of the QAT modules: exact forward values, surrogate gradients, recording.

Every quantized tensor travels as a pair ``(q, s)``: ``q`` is a float64 tensor holding exact
integers (with an autograd history), ``s`` a numpy float64 scale, scalar or per channel on
the last axis. A module computes its output twice: exactly, with the int64 ops of
``intops`` on the detached integers, and as a float *surrogate* that carries the gradient.
``attach`` returns the exact values with the surrogate's gradient (straight-through).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..ir.model import Layer


def attach(exact: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """Exact integers in the forward pass, the surrogate's gradient in the backward pass.

    ``surrogate - surrogate.detach()`` is exactly zero, so the sum is exactly ``exact``.
    """
    return exact.to(torch.float64) + (surrogate - surrogate.detach()).to(torch.float64)


def surrogate_needed(module: torch.nn.Module) -> bool:
    """Surrogates feed the observers (training) and the gradient; a no-grad eval pass skips them."""
    return module.training or torch.is_grad_enabled()


def finish(exact: torch.Tensor, surrogate_real, scale) -> torch.Tensor:
    """The carried output: ``exact`` alone, or attached to ``surrogate_real / scale``."""
    if surrogate_real is None:
        return exact.to(torch.float64)
    return attach(exact, surrogate_real / scale_tensor(scale, surrogate_real))


def as_int(q: torch.Tensor) -> torch.Tensor:
    """The exact integers of a carried tensor as int64, detached."""
    return q.detach().to(torch.int64)


def scale_tensor(s, like: torch.Tensor) -> torch.Tensor:
    """A numpy scale as a float32 tensor on ``like``'s device (for surrogates)."""
    return torch.as_tensor(np.asarray(s, dtype=np.float64), dtype=torch.float32, device=like.device)


def const(x, like: torch.Tensor) -> torch.Tensor:
    """A numpy integer constant as an int64 tensor on ``like``'s device."""
    return torch.as_tensor(np.asarray(x, dtype=np.int64), device=like.device)


@dataclass
class Recorder:
    """Optional outputs of a forward pass: the per-layer trace and the integer layers."""

    trace: dict[str, np.ndarray] | None = None
    layers: list[Layer] | None = None

    def record(self, name: str, exact: torch.Tensor) -> None:
        if self.trace is not None:
            self.trace[name] = exact.detach().cpu().numpy().astype(np.int64)

    def emit(self, layer: Layer) -> None:
        if self.layers is not None:
            self.layers.append(layer)


@dataclass
class QuantConfig:
    """Bit widths and nonlinear-op constants of the integer model (recorded in the file)."""

    weight_bits: int = 8
    act_bits: int = 8
    residual_bits: int = 16
    softmax_bits: int = 16
    logit_bits: int = 32
    shiftmax_n: int = 15
    gelu_n: int = 23
    gelu_form: str = "shift"
    exp_form: str = "corrected"
    momentum: float = 0.95
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"weight": self.weight_bits, "act": self.act_bits, "residual": self.residual_bits,
                "softmax": self.softmax_bits, "logit": self.logit_bits,
                "shiftmax_n": self.shiftmax_n, "gelu_n": self.gelu_n, "gelu_form": self.gelu_form,
                "exp_form": self.exp_form}


class QuantModule(nn.Module):
    """Base class: a layer name (shared with the integer model and the trace)."""

    def __init__(self, name: str):
        super().__init__()
        self.layer_name = name
