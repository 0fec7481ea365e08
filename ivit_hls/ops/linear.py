"""``linear``: int8 GEMM + int32 bias, then a per-channel requant (or the raw accumulator)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import spec
from . import bounds
from .base import (GemmShape, IntType, OpDef, ParamSpec, RtlParams, TensorType, expect,
                   expect_shape)
from .common import ACC32, BIAS32, DYADIC_E, DYADIC_M, WEIGHT8, check_acc, gemm_cycles, weight_t
from .registry import register


@dataclass(frozen=True)
class LinearAttrs:
    #: output width after the requant; None keeps the int32 accumulator (a residual branch)
    out_bits: Optional[int]


@register
class Linear(OpDef):
    """``acc = x·Wᵀ + bias`` (int32); ``requant(acc, m_c, e_c, out_bits)`` or raw ``acc``."""

    kind = "linear"
    Attrs = LinearAttrs
    unit = "array"

    def params(self, attrs):
        p = {"weight": ParamSpec(WEIGHT8, "(out, in)"), "bias": ParamSpec(BIAS32, "(out,)")}
        if attrs.out_bits is not None:
            p.update(m=ParamSpec(DYADIC_M, "(out,)"), e=ParamSpec(DYADIC_E, "(out,)"))
        return p

    def output(self, layer, ins):
        (x,) = ins
        w = np.asarray(layer.params["weight"])
        expect(layer, w.ndim == 2, f"weight must be 2-D, has shape {w.shape}")
        out_dim, in_dim = w.shape
        expect(layer, len(x.shape) == 2 and x.shape[-1] == in_dim,
               f"weight expects {in_dim} input channels, input is {x.shape}")
        for key in ("bias", "m", "e"):
            if key in layer.params:
                expect_shape(layer, key, layer.params[key], (out_dim,))
        bits = layer.attrs.out_bits
        return TensorType((x.shape[0], out_dim), ACC32 if bits is None else IntType(bits))

    def gemm(self, layer, ins):
        out_dim, in_dim = np.asarray(layer.params["weight"]).shape
        return GemmShape(ins[0].shape[0], out_dim, in_dim)

    def golden(self, layer, x):
        p = layer.params
        acc = spec.int_matmul(x, weight_t(layer))
        acc += p["bias"]
        check_acc(layer, acc)
        bits = layer.attrs.out_bits
        return acc if bits is None else spec.requant(acc, p["m"], p["e"], bits)

    def bounds(self, layer, in_bounds, ins, proof):
        p = layer.params
        acc = bounds.gemm_acc(p["weight"], p["bias"], in_bounds[0])
        proof.add(layer, "int32 accumulator", acc, bounds.INT32)
        if layer.attrs.out_bits is None:
            return acc
        bounds.requant(proof, layer, acc, p["m"], p["e"])
        return IntType(layer.attrs.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return gemm_cycles(self.gemm(layer, ins), engine)

    def hls(self, layer, ins, out, ctx):
        p = layer.params
        arrays = [("bias", BIAS32, p["bias"])]
        if layer.attrs.out_bits is not None:
            arrays += [("m", DYADIC_M, p["m"]), ("e", DYADIC_E, p["e"])]
        raw = layer.attrs.out_bits is None
        return ctx.layer("linear_raw" if raw else "linear", ins, out,
                         dims={"ROWS": out.shape[0], "IN": ins[0].shape[1],
                               "OUT": out.shape[1]},
                         consts={} if raw else {"OUT_BITS": layer.attrs.out_bits},
                         arrays=arrays, weight=np.asarray(p["weight"]).T)

    def rtl(self, layer, ins, out):
        p = layer.params
        raw = layer.attrs.out_bits is None
        arrays = {"bias": (p["bias"], BIAS32)}
        if not raw:
            arrays.update(m=(p["m"], DYADIC_M), e=(p["e"], DYADIC_E))
        return RtlParams(scalars={"OUT_BITS": 32 if raw else layer.attrs.out_bits},
                         arrays=arrays, unit="ivit_systolic",
                         unit_params={"A_W": ins[0].dtype.bits, "OUT_W": out.dtype.bits})

    def engine(self, layer, ins, ctx):
        x, (a, p) = ins[0], (layer.attrs, layer.params)
        w = np.asarray(p["weight"], dtype=np.int64)
        raw = a.out_bits is None
        out = ctx.new(layer.name, x.rows, w.shape[0])
        # a raw layer (the head) keeps its int32 accumulators: requant by 2^30 >> 30
        ctx.gemm(layer.name, x, out, k=w.shape[1], n_cols=w.shape[0],
                 sat=32 if raw else a.out_bits, mode=ctx.B_DDR, weight=w, bias=p["bias"],
                 m=(1 << 30) if raw else p["m"], e=30 if raw else p["e"])
        return out
