"""Quantized linear-algebra layers: input quantizer, Linear, patch embedding, residual add."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import spec
from ..ir.model import Layer
from . import intops
from .base import (QuantConfig, QuantModule, Recorder, as_int, attach, const, finish, scale_tensor,
                   surrogate_needed)
from .observer import RangeObserver


def _weight_scale(w: torch.Tensor, bits: int) -> np.ndarray:
    """Per-output-channel symmetric scale ``max|W_c| / (2^(b-1)-1)`` in float64."""
    flat = w.detach().reshape(w.shape[0], -1).to(torch.float64).abs().amax(dim=1)
    return flat.cpu().numpy() / ((1 << (bits - 1)) - 1)


def _ste_weight(w: torch.Tensor, w_int: np.ndarray, s_w: np.ndarray) -> torch.Tensor:
    """Fake-quantized weight in the forward pass, identity gradient (straight-through)."""
    shape = (-1,) + (1,) * (w.dim() - 1)
    fq = torch.as_tensor(w_int * s_w.reshape(shape), dtype=w.dtype, device=w.device)
    return w + (fq - w).detach()


class QuantInput(QuantModule):
    """Quantizes normalized float images to int8 with an observed per-tensor scale."""

    def __init__(self, cfg: QuantConfig):
        super().__init__("image")
        self.bits = cfg.act_bits
        self.observer = RangeObserver(cfg.act_bits, cfg.momentum)

    def forward(self, x: torch.Tensor):
        if self.training:
            self.observer.update(x)
        s = self.observer.scale()
        xd = x.to(torch.float64)
        hi = (1 << (self.bits - 1)) - 1
        exact = torch.clamp(torch.round(xd / s), -hi, hi).to(torch.int64)
        return attach(exact, (x / s).float()), np.float64(s)


class QuantLinear(QuantModule):
    """int8 × int8 GEMM + int32 bias with one of three outputs.

    ``out="act"``: requantized to ``act_bits`` with observed per-tensor scales (``groups``
    contiguous channel groups each get their own, e.g. q/k/v). ``out="acc"``: the raw int32
    accumulator with per-channel scale ``S_w·S_in`` (feeds a residual add). ``out="logits"``:
    requantized per class to one common scale ``max(S_w)·S_in`` (integer argmax).
    """

    def __init__(self, name: str, linear: nn.Linear, cfg: QuantConfig, out: str = "act",
                 groups: int = 1):
        super().__init__(name)
        self.weight = linear.weight
        self.bias = linear.bias
        self.cfg = cfg
        self.out = out
        self.groups = groups
        if out == "act":
            self.observers = nn.ModuleList(RangeObserver(cfg.act_bits, cfg.momentum)
                                           for _ in range(groups))

    def quantized_weight(self) -> tuple[np.ndarray, np.ndarray]:
        """``(S_w per channel, int weights)`` of the current float weights."""
        bits = self.cfg.weight_bits
        s_w = _weight_scale(self.weight, bits)
        w = self.weight.detach().to(torch.float64).cpu().numpy()
        return s_w, spec.quantize(w, s_w[:, None], bits)

    def constants(self, s_in, s_w: np.ndarray, w_int: np.ndarray) -> dict:
        """Integer bias, output scales and requant constants for input scale ``s_in``."""
        s_acc = s_w * float(s_in)
        b = (self.bias.detach().to(torch.float64).cpu().numpy() if self.bias is not None
             else np.zeros(w_int.shape[0]))
        c = {"weight": w_int, "bias": spec.quantize(b, s_acc, 32)}
        if self.out == "act":
            per_group = [o.scale() for o in self.observers]
            c["s_out"] = np.repeat(np.asarray(per_group), w_int.shape[0] // self.groups)
        elif self.out == "logits":
            c["s_out"] = np.full(w_int.shape[0], s_acc.max())
        else:
            c["s_out"] = s_acc
        if self.out != "acc":
            c["m"], c["e"] = spec.dyadic(s_acc / c["s_out"])
        return c

    def forward(self, q: torch.Tensor, s_in, rec: Recorder, src: str):
        s_w, w_int = self.quantized_weight()
        y_f = None
        if surrogate_needed(self):
            y_f = F.linear(q.float() * scale_tensor(s_in, q), _ste_weight(self.weight, w_int, s_w),
                           self.bias)
        if self.training and self.out == "act":
            for o, part in zip(self.observers, y_f.chunk(self.groups, dim=-1)):
                o.update(part)
        c = self.constants(s_in, s_w, w_int)
        acc = intops.int_matmul(as_int(q), const(w_int, q).T) + const(c["bias"], q)
        out_bits = {"act": self.cfg.act_bits, "logits": self.cfg.logit_bits}.get(self.out)
        exact = acc if out_bits is None else intops.requant(acc, c["m"], c["e"], out_bits)
        rec.record(self.layer_name, exact)
        params = {"weight": w_int.astype(np.int8), "bias": c["bias"].astype(np.int32)}
        if out_bits is not None:
            params.update(m=c["m"].astype(np.int64), e=c["e"].astype(np.int64))
        rec.emit(Layer(self.layer_name, "linear", [src], {"out_bits": out_bits}, params))
        s_out = c["s_out"]
        if self.out == "act" and self.groups == 1:
            s_out = np.float64(s_out[0])
        return finish(exact, y_f, c["s_out"]), s_out


class QuantPatchEmbed(QuantModule):
    """Patch convolution as a GEMM, requantized into the residual stream with cls + position."""

    def __init__(self, proj: nn.Conv2d, cls_token: nn.Parameter, pos_embed: nn.Parameter,
                 cfg: QuantConfig):
        super().__init__("patch_embed")
        self.proj = proj
        self.cls_token = cls_token
        self.pos_embed = pos_embed
        self.cfg = cfg
        self.patch = proj.kernel_size[0]
        self.observer = RangeObserver(cfg.residual_bits, cfg.momentum)

    def forward(self, q: torch.Tensor, s_in, rec: Recorder):
        bits = self.cfg.weight_bits
        w = self.proj.weight
        s_w = _weight_scale(w, bits)
        w_int = spec.quantize(w.detach().to(torch.float64).cpu().numpy(),
                              s_w[:, None, None, None], bits)
        x_f = None
        if surrogate_needed(self):
            y = F.conv2d(q.float() * scale_tensor(s_in, q), _ste_weight(w, w_int, s_w),
                         self.proj.bias, stride=self.proj.stride)
            y = y.flatten(2).transpose(1, 2)
            cls = self.cls_token.expand(y.shape[0], -1, -1)
            x_f = torch.cat([cls, y], dim=1) + self.pos_embed
        if self.training:
            self.observer.update(x_f)
        s_out = self.observer.scale()
        rb = self.cfg.residual_bits
        b = (self.proj.bias.detach().to(torch.float64).cpu().numpy() if self.proj.bias is not None
             else np.zeros(w.shape[0]))
        bias = spec.quantize(b, s_w * float(s_in), 32)
        m, e = spec.dyadic(s_w * float(s_in) / s_out)
        pos = self.pos_embed.detach()[0].to(torch.float64).cpu().numpy()
        cls_q = spec.quantize(self.cls_token.detach()[0, 0].to(torch.float64).cpu().numpy() + pos[0],
                              s_out, rb)
        pos_q = spec.quantize(pos[1:], s_out, rb)
        w_mat = w_int.reshape(w_int.shape[0], -1)
        patches = as_int(q).unfold(2, self.patch, self.patch).unfold(3, self.patch, self.patch)
        bsz = patches.shape[0]
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(bsz, -1, w_mat.shape[1])
        acc = intops.int_matmul(patches, const(w_mat, q).T) + const(bias, q)
        tokens = intops.saturate(intops.requant(acc, m, e) + const(pos_q, q), rb)
        exact = torch.cat([const(cls_q, q).expand(bsz, 1, -1), tokens], dim=1)
        rec.record(self.layer_name, exact)
        grid = [int(q.shape[2]) // self.patch, int(q.shape[3]) // self.patch]
        rec.emit(Layer(self.layer_name, "patch_embed", ["image"],
                       {"patch": self.patch, "in_chans": int(w.shape[1]), "dim": int(w.shape[0]),
                        "grid": grid, "out_bits": rb},
                       {"weight": w_mat.astype(np.int8), "bias": bias.astype(np.int32),
                        "m": m, "e": e, "cls": cls_q.astype(np.int16 if rb <= 16 else np.int32),
                        "pos": pos_q.astype(np.int16 if rb <= 16 else np.int32)}))
        return finish(exact, x_f, s_out), np.float64(s_out)


class QuantResidual(QuantModule):
    """Residual add: both branches requantized to the observed output scale, saturated once."""

    def __init__(self, name: str, cfg: QuantConfig):
        super().__init__(name)
        self.bits = cfg.residual_bits
        self.observer = RangeObserver(cfg.residual_bits, cfg.momentum)

    def forward(self, branch, s_branch, res, s_res, rec: Recorder, srcs: list[str]):
        y_f = None
        if surrogate_needed(self):
            y_f = (branch.float() * scale_tensor(s_branch, branch)
                   + res.float() * scale_tensor(s_res, res))
        if self.training:
            self.observer.update(y_f)
        s_out = self.observer.scale()
        m_a, e_a = spec.dyadic(np.asarray(s_branch) / s_out)
        m_b, e_b = spec.dyadic(float(s_res) / s_out)
        exact = intops.saturate(intops.requant(as_int(branch), m_a, e_a)
                                + intops.requant(as_int(res), m_b, e_b), self.bits)
        rec.record(self.layer_name, exact)
        rec.emit(Layer(self.layer_name, "residual_add", srcs,
                       {"m_b": int(m_b), "e_b": int(e_b), "out_bits": self.bits},
                       {"m_a": m_a, "e_a": e_a}))
        return finish(exact, y_f, s_out), np.float64(s_out)
