"""The op table: one typed definition per layer kind, with the hooks of every level.

``REGISTRY`` maps each kind string to its ``OpDef`` (see ``base``); a layer reaches its own
through ``layer.op``. Adding a kind is one module here plus one kernel per backend.
"""

from . import attention, gelu, layernorm, linear, patch_embed, residual, shiftmax  # noqa: F401
from . import ibert_gelu, ibert_softmax, mean_pool, patch_merge, patch_tokens, window_pv, window_qk, window_shiftmax  # noqa: F401,E501
from .base import Engine, GemmShape, IntType, OpDef, ParamSpec, RtlParams, TensorType
from .registry import REGISTRY, op_for

__all__ = ["REGISTRY", "op_for", "Engine", "GemmShape", "IntType", "OpDef", "ParamSpec",
           "RtlParams", "TensorType"]
