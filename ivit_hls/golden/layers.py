"""One numpy function per layer kind: the golden semantics of the integer model's layers.

Every function takes the layer and its input tensors (leading batch axis) and returns the
integer output tensor. Shapes: tokens ``(B, T, C)``, attention ``(B, H, T, T)``.
"""

from __future__ import annotations

import numpy as np

from .. import spec
from ..ir.model import Layer

_INT32_LIMIT = 1 << 31


def _check_acc(layer: Layer, acc: np.ndarray) -> np.ndarray:
    peak = int(np.abs(acc).max(initial=0))
    if peak >= _INT32_LIMIT:
        raise OverflowError(f"layer {layer.name}: accumulator {peak} does not fit int32")
    return acc


def patches_of(image: np.ndarray, patch: int) -> np.ndarray:
    """(B, C, H, W) → (B, gh·gw, C·p·p), each patch flattened in (c, kh, kw) order."""
    b, c, h, w = image.shape
    gh, gw = h // patch, w // patch
    x = image.reshape(b, c, gh, patch, gw, patch).transpose(0, 2, 4, 1, 3, 5)
    return x.reshape(b, gh * gw, c * patch * patch)


def _weight_t(layer: Layer) -> spec.IntMatrix:
    """The layer's weight, transposed for ``x @ Wᵀ``, converted once per layer object."""
    cached = layer.cache.get("weight_t")
    if cached is None:
        cached = layer.cache["weight_t"] = spec.IntMatrix(layer.params["weight"].T)
    return cached


def patch_embed(layer: Layer, image: np.ndarray) -> np.ndarray:
    p = layer.params
    acc = _check_acc(layer, spec.int_matmul(patches_of(image, layer.attrs["patch"]),
                                            _weight_t(layer)) + p["bias"])
    tokens = spec.saturate(spec.requant(acc, p["m"], p["e"]) + p["pos"], layer.attrs["out_bits"])
    cls = np.broadcast_to(p["cls"].astype(np.int64), (image.shape[0], 1, p["cls"].shape[-1]))
    return np.concatenate([cls, tokens], axis=1)


def layernorm(layer: Layer, x: np.ndarray) -> np.ndarray:
    if layer.attrs["tokens"] == "cls":
        x = x[:, :1, :]
    p = layer.params
    return spec.ilayernorm(x, p["m"], p["e"], p["bias"], layer.attrs["out_bits"])


def linear(layer: Layer, x: np.ndarray) -> np.ndarray:
    p = layer.params
    acc = _check_acc(layer, spec.int_matmul(x, _weight_t(layer)) + p["bias"])
    bits = layer.attrs["out_bits"]
    return acc if bits is None else spec.requant(acc, p["m"], p["e"], bits)


def split_heads(x: np.ndarray, part: int, heads: int, head_dim: int) -> np.ndarray:
    """Slice q (part 0), k (1) or v (2) from a (B, T, 3·H·hd) tensor as (B, H, T, hd)."""
    b, t, _ = x.shape
    width = heads * head_dim
    sl = x[:, :, part * width:(part + 1) * width]
    return sl.reshape(b, t, heads, head_dim).transpose(0, 2, 1, 3)


def qk_matmul(layer: Layer, qkv: np.ndarray) -> np.ndarray:
    a = layer.attrs
    q = split_heads(qkv, 0, a["heads"], a["head_dim"])
    k = split_heads(qkv, 1, a["heads"], a["head_dim"])
    acc = spec.int_matmul(q, k.transpose(0, 1, 3, 2))
    return spec.requant(acc, a["m"], a["e"], a["out_bits"])


# Inputs narrower than this many distinct values go through a table of the spec function
# (exact by construction, and several times faster than the int64 arithmetic per element).
_LUT_LIMIT = 1 << 12


def shiftmax(layer: Layer, scores: np.ndarray) -> np.ndarray:
    a = layer.attrs
    d = scores - scores.max(axis=-1, keepdims=True)
    lo = int(d.min(initial=0))
    if -lo >= _LUT_LIMIT:
        return spec.shiftmax(scores, a["k"], a["i0"], a["n"], a["out_bits"])
    table = spec.shift_exp(np.arange(lo, 1, dtype=np.int64) << a["k"], a["i0"], a["n"])
    return spec.shiftmax_normalize(table[d - lo], a["i0"], a["n"], a["out_bits"])


def pv_matmul(layer: Layer, probs: np.ndarray, qkv: np.ndarray) -> np.ndarray:
    a = layer.attrs
    v = split_heads(qkv, 2, a["heads"], a["head_dim"])
    out = spec.requant(spec.int_matmul(probs, v), a["m"], a["e"], a["out_bits"])
    b, h, t, hd = out.shape
    return out.transpose(0, 2, 1, 3).reshape(b, t, h * hd)


def gelu(layer: Layer, x: np.ndarray) -> np.ndarray:
    a = layer.attrs
    lo, hi = int(x.min(initial=0)), int(x.max(initial=0))
    if a["form"] != "symmetric" or hi - lo >= _LUT_LIMIT:
        core = spec.shift_gelu(x, a["k"], a["i0"], a["n"], a["form"])
        return spec.requant(core, a["m"], a["e"], a["out_bits"])
    # the symmetric form is elementwise: tabulate it over the input's range
    domain = np.arange(lo, hi + 1, dtype=np.int64)
    table = spec.requant(spec.shift_gelu(domain, a["k"], a["i0"], a["n"], "symmetric"),
                         a["m"], a["e"], a["out_bits"])
    return table[x - lo]


def residual_add(layer: Layer, branch: np.ndarray, residual: np.ndarray) -> np.ndarray:
    a, p = layer.attrs, layer.params
    return spec.residual_add(branch, p["m_a"], p["e_a"], residual, a["m_b"], a["e_b"],
                             a["out_bits"])


LAYER_FUNCTIONS = {
    "patch_embed": patch_embed, "layernorm": layernorm, "linear": linear,
    "qk_matmul": qk_matmul, "shiftmax": shiftmax, "pv_matmul": pv_matmul,
    "gelu": gelu, "residual_add": residual_add,
}
