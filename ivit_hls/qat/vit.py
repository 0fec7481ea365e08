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


def _is_identity(module) -> bool:
    return module is None or isinstance(module, nn.Identity)


def _is_layernorm(module) -> bool:
    """A plain affine LayerNorm over the last axis (what I-LayerNorm implements)."""
    return (isinstance(module, nn.LayerNorm) and module.weight is not None
            and module.bias is not None and len(module.normalized_shape) == 1)


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _block_problems(blk: nn.Module) -> list[str]:
    """What one encoder block has beyond LN → MHSA → add, LN → fc1 → GELU → fc2 → add."""
    from timm.layers import Mlp
    from timm.models.vision_transformer import Attention, Block

    if type(blk) is not Block:  # ResPostBlock, ParallelScalingBlock, ... order ops differently
        return [f"block type {type(blk).__name__} (only timm's Block)"]
    problems = []
    if not (_is_layernorm(blk.norm1) and _is_layernorm(blk.norm2)):
        problems.append(f"norm layer {type(blk.norm1).__name__} (only affine LayerNorm)")
    if not (_is_identity(getattr(blk, "ls1", None)) and _is_identity(getattr(blk, "ls2", None))):
        problems.append("layer scale (init_values)")
    attn = blk.attn
    if type(attn) is not Attention:
        problems.append(f"attention type {type(attn).__name__} (only timm's Attention)")
    else:
        head_dim = attn.qkv.out_features // (3 * attn.num_heads)
        if not (_is_identity(getattr(attn, "q_norm", None))
                and _is_identity(getattr(attn, "k_norm", None))):
            problems.append("qk-norm")
        if not _is_identity(getattr(attn, "norm", None)):
            problems.append("scale_attn_norm")
        if abs(float(getattr(attn, "scale", head_dim ** -0.5)) - head_dim ** -0.5) > 1e-12:
            problems.append("an attention scale other than head_dim^-0.5")
    mlp = blk.mlp
    if type(mlp) is not Mlp or not isinstance(getattr(mlp, "fc1", None), nn.Linear):
        problems.append(f"MLP type {type(mlp).__name__} (only timm's Mlp with linear fc1/fc2)")
    else:
        if type(mlp.act) is not nn.GELU:
            problems.append(f"activation {type(mlp.act).__name__} (ShiftGELU implements GELU only)")
        if not _is_identity(getattr(mlp, "norm", None)):
            problems.append("scale_mlp_norm")
    return problems


def check_supported(model: nn.Module) -> None:
    """Refuse timm models with parts the integer model does not implement (one clear line).

    The wrapper implements exactly: a square image cut by a square non-overlapping patch
    convolution, a class token with a learned position embedding over every token, encoder
    blocks LN → MHSA → add, LN → fc1 → GELU → fc2 → add, a final LayerNorm on the class
    token and a linear head. Every other timm ``VisionTransformer`` option is refused.
    """
    from timm.layers import PatchEmbed

    problems = []
    if getattr(model, "dist_token", None) is not None:
        problems.append("distillation token")
    if getattr(model, "reg_token", None) is not None:
        problems.append("register tokens")
    if getattr(model, "global_pool", "token") != "token":
        problems.append(f"global_pool={model.global_pool!r}")
    if getattr(model, "attn_pool", None) is not None:
        problems.append("attention pooling")
    if not _is_identity(getattr(model, "fc_norm", None)):
        problems.append("fc_norm")
    if getattr(model, "cls_token", None) is None or getattr(model, "no_embed_class", False):
        problems.append("no class token in the position embedding")
    if getattr(model, "pos_embed", None) is None:
        problems.append("no learned position embedding")
    if getattr(model, "dynamic_img_size", False):
        problems.append("dynamic_img_size")
    if not _is_identity(getattr(model, "norm_pre", None)):
        problems.append("pre_norm")
    if not _is_layernorm(getattr(model, "norm", None)):
        problems.append("no final LayerNorm (final_norm=False or another norm layer)")
    if not isinstance(getattr(model, "head", None), nn.Linear):
        problems.append("no linear classification head (num_classes=0?)")
    pe = getattr(model, "patch_embed", None)
    if type(pe) is not PatchEmbed or not isinstance(getattr(pe, "proj", None), nn.Conv2d):
        problems.append(f"patch embedding {type(pe).__name__} (only timm's PatchEmbed)")
    else:
        img, patch = _pair(pe.img_size), _pair(pe.patch_size)
        conv = pe.proj
        if img[0] != img[1] or patch[0] != patch[1]:
            problems.append(f"non-square image {img} or patch {patch}")
        elif img[0] % patch[0]:
            problems.append(f"img_size {img[0]} not divisible by the patch size {patch[0]}")
        if (tuple(conv.kernel_size) != patch or tuple(conv.stride) != patch
                or _pair(conv.padding) != (0, 0) or conv.groups != 1
                or _pair(conv.dilation) != (1, 1)):
            problems.append("a patch convolution other than kernel = stride = patch")
        if getattr(pe, "dynamic_img_pad", False):
            problems.append("dynamic_img_pad")
        if not getattr(pe, "flatten", True) or not _is_identity(getattr(pe, "norm", None)):
            problems.append("a norm or layout change in the patch embedding")
    blocks = list(getattr(model, "blocks", []))
    if not blocks:
        problems.append("no encoder blocks (depth 0)")
    for blk in blocks:
        found = _block_problems(blk)
        if found:
            problems.extend(found)
            break
    if problems:
        raise IvitError(f"unsupported ViT features: {', '.join(dict.fromkeys(problems))}")


class QuantNetwork(nn.Module):
    """What the integer-only networks share: ``real_logits``, ``trace`` and ``export``.

    A subclass sets ``ARCH``, builds its modules (``input``, ``head`` and the rest), writes
    ``forward(images, rec)`` and gives its shape entries of the model config
    (``_shape_config``).
    """

    ARCH = ""

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
        return {
            "name": name, "arch": self.ARCH, "img_size": self.img_size,
            "in_chans": self.in_chans, "patch": pe.attrs.patch, "dim": pe.attrs.dim,
            **self._shape_config(pe),
            "num_classes": self.num_classes,
            "bits": self.cfg.as_dict(),
            "input": {"bits": self.cfg.act_bits, "scale": float(self.input.observer.scale()),
                      **self.input_cfg},
        }

    def _shape_config(self, pe) -> dict:
        raise NotImplementedError


class QuantViT(QuantNetwork):
    """I-ViT integer-only ViT whose forward returns the exact integer logits.

    ``forward(images)`` returns ``(q, s)``: integer logits (float64 with a surrogate gradient)
    and their common per-class scale; ``real_logits`` multiplies them out for a float loss.
    """

    ARCH = "vit"

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

    def _shape_config(self, pe) -> dict:
        blk0 = self.blocks[0] if len(self.blocks) else None
        return {"depth": len(self.blocks), "heads": blk0.attn.heads if blk0 else 0,
                "mlp_hidden": int(blk0.fc1.weight.shape[0]) if blk0 else 0,
                "tokens": 1 + pe.attrs.grid[0] * pe.attrs.grid[1]}
