"""The I-ViT quantized Swin Transformer built from a timm ``SwinTransformer`` (§14 of the spec).

Tokens stay in natural row-major order (B, T, C) everywhere; window attention reads them
through the spec's window index (cyclic shift + partition) and writes its context back
through the same index. Every layer records the ``Layer`` the golden model reproduces.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import spec
from ..errors import IvitError
from ..ir.model import Layer
from ..ops.windows import window_index, window_mask
from ..preprocess import input_config
from ..spec.shift import shiftmax_div_bits
from . import intops
from .base import (QuantConfig, QuantModule, Recorder, as_int, const, finish, scale_tensor,
                   surrogate_needed)
from .layers import QuantInput, QuantLinear, QuantResidual, _ste_weight, _weight_scale
from .nonlinear import QuantGELU, QuantLayerNorm
from .observer import RangeObserver
from .vit import QuantBlock, QuantNetwork, _is_identity, _is_layernorm, _pair


def _wide(cfg: QuantConfig) -> QuantConfig:
    """The config whose activations are residual-stream wide (patch embedding, merge output)."""
    return dataclasses.replace(cfg, act_bits=cfg.residual_bits)


def masked_shiftmax(x: torch.Tensor, masked: torch.Tensor, k: int, i0: int, n: int,
                    out_bits: int, exp_form: str) -> torch.Tensor:
    """Torch form of ``ops.window_shiftmax.masked_shiftmax``: masked logits give exactly 0."""
    keep = ~masked.expand_as(x)
    top = x.masked_fill(~keep, torch.iinfo(torch.int64).min).amax(dim=-1, keepdim=True)
    d = torch.where(keep, x - top, torch.zeros_like(x))
    e = torch.where(keep, intops.shift_exp(d << k, i0, n, exp_form), torch.zeros_like(x))
    total = e.sum(dim=-1, keepdim=True)
    m_bits = shiftmax_div_bits(i0, n)
    factor = intops.floordiv(torch.full_like(total, 1 << m_bits), total)
    shift = m_bits - (out_bits - 1)
    return (e * factor + (1 << (shift - 1))) >> shift


class QuantPatchTokens(QuantModule):
    """Patch convolution as a GEMM, requantized to the residual width (no class token)."""

    def __init__(self, proj: nn.Conv2d, cfg: QuantConfig):
        super().__init__("patch_embed")
        self.proj = proj
        self.cfg = cfg
        self.patch = proj.kernel_size[0]
        self.observer = RangeObserver(cfg.residual_bits, cfg.momentum)

    def forward(self, q: torch.Tensor, s_in, rec: Recorder):
        w = self.proj.weight
        s_w = _weight_scale(w, self.cfg.weight_bits)
        w_int = spec.quantize(w.detach().to(torch.float64).cpu().numpy(),
                              s_w[:, None, None, None], self.cfg.weight_bits)
        y_f = None
        if surrogate_needed(self):
            y_f = F.conv2d(q.float() * scale_tensor(s_in, q), _ste_weight(w, w_int, s_w),
                           self.proj.bias, stride=self.proj.stride).flatten(2).transpose(1, 2)
        if self.training:
            self.observer.update(y_f)
        s_out = self.observer.scale()
        rb = self.cfg.residual_bits
        b = (self.proj.bias.detach().to(torch.float64).cpu().numpy() if self.proj.bias is not None
             else np.zeros(w.shape[0]))
        bias = spec.quantize(b, s_w * float(s_in), 32)
        m, e = spec.dyadic(s_w * float(s_in) / s_out)
        w_mat = w_int.reshape(w_int.shape[0], -1)
        p = self.patch
        patches = as_int(q).unfold(2, p, p).unfold(3, p, p)
        bsz = patches.shape[0]
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(bsz, -1, w_mat.shape[1])
        acc = intops.int_matmul(patches, const(w_mat, q).T) + const(bias, q)
        exact = intops.requant(acc, m, e, rb)
        rec.record(self.layer_name, exact)
        grid = [int(q.shape[2]) // p, int(q.shape[3]) // p]
        rec.emit(Layer(self.layer_name, "patch_tokens", ["image"],
                       {"patch": p, "in_chans": int(w.shape[1]), "dim": int(w.shape[0]),
                        "grid": grid, "out_bits": rb},
                       {"weight": w_mat.astype(np.int8), "bias": bias.astype(np.int32),
                        "m": m, "e": e}))
        return finish(exact, y_f, s_out), np.float64(s_out)


class QuantWindowAttention(QuantModule):
    """qkv → window q·kᵀ + relative position bias → (masked) Shiftmax → window P·v → proj."""

    def __init__(self, name: str, attn: nn.Module, grid: tuple, window: int, shift: int,
                 cfg: QuantConfig):
        super().__init__(name)
        self.cfg = cfg
        self.heads = attn.num_heads
        self.head_dim = attn.qkv.out_features // (3 * attn.num_heads)
        self.softmax_scale = float(attn.scale)
        self.grid, self.window, self.shift = tuple(grid), int(window), int(shift)
        self.attn = attn
        self.qkv = QuantLinear(f"{name}.qkv", attn.qkv, cfg, out="act", groups=3)
        self.proj = QuantLinear(f"{name}.proj", attn.proj, cfg, out="acc")
        self.obs_scores = RangeObserver(cfg.act_bits, cfg.momentum)
        self.obs_context = RangeObserver(cfg.act_bits, cfg.momentum)
        gh, gw = self.grid
        self.register_buffer("index", torch.as_tensor(np.array(window_index(gh, gw, window, shift))),
                             persistent=False)
        self.register_buffer("masked", torch.as_tensor(np.array(window_mask(gh, gw, window,
                                                                            shift)))[:, None],
                             persistent=False)

    def _windows(self, x: torch.Tensor, part: int) -> torch.Tensor:
        """(B, T, 3C) natural → (B, nW, H, N, hd) windows of q (0), k (1) or v (2)."""
        width = self.heads * self.head_dim
        y = x[:, self.index, part * width:(part + 1) * width]
        n = self.window * self.window
        return y.reshape(y.shape[0], -1, n, self.heads, self.head_dim).transpose(2, 3)

    def _unwindow(self, ctx: torch.Tensor) -> torch.Tensor:
        """(B, nW, H, N, hd) → (B, T, C) natural order."""
        b = ctx.shape[0]
        flat = ctx.transpose(2, 3).reshape(b, -1, self.heads * self.head_dim)
        out = torch.empty_like(flat)
        out[:, self.index] = flat
        return out

    def forward(self, q: torch.Tensor, s_in, rec: Recorder, src: str):
        cfg, name = self.cfg, self.layer_name
        qkv, s_qkv = self.qkv(q, s_in, rec, src)
        width = self.heads * self.head_dim
        s_q, s_k, s_v = (float(s_qkv[i * width]) for i in range(3))
        qh, kh, vh = (self._windows(qkv, i) for i in range(3))
        geo = {"heads": self.heads, "head_dim": self.head_dim, "grid": list(self.grid),
               "window": self.window, "shift": self.shift}
        rpb = self.attn._get_rel_pos_bias()[0]                      # (H, N, N) float
        need = surrogate_needed(self)
        scores_f = None
        if need:
            scores_f = ((qh.float() * s_q) @ (kh.float() * s_k).transpose(-1, -2)
                        * self.softmax_scale + rpb)
        if self.training:
            self.obs_scores.update(scores_f)
        s_a = self.obs_scores.scale()
        m, e = spec.dyadic(s_q * s_k * self.softmax_scale / s_a)
        bias = spec.quantize(rpb.detach().to(torch.float64).cpu().numpy(), s_a, 16)
        raw = intops.requant(intops.int_matmul(as_int(qh), as_int(kh).transpose(-1, -2)), m, e)
        exact = intops.saturate(raw + const(bias, raw), cfg.act_bits)
        rec.record(f"{name}.scores", exact)
        rec.emit(Layer(f"{name}.scores", "window_qk", [f"{name}.qkv"],
                       {**geo, "m": int(m), "e": int(e), "out_bits": cfg.act_bits},
                       {"bias": bias.astype(np.int16)}))
        scores = finish(exact, scores_f, s_a)

        k, i0 = spec.exp_constants(s_a)
        sm = {"k": k, "i0": i0, "n": cfg.shiftmax_n, "out_bits": cfg.softmax_bits,
              "exp_form": cfg.exp_form}
        if self.shift:
            exact = masked_shiftmax(as_int(scores), self.masked, k, i0, cfg.shiftmax_n,
                                    cfg.softmax_bits, cfg.exp_form)
            layer = Layer(f"{name}.softmax", "window_shiftmax", [f"{name}.scores"],
                          {**sm, "grid": list(self.grid), "window": self.window,
                           "shift": self.shift})
        else:
            exact = intops.shiftmax(as_int(scores), k, i0, cfg.shiftmax_n, cfg.softmax_bits,
                                    cfg.exp_form)
            layer = Layer(f"{name}.softmax", "shiftmax", [f"{name}.scores"], sm)
        rec.record(f"{name}.softmax", exact)
        rec.emit(layer)
        q_bits = cfg.softmax_bits - 1
        probs_f = None
        if need:
            probs_f = torch.softmax((scores.float() * s_a).masked_fill(self.masked, -torch.inf),
                                    dim=-1)
        probs = finish(exact, probs_f, 2.0 ** -q_bits)

        ctx_f = (probs.float() * 2.0 ** -q_bits) @ (vh.float() * s_v) if need else None
        if self.training:
            self.obs_context.update(ctx_f)
        s_o = self.obs_context.scale()
        m, e = spec.dyadic(2.0 ** -q_bits * s_v / s_o)
        exact = self._unwindow(intops.requant(intops.int_matmul(as_int(probs), as_int(vh)), m, e,
                                              cfg.act_bits))
        rec.record(f"{name}.context", exact)
        rec.emit(Layer(f"{name}.context", "window_pv", [f"{name}.softmax", f"{name}.qkv"],
                       {**geo, "m": int(m), "e": int(e), "out_bits": cfg.act_bits}))
        ctx = finish(exact, self._unwindow(ctx_f) if need else None, s_o)
        return self.proj(ctx, np.float64(s_o), rec, f"{name}.context")


class QuantSwinBlock(QuantBlock):
    """LN → shifted-window attention → add, LN → fc1 → GELU → fc2 → add (QuantBlock's order)."""

    def __init__(self, name: str, block: nn.Module, grid: tuple, cfg: QuantConfig):
        QuantModule.__init__(self, name)
        self.norm1 = QuantLayerNorm(f"{name}.norm1", block.norm1, cfg)
        self.attn = QuantWindowAttention(f"{name}.attn", block.attn, grid, block.window_size[0],
                                         block.shift_size[0], cfg)
        self.add1 = QuantResidual(f"{name}.add1", cfg)
        self.norm2 = QuantLayerNorm(f"{name}.norm2", block.norm2, cfg)
        self.fc1 = QuantLinear(f"{name}.mlp.fc1", block.mlp.fc1, cfg, out="act")
        self.gelu = QuantGELU(f"{name}.mlp.gelu", cfg)
        self.fc2 = QuantLinear(f"{name}.mlp.fc2", block.mlp.fc2, cfg, out="acc")
        self.add2 = QuantResidual(f"{name}.add2", cfg)


class QuantPatchMerging(QuantModule):
    """2x2 concatenation (``patch_merge``) → I-LayerNorm → reduction to the residual width."""

    def __init__(self, name: str, merge: nn.Module, grid: tuple, cfg: QuantConfig):
        super().__init__(name)
        self.grid = tuple(grid)
        self.norm = QuantLayerNorm(f"{name}.norm", merge.norm, cfg)
        self.reduction = QuantLinear(f"{name}.reduction", merge.reduction, _wide(cfg), out="act")

    def forward(self, x: torch.Tensor, s, rec: Recorder, src: str):
        gh, gw = self.grid
        b, _, c = x.shape
        y = x.reshape(b, gh // 2, 2, gw // 2, 2, c).permute(0, 1, 3, 4, 2, 5)
        y = y.reshape(b, gh * gw // 4, 4 * c)
        rec.record(self.layer_name, as_int(y))
        rec.emit(Layer(self.layer_name, "patch_merge", [src], {"grid": [gh, gw]}))
        h, sh = self.norm(y, s, rec, self.layer_name)
        return self.reduction(h, sh, rec, f"{self.layer_name}.norm")


class QuantMeanPool(QuantModule):
    """Average over tokens as one requant of the token sum to an observed int8 scale."""

    def __init__(self, name: str, cfg: QuantConfig):
        super().__init__(name)
        self.bits = cfg.act_bits
        self.observer = RangeObserver(cfg.act_bits, cfg.momentum)

    def forward(self, x: torch.Tensor, s_in, rec: Recorder, src: str):
        tokens = x.shape[1]
        y_f = (x.float() * scale_tensor(s_in, x)).mean(dim=1, keepdim=True) \
            if surrogate_needed(self) else None
        if self.training:
            self.observer.update(y_f)
        s_out = self.observer.scale()
        m, e = spec.dyadic(float(s_in) / (tokens * s_out))
        exact = intops.requant(as_int(x).sum(dim=1, keepdim=True), m, e, self.bits)
        rec.record(self.layer_name, exact)
        rec.emit(Layer(self.layer_name, "mean_pool", [src],
                       {"m": int(m), "e": int(e), "out_bits": self.bits}))
        return finish(exact, y_f, s_out), np.float64(s_out)


def is_swin(model: nn.Module) -> bool:
    """True for a timm ``SwinTransformer`` (the models ``QuantSwin`` wraps)."""
    from timm.models.swin_transformer import SwinTransformer

    return isinstance(model, SwinTransformer)


def check_swin_supported(model: nn.Module) -> None:
    """Refuse Swin variants with parts the integer model does not implement (one line)."""
    from timm.layers import Mlp
    from timm.models.swin_transformer import PatchMerging, SwinTransformerBlock

    problems = []
    pe = model.patch_embed
    conv = pe.proj
    img, patch = _pair(pe.img_size), _pair(pe.patch_size)
    if img[0] != img[1] or patch[0] != patch[1] or img[0] % patch[0]:
        problems.append(f"image {img} / patch {patch} (square, divisible)")
    if (tuple(conv.kernel_size) != patch or tuple(conv.stride) != patch
            or _pair(conv.padding) != (0, 0) or conv.groups != 1):
        problems.append("a patch convolution other than kernel = stride = patch")
    if not _is_layernorm(getattr(pe, "norm", None)):
        problems.append("patch embedding without an affine LayerNorm")
    if getattr(model.head, "global_pool", None) is None or \
            getattr(model.head.global_pool, "pool_type", "") != "avg":
        problems.append("a head other than average pooling")
    if not isinstance(getattr(model.head, "fc", None), nn.Linear):
        problems.append("no linear classification head (num_classes=0?)")
    if not _is_layernorm(model.norm):
        problems.append("no final LayerNorm")
    for stage in model.layers:
        ds = stage.downsample
        if not _is_identity(ds) and (type(ds) is not PatchMerging or not _is_layernorm(ds.norm)):
            problems.append(f"downsample {type(ds).__name__} (only PatchMerging)")
        for blk in stage.blocks:
            if type(blk) is not SwinTransformerBlock:
                problems.append(f"block type {type(blk).__name__}")
                continue
            (h, w), ws, sh = blk.input_resolution, blk.window_size, blk.shift_size
            if ws[0] != ws[1] or sh[0] != sh[1] or h % ws[0] or w % ws[1]:
                problems.append(f"windows {ws} that do not tile the {h}x{w} grid")
            if getattr(blk, "dynamic_mask", False):
                problems.append("dynamic_mask (strict_img_size=False)")
            if not (_is_layernorm(blk.norm1) and _is_layernorm(blk.norm2)):
                problems.append("norm layers other than affine LayerNorm")
            if type(blk.mlp) is not Mlp or type(blk.mlp.act) is not nn.GELU:
                problems.append("an MLP other than fc1 → GELU → fc2")
    if problems:
        raise IvitError(f"unsupported Swin features: {', '.join(dict.fromkeys(problems))}")


class QuantSwin(QuantNetwork):
    """I-ViT integer-only Swin Transformer whose forward returns the exact integer logits
    (the same interface as ``QuantViT``: ``forward``, ``real_logits``, ``trace``, ``export``)."""

    ARCH = "swin"

    def __init__(self, model: nn.Module, cfg: QuantConfig | None = None):
        super().__init__()
        check_swin_supported(model)
        cfg = cfg or QuantConfig()
        self.cfg = cfg
        pe = model.patch_embed
        self.img_size = int(_pair(pe.img_size)[0])
        self.in_chans = int(pe.proj.in_channels)
        self.num_classes = int(model.head.fc.out_features)
        self.window = int(model.layers[0].blocks[0].window_size[0])
        self.input = QuantInput(cfg)
        self.patch_embed = QuantPatchTokens(pe.proj, cfg)
        self.patch_norm = QuantLayerNorm("patch_embed.norm", pe.norm, _wide(cfg))
        grid = tuple(pe.grid_size)
        self.stages = nn.ModuleList()
        self.depths = []
        for i, stage in enumerate(model.layers):
            mods = nn.ModuleList()
            if not _is_identity(stage.downsample):
                mods.append(QuantPatchMerging(f"layers.{i}.downsample", stage.downsample, grid,
                                              cfg))
                grid = (grid[0] // 2, grid[1] // 2)
            for j, blk in enumerate(stage.blocks):
                mods.append(QuantSwinBlock(f"layers.{i}.blocks.{j}", blk, grid, cfg))
            self.depths.append(len(stage.blocks))
            self.stages.append(mods)
        self.norm = QuantLayerNorm("norm", model.norm, cfg)
        self.pool = QuantMeanPool("head.global_pool", cfg)
        self.head = QuantLinear("head.fc", model.head.fc, cfg, out="logits")
        self.input_cfg = input_config(model)

    def forward(self, images: torch.Tensor, rec: Recorder | None = None):
        rec = rec or Recorder()
        x, s = self.input(images)
        x, s = self.patch_embed(x, s, rec)
        x, s = self.patch_norm(x, s, rec, "patch_embed")
        src = "patch_embed.norm"
        for mods in self.stages:
            for mod in mods:
                x, s = mod(x, s, rec, src)
                src = (f"{mod.layer_name}.add2" if isinstance(mod, QuantSwinBlock)
                       else f"{mod.layer_name}.reduction")
        x, s = self.norm(x, s, rec, src)
        x, s = self.pool(x, s, rec, "norm")
        q, s = self.head(x, s, rec, "head.global_pool")
        return q.reshape(q.shape[0], -1), s

    def _shape_config(self, pe) -> dict:
        blk0 = self.stages[0][0]
        return {"depth": sum(self.depths), "depths": list(self.depths), "window": self.window,
                "heads": blk0.attn.heads, "mlp_hidden": int(blk0.fc1.weight.shape[0]),
                "tokens": pe.attrs.grid[0] * pe.attrs.grid[1]}


def quant_model(model: nn.Module, cfg: QuantConfig | None = None) -> nn.Module:
    """The I-ViT wrapper of a timm model: ``QuantSwin`` for a Swin, ``QuantViT`` otherwise
    (each refuses what it does not implement in one line)."""
    if is_swin(model):
        return QuantSwin(model, cfg)
    from .vit import QuantViT

    return QuantViT(model, cfg)


def check_model(model: nn.Module) -> None:
    """Refuse (one line) a timm model neither ``QuantSwin`` nor ``QuantViT`` implements."""
    if is_swin(model):
        check_swin_supported(model)
    else:
        from .vit import check_supported

        check_supported(model)
