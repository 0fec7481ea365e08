"""Quantized nonlinear layers: I-LayerNorm, ShiftGELU and attention with Shiftmax."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import spec
from ..ir.model import Layer
from ..spec.layernorm import LN_FRAC_BITS
from ..spec.shift import GELU_SIGMOID_BITS
from . import intops
from .base import (QuantConfig, QuantModule, Recorder, as_int, const, finish, scale_tensor,
                   surrogate_needed)
from .layers import QuantLinear
from .observer import RangeObserver

# Keeps |B| + |n·m| + 2^(e-1) well inside int64 (|n·m| <= 2^48).
_LN_OFFSET_LIMIT = 2 ** 60


def fold_ln_offset(m: np.ndarray, e: np.ndarray, beta_out: np.ndarray):
    """β's integer offset ``B_c = round(β_c/S_out · 2^e_c)`` with ``|B_c| <= 2^60``.

    Where the offset would pass the limit (a tiny γ gives a large e_c), e_c is lowered until it
    fits and m_c is rounded by the same number of bits, so the output stays ≈ β rounded
    instead of a clipped offset. Returns ``(m, e, B)`` as int64 arrays.
    """
    m = np.array(m, dtype=np.int64).copy()
    e = np.array(e, dtype=np.int64).copy()
    beta_out = np.asarray(beta_out, dtype=np.float64)
    for c in range(e.size):
        mag = abs(float(beta_out[c]))
        if mag * 2.0 ** int(e[c]) <= _LN_OFFSET_LIMIT:
            continue
        e_new = max(1, min(int(e[c]), math.floor(math.log2(_LN_OFFSET_LIMIT / mag))))
        drop = int(e[c]) - e_new
        m[c] = (int(m[c]) + (1 << (drop - 1))) >> drop if drop > 0 else int(m[c])
        e[c] = e_new
    offset = np.clip(np.round(beta_out * np.exp2(e.astype(np.float64))),
                     -float(_LN_OFFSET_LIMIT), float(_LN_OFFSET_LIMIT)).astype(np.int64)
    return m, e, offset


class QuantLayerNorm(QuantModule):
    """I-LayerNorm on the residual stream; γ folds into (m, e), β into an int64 offset."""

    def __init__(self, name: str, ln: nn.LayerNorm, cfg: QuantConfig, cls_only: bool = False):
        super().__init__(name)
        self.ln = ln
        self.bits = cfg.act_bits
        self.cls_only = cls_only
        self.observer = RangeObserver(cfg.act_bits, cfg.momentum)

    def constants(self) -> dict:
        s_out = self.observer.scale()
        gamma = self.ln.weight.detach().to(torch.float64).cpu().numpy()
        beta = self.ln.bias.detach().to(torch.float64).cpu().numpy()
        m, e = spec.dyadic(gamma * math.sqrt(gamma.size) / (2.0 ** LN_FRAC_BITS * s_out))
        m, e, offset = fold_ln_offset(m, e, beta / s_out)
        return {"m": m, "e": e, "bias": offset, "s_out": s_out}

    def forward(self, q: torch.Tensor, s_in, rec: Recorder, src: str):
        if self.cls_only:
            q = q[:, :1, :]
        y_f = self.ln(q.float() * scale_tensor(s_in, q)) if surrogate_needed(self) else None
        if self.training:
            self.observer.update(y_f)
        c = self.constants()
        n = intops.ilayernorm_normalize(as_int(q))
        exact = intops.requant(n, c["m"], c["e"], self.bits, offset=const(c["bias"], q))
        rec.record(self.layer_name, exact)
        rec.emit(Layer(self.layer_name, "layernorm", [src],
                       {"out_bits": self.bits, "tokens": "cls" if self.cls_only else "all"},
                       {"m": c["m"], "e": c["e"], "bias": c["bias"]}))
        return finish(exact, y_f, c["s_out"]), np.float64(c["s_out"])


class QuantGELU(QuantModule):
    """ShiftGELU followed by a requant to the observed int8 output scale, or (form "table")
    a per-layer table of correctly rounded GELU at the output scale."""

    def __init__(self, name: str, cfg: QuantConfig):
        super().__init__(name)
        self.cfg = cfg
        self.observer = RangeObserver(cfg.act_bits, cfg.momentum)

    def forward(self, q: torch.Tensor, s_in, rec: Recorder, src: str):
        s_in = float(s_in)
        y_f = F.gelu(q.float() * s_in) if surrogate_needed(self) else None
        if self.training:
            self.observer.update(y_f)
        s_out = self.observer.scale()
        k, i0 = spec.exp_constants(s_in)
        m, e = spec.dyadic(s_in * 2.0 ** -GELU_SIGMOID_BITS / s_out)
        form = self.cfg.gelu_form
        params = {}
        if form == "table":
            table = spec.gelu_table(s_in, s_out, self.cfg.act_bits, self.cfg.act_bits)
            exact = intops.gelu_lookup(as_int(q), table)
            params = {"table": table}
        else:
            core = intops.shift_gelu(as_int(q), k, i0, self.cfg.gelu_n, form)
            exact = intops.requant(core, m, e, self.cfg.act_bits)
        rec.record(self.layer_name, exact)
        rec.emit(Layer(self.layer_name, "gelu", [src],
                       {"k": k, "i0": i0, "n": self.cfg.gelu_n, "form": form,
                        "m": int(m), "e": int(e), "out_bits": self.cfg.act_bits}, params))
        return finish(exact, y_f, s_out), np.float64(s_out)


def _heads(x: torch.Tensor, part: int, heads: int, head_dim: int) -> torch.Tensor:
    b, t, _ = x.shape
    w = heads * head_dim
    return x[:, :, part * w:(part + 1) * w].reshape(b, t, heads, head_dim).transpose(1, 2)


class QuantAttention(QuantModule):
    """qkv → q·kᵀ (requant to int8) → Shiftmax → P·v (requant to int8) → proj (raw acc)."""

    def __init__(self, name: str, attn: nn.Module, cfg: QuantConfig):
        super().__init__(name)
        self.cfg = cfg
        self.heads = attn.num_heads
        self.head_dim = attn.qkv.out_features // (3 * attn.num_heads)
        self.softmax_scale = float(self.head_dim ** -0.5)
        self.qkv = QuantLinear(f"{name}.qkv", attn.qkv, cfg, out="act", groups=3)
        self.proj = QuantLinear(f"{name}.proj", attn.proj, cfg, out="acc")
        self.obs_scores = RangeObserver(cfg.act_bits, cfg.momentum)
        self.obs_context = RangeObserver(cfg.act_bits, cfg.momentum)

    def forward(self, q: torch.Tensor, s_in, rec: Recorder, src: str):
        cfg, name, h, hd = self.cfg, self.layer_name, self.heads, self.head_dim
        qkv, s_qkv = self.qkv(q, s_in, rec, src)
        width = h * hd
        s_q, s_k, s_v = (float(s_qkv[i * width]) for i in range(3))
        qh, kh, vh = (_heads(qkv, i, h, hd) for i in range(3))
        geo = {"heads": h, "head_dim": hd}

        need = surrogate_needed(self)
        scores_f = None
        if need:
            scores_f = ((qh.float() * s_q) @ (kh.float() * s_k).transpose(-1, -2)
                        * self.softmax_scale)
        if self.training:
            self.obs_scores.update(scores_f)
        s_a = self.obs_scores.scale()
        m, e = spec.dyadic(s_q * s_k * self.softmax_scale / s_a)
        exact = intops.requant(intops.int_matmul(as_int(qh), as_int(kh).transpose(-1, -2)), m, e,
                               cfg.act_bits)
        rec.record(f"{name}.scores", exact)
        rec.emit(Layer(f"{name}.scores", "qk_matmul", [f"{name}.qkv"],
                       {**geo, "m": int(m), "e": int(e), "out_bits": cfg.act_bits}))
        scores = finish(exact, scores_f, s_a)

        q_bits = cfg.softmax_bits - 1
        exact, kind, attrs = self.softmax_exact(as_int(scores), s_a)
        rec.record(f"{name}.softmax", exact)
        rec.emit(Layer(f"{name}.softmax", kind, [f"{name}.scores"], attrs))
        probs_f = torch.softmax(scores.float() * s_a, dim=-1) if need else None
        probs = finish(exact, probs_f, 2.0 ** -q_bits)

        ctx_f = (probs.float() * 2.0 ** -q_bits) @ (vh.float() * s_v) if need else None
        if self.training:
            self.obs_context.update(ctx_f)
        s_o = self.obs_context.scale()
        m, e = spec.dyadic(2.0 ** -q_bits * s_v / s_o)
        exact = intops.requant(intops.int_matmul(as_int(probs), as_int(vh)), m, e, cfg.act_bits)
        b, _, t, _ = exact.shape
        exact = exact.transpose(1, 2).reshape(b, t, width)
        rec.record(f"{name}.context", exact)
        rec.emit(Layer(f"{name}.context", "pv_matmul", [f"{name}.softmax", f"{name}.qkv"],
                       {**geo, "m": int(m), "e": int(e), "out_bits": cfg.act_bits}))
        ctx = finish(exact, ctx_f.transpose(1, 2).reshape(b, t, width) if need else None, s_o)
        return self.proj(ctx, np.float64(s_o), rec, f"{name}.context")

    def softmax_exact(self, scores: torch.Tensor, s_a: float):
        """The integer probabilities of integer ``scores`` (scale ``s_a``), the layer kind and
        its attributes: Shiftmax here; the I-BERT ablation overrides this one step."""
        cfg = self.cfg
        k, i0 = spec.exp_constants(s_a)
        exact = intops.shiftmax(scores, k, i0, cfg.shiftmax_n, cfg.softmax_bits, cfg.exp_form)
        return exact, "shiftmax", {"k": k, "i0": i0, "n": cfg.shiftmax_n,
                                   "out_bits": cfg.softmax_bits, "exp_form": cfg.exp_form}
