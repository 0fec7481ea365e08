"""Helpers shared by the GPU executors: attribute access, the kind list, output widths."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import IvitError


def attr(layer, key: str) -> Any:
    """Read one layer attribute whether ``layer.attrs`` is a dict or a typed (frozen) dataclass."""
    attrs = layer.attrs
    if isinstance(attrs, Mapping):
        return attrs[key]
    return getattr(attrs, key)


def attr_or(layer, key: str, default: Any) -> Any:
    """Like ``attr`` but returns ``default`` when the layer has no such attribute."""
    try:
        return attr(layer, key)
    except (KeyError, AttributeError):
        return default


def model_kinds() -> set[str]:
    """Every layer kind the integer model can hold (the op registry once it exists)."""
    try:
        from ..ops import REGISTRY  # the typed op table
        return set(REGISTRY)
    except ImportError:
        from ..ir.model import LAYER_KINDS
        return set(LAYER_KINDS)


#: Kinds of the op table that no GPU backend lowers yet (the Swin family and the I-BERT
#: ablation ops); a model using one is refused with a one-line error. A test keeps this
#: list exact, so a new kind must be lowered or listed here.
NOT_PORTED = frozenset({"mean_pool", "patch_merge", "patch_tokens", "window_pv", "window_qk",
                        "window_shiftmax", "ibert_gelu", "ibert_softmax"})


def check_table(table: Mapping[str, Any], backend: str, model=None) -> None:
    """Raise ``IvitError`` if the model (or, without one, the op table) has a kind that
    ``table`` does not lower."""
    kinds = {layer.kind for layer in model.layers} if model is not None else model_kinds()
    missing = sorted(kinds - set(table))
    if missing:
        raise IvitError(f"{backend}: no GPU lowering for layer kind(s) {', '.join(missing)}")


#: Widest input each kind's kernels take, per input position (None: a raw int32 sum).
_INPUT_BITS = {"linear": (8,), "qk_matmul": (8,), "pv_matmul": ("probs", 8), "shiftmax": (8,),
               "gelu": (8,), "layernorm": (16,), "residual_add": (None, 16)}


def check_widths(model) -> None:
    """``IvitError`` if a tensor is wider than the GPU kernels' storage for it (int8 GEMM
    operands, int16 LayerNorm and residual inputs); the kernels would wrap it silently."""
    bits = {"image": int(model.config["input"]["bits"])}
    for layer in model.layers:
        for src, want in zip(layer.inputs, _INPUT_BITS.get(layer.kind, ())):
            have = bits.get(src)
            ok = (have is None) if want is None else (
                want == "probs" or (have is not None and have <= want))
            if not ok:
                raise IvitError(f"layer {layer.name!r}: input {src!r} has {have} bits, the GPU "
                                f"kernels take {want if want is not None else 'a raw sum'}")
        bits[layer.name] = None if layer.kind == "shiftmax" else attr_or(layer, "out_bits", None)
        if layer.kind == "patch_embed" and bits["image"] > 8:
            raise IvitError("the GPU executors take int8 images")


def out_dtype(bits) -> np.dtype:
    """Narrowest signed storage type for a layer output of ``bits`` (None: raw int32 sums)."""
    if bits is None:
        return np.dtype(np.int32)
    bits = int(bits)
    if bits <= 8:
        return np.dtype(np.int8)
    if bits <= 16:
        return np.dtype(np.int16)
    if bits <= 32:
        return np.dtype(np.int32)
    return np.dtype(np.int64)


def sat_bounds(bits) -> tuple[int, int]:
    """Inclusive signed range of ``bits`` (None: no saturation inside int64)."""
    if bits is None:
        return -(1 << 62), (1 << 62)
    return -(1 << (int(bits) - 1)), (1 << (int(bits) - 1)) - 1


def gelu_form(layer) -> str:
    """The ShiftGELU form a gelu layer asks for."""
    return str(attr_or(layer, "form", "symmetric"))


def exp_form(layer) -> str:
    """The ShiftExp form a shiftmax layer asks for (``"paper"``, the version-1 meaning, when
    the attr is absent)."""
    return str(attr_or(layer, "exp_form", "paper"))
