"""In-memory integer model: an ordered list of typed layers over named integer tensors.

The graph is a straight line of layers; each layer names its input tensors (earlier layer
names, or ``"image"``) and produces the tensor named after itself. What each kind holds (its
typed attrs, its integer params, its output) is defined once, in the op table
(``ivit_hls.ops``); ``layer.op`` is the layer's definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError
from ..ops import REGISTRY, op_for
from ..ops.base import IntType, TensorType

#: The layer kinds this version understands (the op table's keys).
LAYER_KINDS = tuple(sorted(REGISTRY))


@dataclass
class Layer:
    """One integer layer: its kind, input tensor names, typed attrs and integer params.

    ``attrs`` may be given as a dict (as in the file); it is turned into the kind's frozen
    attrs dataclass, checking names and types (``FormatError`` otherwise).
    """

    name: str
    kind: str
    inputs: list[str]
    attrs: Any = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    #: derived data executors keep between runs (never saved; params are read-only by contract)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise FormatError(f"layer name must be a non-empty string, got {self.name!r}")
        op = op_for(self.kind)
        if isinstance(self.attrs, dict):
            self.attrs = op.parse(self.attrs, f"layer {self.name!r} ({self.kind})")
        elif not isinstance(self.attrs, op.Attrs):
            raise FormatError(f"layer {self.name!r}: attrs must be {op.Attrs.__name__}")
        if not isinstance(self.inputs, (list, tuple)) or not all(
                isinstance(s, str) for s in self.inputs):
            raise FormatError(f"layer {self.name!r}: inputs must be a list of tensor names")
        if len(self.inputs) != len(op.inputs):
            raise FormatError(f"layer {self.name!r} ({self.kind}) takes {len(op.inputs)} "
                              f"input(s) ({', '.join(op.inputs)}), got {len(self.inputs)}")
        self.inputs = list(self.inputs)

    @property
    def op(self):
        """The op-table definition of this layer's kind."""
        return REGISTRY[self.kind]

    def validate(self) -> None:
        """Raise ``FormatError`` if a parameter is missing, extra, non-integer or too wide."""
        self.op.check_params(self)


#: Keys of the model config and their types (checked by ``IntegerModel.validate``).
_CONFIG_INTS = ("img_size", "in_chans", "patch", "dim", "depth", "heads", "mlp_hidden",
                "tokens", "num_classes")


def _check_config(cfg) -> None:
    if not isinstance(cfg, dict) or not cfg:
        raise FormatError("model config must be a non-empty mapping")
    for key in _CONFIG_INTS:
        v = cfg.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise FormatError(f"model config {key!r} must be a non-negative integer, got {v!r}")
    for key in ("img_size", "in_chans", "patch", "dim", "num_classes"):
        if cfg[key] < 1:
            raise FormatError(f"model config {key!r} must be positive")
    if not isinstance(cfg.get("name"), str):
        raise FormatError("model config 'name' must be a string")
    inp = cfg.get("input")
    if not isinstance(inp, dict):
        raise FormatError("model config 'input' must be a mapping")
    bits, scale = inp.get("bits"), inp.get("scale")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
        raise FormatError(f"model input bits must be an integer in 2..16, got {bits!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (
            math.isfinite(scale) and scale > 0):
        raise FormatError(f"model input scale must be a positive number, got {scale!r}")
    for key in ("mean", "std"):
        v = inp.get(key)
        if not (isinstance(v, list) and len(v) == cfg["in_chans"]
                and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                        and math.isfinite(x) for x in v)):
            raise FormatError(f"model input {key!r} must be {cfg['in_chans']} numbers, got {v!r}")
    if any(s <= 0 for s in inp["std"]):
        raise FormatError("model input std must be positive")


@dataclass
class IntegerModel:
    """An integer-only ViT: its config (shapes, widths, input quantization) and its layers."""

    config: dict[str, Any]
    layers: list[Layer]

    def image_type(self) -> TensorType:
        """The quantized input image ``(C, H, W)``."""
        cfg = self.config
        return TensorType((cfg["in_chans"], cfg["img_size"], cfg["img_size"]),
                          IntType(cfg["input"]["bits"]))

    def tensor_types(self) -> dict[str, TensorType]:
        """Every tensor's shape and element type (``"image"`` first), from the op table;
        raises ``FormatError`` at the first layer whose inputs do not fit it."""
        types = {"image": self.image_type()}
        for layer in self.layers:
            for src in layer.inputs:
                if src not in types:
                    raise FormatError(f"layer {layer.name!r} reads unknown tensor {src!r}")
            if layer.name in types:
                raise FormatError(f"duplicate layer name {layer.name!r}")
            layer.validate()
            types[layer.name] = layer.op.output(layer, [types[s] for s in layer.inputs])
        return types

    def validate(self) -> None:
        """Check the config, every layer, the graph, and that the output is one row of logits."""
        _check_config(self.config)
        if not self.layers:
            raise FormatError("the model has no layers")
        types = self.tensor_types()
        out = types[self.output]
        if out.size != self.config["num_classes"]:
            raise FormatError(f"the last layer {self.output!r} produces {out.shape}, not "
                              f"{self.config['num_classes']} logits")

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
            specs = layer.op.params(layer.attrs)
            for key, arr in layer.params.items():
                bits = specs[key].dtype.bits if key in specs else 64
                total += int(np.asarray(arr).size) * ((bits + 7) // 8)
        return total
