"""In-memory integer model: an ordered list of typed layers over named integer tensors.

The graph is a straight line of layers; each layer names its input tensors (earlier layer
names, or ``"image"``) and produces the tensor named after itself. Scalars (shifts, ExpShift
constants, single multipliers) live in ``attrs``; per-channel arrays live in ``params``.

Layer kinds and what they hold (C = channels, T = tokens, H = heads):

``patch_embed``  inputs [image]. attrs: patch, in_chans, dim, grid, out_bits.
                 params: weight int8 (dim, in_chans·patch²), bias int32 (dim), m, e (dim),
                 cls int (dim) = class token + position 0, pos int (T-1, dim).
``layernorm``    inputs [x]. attrs: out_bits, tokens ("all" | "cls").
                 params: m, e (C), bias int64 (C).
``linear``       inputs [x]. attrs: out_bits (null keeps the int32 accumulator).
                 params: weight int8 (out, in), bias int32 (out), m, e (out) unless raw.
``qk_matmul``    inputs [qkv]. attrs: heads, head_dim, m, e, out_bits. Out (H, T, T).
``shiftmax``     inputs [scores]. attrs: k, i0, n, out_bits.
``pv_matmul``    inputs [probs, qkv]. attrs: heads, head_dim, m, e, out_bits. Out (T, H·hd).
``gelu``         inputs [x]. attrs: k, i0, n, form, m, e, out_bits.
``residual_add`` inputs [branch, residual]. attrs: m_b, e_b, out_bits. params: m_a, e_a (C).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError

LAYER_KINDS = {
    "patch_embed": ({"patch", "in_chans", "dim", "grid", "out_bits"},
                    {"weight", "bias", "m", "e", "cls", "pos"}),
    "layernorm": ({"out_bits", "tokens"}, {"m", "e", "bias"}),
    "linear": ({"out_bits"}, {"weight", "bias"}),
    "qk_matmul": ({"heads", "head_dim", "m", "e", "out_bits"}, set()),
    "shiftmax": ({"k", "i0", "n", "out_bits"}, set()),
    "pv_matmul": ({"heads", "head_dim", "m", "e", "out_bits"}, set()),
    "gelu": ({"k", "i0", "n", "form", "m", "e", "out_bits"}, set()),
    "residual_add": ({"m_b", "e_b", "out_bits"}, {"m_a", "e_a"}),
}


@dataclass
class Layer:
    """One integer layer: its kind, its input tensor names, scalar attrs and integer params."""

    name: str
    kind: str
    inputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    #: derived data executors keep between runs (never saved; params are read-only by contract)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def validate(self) -> None:
        """Raise ``FormatError`` if attrs or params required by the kind are missing."""
        if self.kind not in LAYER_KINDS:
            raise FormatError(f"layer {self.name!r}: unknown kind {self.kind!r}")
        need_attrs, need_params = LAYER_KINDS[self.kind]
        if self.kind == "linear" and self.attrs.get("out_bits") is not None:
            need_params = need_params | {"m", "e"}
        missing = sorted((need_attrs - set(self.attrs)) | (need_params - set(self.params)))
        if missing:
            raise FormatError(f"layer {self.name!r} ({self.kind}): missing {', '.join(missing)}")
        for key, arr in self.params.items():
            if not np.issubdtype(np.asarray(arr).dtype, np.integer):
                raise FormatError(f"layer {self.name!r}: parameter {key!r} is not integer")


@dataclass
class IntegerModel:
    """An integer-only ViT: its config (shapes, widths, input quantization) and its layers."""

    config: dict[str, Any]
    layers: list[Layer]

    def validate(self) -> None:
        """Check that every layer is well formed and only reads tensors produced before it."""
        known = {"image"}
        for layer in self.layers:
            layer.validate()
            for src in layer.inputs:
                if src not in known:
                    raise FormatError(f"layer {layer.name!r} reads unknown tensor {src!r}")
            if layer.name in known:
                raise FormatError(f"duplicate layer name {layer.name!r}")
            known.add(layer.name)

    @property
    def output(self) -> str:
        """Name of the tensor holding the integer logits."""
        return self.layers[-1].name

    def layer(self, name: str) -> Layer:
        """Look a layer up by name."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def param_bytes(self) -> int:
        """Bytes of integer parameters at their declared hardware widths."""
        total = 0
        for layer in self.layers:
            for key, arr in layer.params.items():
                total += int(np.asarray(arr).size) * _hw_bytes(layer, key)
        return total


def _hw_bytes(layer: Layer, key: str) -> int:
    if key == "weight":
        return 1
    if key in ("cls", "pos"):
        return (int(layer.attrs["out_bits"]) + 7) // 8
    if key == "e" or key == "e_a":
        return 1
    if key == "bias" and layer.kind == "layernorm":
        return 8
    return 4
