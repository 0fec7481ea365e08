"""Ablations of the nonlinear ops, selectable per op in the QAT model (and so in the golden
model and HLS through the layers they record): I-BERT's polynomial softmax (``ibert_softmax``)
and GELU (``ibert_gelu``) in place of Shiftmax / ShiftGELU. The paper's row-max ShiftGELU and
ShiftExp are ``QuantConfig(gelu_form="rowmax", exp_form="paper")``; float nonlinear ops with
int8 GEMMs are not integer-only and live in the accuracy bench, labelled as such.

The torch ops here are an independent int64 implementation of ``ivit_hls.spec.ibert``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import spec
from ..errors import IvitError
from ..ir.model import Layer
from ..spec.ibert import ibert_exp_constants, ibert_gelu_constants
from . import intops
from .base import QuantModule, Recorder, as_int, finish, scale_tensor, surrogate_needed
from .nonlinear import QuantAttention, QuantGELU

SOFTMAX_FORMS = ("shift", "ibert")
GELU_VARIANTS = ("shift", "ibert")


def ibert_exp(q: torch.Tensor, q_ln2: int, q_b: int, q_c: int) -> torch.Tensor:
    """i-exp of ``q <= 0`` (``spec.ibert.ibert_exp``) on int64 tensors."""
    z = intops.floordiv(-q, q_ln2)
    q_p = q + z * q_ln2
    poly = (q_p + q_b) * (q_p + q_b) + q_c
    return poly >> torch.clamp(z, max=63)


def ibert_softmax(x: torch.Tensor, k: int, q_ln2: int, q_b: int, q_c: int,
                  out_bits: int) -> torch.Tensor:
    """``spec.ibert.ibert_softmax`` on int64 tensors."""
    e = ibert_exp((x - x.amax(dim=-1, keepdim=True)) << k, q_ln2, q_b, q_c)
    m_bits = (q_b * q_b + q_c).bit_length() + 30
    total = e.sum(dim=-1, keepdim=True)
    factor = intops.floordiv(torch.full_like(total, 1 << m_bits), total)
    shift = m_bits - (out_bits - 1)
    return (e * factor + (1 << (shift - 1))) >> shift


def ibert_gelu(x: torch.Tensor, q_clip: int, q_one_erf: int, q_one: int) -> torch.Tensor:
    """``spec.ibert.ibert_gelu`` on int64 tensors."""
    d = torch.clamp(x.abs(), max=q_clip) - q_clip
    return x * (torch.sign(x) * (q_one_erf - d * d) + q_one)


class QuantIBertGELU(QuantGELU):
    """I-BERT's i-GELU, requantized to the observed int8 output scale (kind ``ibert_gelu``)."""

    def forward(self, q: torch.Tensor, s_in, rec: Recorder, src: str):
        s_in = float(s_in)
        y_f = F.gelu(q.float() * s_in) if surrogate_needed(self) else None
        if self.training:
            self.observer.update(y_f)
        s_out = self.observer.scale()
        c = ibert_gelu_constants(s_in)
        m, e = spec.dyadic(c["out_scale"] / s_out)
        core = ibert_gelu(as_int(q), c["q_clip"], c["q_one_erf"], c["q_one"])
        exact = intops.requant(core, m, e, self.cfg.act_bits)
        rec.record(self.layer_name, exact)
        rec.emit(Layer(self.layer_name, "ibert_gelu", [src],
                       {"q_clip": c["q_clip"], "q_one_erf": c["q_one_erf"], "q_one": c["q_one"],
                        "m": int(m), "e": int(e), "out_bits": self.cfg.act_bits}))
        return finish(exact, y_f, s_out), np.float64(s_out)


class QuantAttentionIBert(QuantAttention):
    """``QuantAttention`` with I-BERT's softmax (kind ``ibert_softmax``) in place of Shiftmax."""

    def softmax_exact(self, scores: torch.Tensor, s_a: float):
        k, _i0 = spec.exp_constants(s_a)
        c = ibert_exp_constants(s_a / 2.0 ** k)  # the pre-shift Shiftmax gets, for i-exp too
        exact = ibert_softmax(scores, k, c["q_ln2"], c["q_b"], c["q_c"], self.cfg.softmax_bits)
        return exact, "ibert_softmax", {"k": k, "q_ln2": c["q_ln2"], "q_b": c["q_b"],
                                        "q_c": c["q_c"], "out_bits": self.cfg.softmax_bits}


def apply_ablation(qmodel: torch.nn.Module, softmax: str = "shift",
                   gelu: str = "shift") -> torch.nn.Module:
    """Switch the nonlinear ops of a QAT model in place: ``softmax`` "shift" (Shiftmax) or
    "ibert"; ``gelu`` "shift" (the config's ShiftGELU form) or "ibert". The modules keep their
    weights and observers (a subclass without new state replaces each one's class)."""
    if softmax not in SOFTMAX_FORMS:
        raise IvitError(f"softmax ablation {softmax!r}: one of {', '.join(SOFTMAX_FORMS)}")
    if gelu not in GELU_VARIANTS:
        raise IvitError(f"GELU ablation {gelu!r}: one of {', '.join(GELU_VARIANTS)}")
    for module in qmodel.modules():
        if isinstance(module, QuantAttention) and softmax == "ibert":
            module.__class__ = QuantAttentionIBert
        elif type(module) is QuantAttentionIBert and softmax == "shift":
            module.__class__ = QuantAttention
        if isinstance(module, QuantGELU) and gelu == "ibert":
            module.__class__ = QuantIBertGELU
        elif type(module) is QuantIBertGELU and gelu == "shift":
            module.__class__ = QuantGELU
    return qmodel


__all__ = ["apply_ablation", "ibert_exp", "ibert_gelu", "ibert_softmax", "QuantIBertGELU",
           "QuantAttentionIBert", "QuantModule", "scale_tensor"]
