"""The I-ViT quantized Vision Transformer built from a timm ``VisionTransformer``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import IvitError
from ..ir.model import IntegerModel
from ..preprocess import input_config
from .base import QuantConfig, QuantModule, Recorder
from .layers import QuantInput, QuantLinear, QuantPatchEmbed, QuantResidual
from .nonlinear import QuantAttention, QuantGELU, QuantLayerNorm


class QuantBlock(QuantModule):
    """One encoder block: LN → attention → add, LN → fc1 → ShiftGELU → fc2 → add."""

    def __init__(self, name: str, block: nn.Module, cfg: QuantConfig):
        super().__init__(name)
        self.norm1 = QuantLayerNorm(f"{name}.norm1", block.norm1, cfg)
        self.attn = QuantAttention(f"{name}.attn", block.attn, cfg)
        self.add1 = QuantResidual(f"{name}.add1", cfg)
        self.norm2 = QuantLayerNorm(f"{name}.norm2", block.norm2, cfg)
        self.fc1 = QuantLinear(f"{name}.mlp.fc1", block.mlp.fc1, cfg, out="act")
        self.gelu = QuantGELU(f"{name}.mlp.gelu", cfg)
        self.fc2 = QuantLinear(f"{name}.mlp.fc2", block.mlp.fc2, cfg, out="acc")
        self.add2 = QuantResidual(f"{name}.add2", cfg)

    def forward(self, x, s, rec: Recorder, src: str):
        n = self.layer_name
        h, sh = self.norm1(x, s, rec, src)
        a, sa = self.attn(h, sh, rec, f"{n}.norm1")
        x1, s1 = self.add1(a, sa, x, s, rec, [f"{n}.attn.proj", src])
        h, sh = self.norm2(x1, s1, rec, f"{n}.add1")
        h, sh = self.fc1(h, sh, rec, f"{n}.norm2")
        h, sh = self.gelu(h, sh, rec, f"{n}.mlp.fc1")
        f, sf = self.fc2(h, sh, rec, f"{n}.mlp.gelu")
        return self.add2(f, sf, x1, s1, rec, [f"{n}.mlp.fc2", f"{n}.add1"])


def check_supported(model: nn.Module) -> None:
    """Refuse timm models with parts the integer model does not implement (one clear line)."""
    problems = []
    if getattr(model, "dist_token", None) is not None:
        problems.append("distillation token")
    if getattr(model, "reg_token", None) is not None:
        problems.append("register tokens")
    if getattr(model, "global_pool", "token") != "token":
        problems.append(f"global_pool={model.global_pool!r}")
    if not isinstance(getattr(model, "fc_norm", nn.Identity()), nn.Identity):
        problems.append("fc_norm")
    if getattr(model, "cls_token", None) is None or getattr(model, "no_embed_class", False):
        problems.append("no class token in the position embedding")
    for blk in getattr(model, "blocks", []):
        if not isinstance(getattr(blk, "ls1", nn.Identity()), nn.Identity):
            problems.append("layer scale")
        if not isinstance(getattr(blk.attn, "q_norm", nn.Identity()), nn.Identity):
            problems.append("qk-norm")
        break
    if problems:
        raise IvitError(f"unsupported ViT features: {', '.join(problems)}")


class QuantViT(nn.Module):
    """I-ViT integer-only ViT whose forward returns the exact integer logits.

    ``forward(images)`` returns ``(q, s)``: integer logits (float64 with a surrogate gradient)
    and their common per-class scale; ``real_logits`` multiplies them out for a float loss.
    """

    def __init__(self, model: nn.Module, cfg: QuantConfig | None = None):
        super().__init__()
        check_supported(model)
        cfg = cfg or QuantConfig()
        self.cfg = cfg
        self.img_size = int(model.patch_embed.img_size[0])
        self.in_chans = int(model.patch_embed.proj.in_channels)
        self.num_classes = int(model.head.out_features)
        self.input = QuantInput(cfg)
        self.patch_embed = QuantPatchEmbed(model.patch_embed.proj, model.cls_token,
                                           model.pos_embed, cfg)
        self.blocks = nn.ModuleList(QuantBlock(f"blocks.{i}", b, cfg)
                                    for i, b in enumerate(model.blocks))
        self.norm = QuantLayerNorm("norm", model.norm, cfg, cls_only=True)
        self.head = QuantLinear("head", model.head, cfg, out="logits")
        self.input_cfg = input_config(model)

    def forward(self, images: torch.Tensor, rec: Recorder | None = None):
        rec = rec or Recorder()
        x, s = self.input(images)
        x, s = self.patch_embed(x, s, rec)
        src = "patch_embed"
        for blk in self.blocks:
            x, s = blk(x, s, rec, src)
            src = f"{blk.layer_name}.add2"
        x, s = self.norm(x, s, rec, src)
        q, s = self.head(x, s, rec, "norm")
        return q.reshape(q.shape[0], -1), s

    def real_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Dequantized logits (exact integers × common scale) with gradients, for a loss."""
        q, s = self(images)
        return q * float(np.asarray(s).max())

    @torch.no_grad()
    def trace(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        """Exact integer output of every layer, keyed like the golden executor's trace."""
        rec = Recorder(trace={})
        self(images, rec)
        return rec.trace

    @torch.no_grad()
    def export(self, name: str = "custom", images: torch.Tensor | None = None,
               trace: dict | None = None) -> IntegerModel:
        """Freeze into an ``IntegerModel`` with the constants this model's forward uses.

        The constants are recorded during one forward pass over ``images`` (a blank image if
        none); pass a dict as ``trace`` to also collect that pass's per-layer integers.
        """
        if self.training:
            raise IvitError("export needs eval mode (frozen activation ranges)")
        rec = Recorder(trace=trace, layers=[])
        if images is None:
            images = torch.zeros(1, self.in_chans, self.img_size, self.img_size,
                                 device=self.head.weight.device)
        self(images, rec)
        model = IntegerModel(self._config(name, rec.layers[0]), rec.layers)
        model.validate()
        return model

    def _config(self, name: str, pe) -> dict:
        blk0 = self.blocks[0] if len(self.blocks) else None
        return {
            "name": name, "arch": "vit", "img_size": self.img_size, "in_chans": self.in_chans,
            "patch": pe.attrs["patch"], "dim": pe.attrs["dim"], "depth": len(self.blocks),
            "heads": blk0.attn.heads if blk0 else 0,
            "mlp_hidden": int(blk0.fc1.weight.shape[0]) if blk0 else 0,
            "tokens": 1 + pe.attrs["grid"][0] * pe.attrs["grid"][1],
            "num_classes": self.num_classes,
            "bits": self.cfg.as_dict(),
            "input": {"bits": self.cfg.act_bits, "scale": float(self.input.observer.scale()),
                      **self.input_cfg},
        }
