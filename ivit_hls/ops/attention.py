"""``qk_matmul`` and ``pv_matmul``: the two attention GEMMs, head by head, one scalar requant."""

from __future__ import annotations

from dataclasses import dataclass

from .. import spec
from . import bounds
from .base import GemmShape, IntType, OpDef, RtlParams, TensorType, expect
from .attention_cost import copy_v_lanes, copy_v_steps
from .common import DYADIC_E, DYADIC_M, VEC_DEPTH, onchip_gemm_cycles, slices_of, split_heads
from .registry import register


@dataclass(frozen=True)
class AttentionMatmulAttrs:
    heads: int
    head_dim: int
    m: int
    e: int
    out_bits: int


def _check_qkv(layer, qkv) -> int:
    a = layer.attrs
    expect(layer, a.heads >= 1 and a.head_dim >= 1, "heads and head_dim must be positive")
    expect(layer, len(qkv.shape) == 2 and qkv.shape[1] == 3 * a.heads * a.head_dim,
           f"qkv {qkv.shape} is not (T, 3*{a.heads}*{a.head_dim})")
    expect(layer, abs(a.m) < 1 << 31, "dyadic multiplier m must fit 32 bits")
    return qkv.shape[0]


def _rtl(layer, a_bits: int) -> RtlParams:
    a = layer.attrs
    return RtlParams(scalars={"M": a.m, "E": a.e, "OUT_BITS": a.out_bits, "HEADS": a.heads,
                              "HEAD_DIM": a.head_dim},
                     unit="ivit_systolic", unit_params={"A_W": a_bits, "OUT_W": a.out_bits})


@register
class QKMatmul(OpDef):
    """``scores[h] = requant(q_h·k_hᵀ, m, e, out_bits)``: (T, 3·H·hd) → (H, T, T)."""

    kind = "qk_matmul"
    per_image = True
    Attrs = AttentionMatmulAttrs
    inputs = ("qkv",)
    unit = "array"

    def output(self, layer, ins):
        t = _check_qkv(layer, ins[0])
        return TensorType((layer.attrs.heads, t, t), IntType(layer.attrs.out_bits))

    def gemm(self, layer, ins):
        t = ins[0].shape[0]
        return GemmShape(t, t, layer.attrs.head_dim, layer.attrs.heads)

    def golden(self, layer, qkv):
        a = layer.attrs
        q = split_heads(qkv, 0, a.heads, a.head_dim)
        k = split_heads(qkv, 1, a.heads, a.head_dim)
        return spec.requant(spec.int_matmul(q, k.transpose(0, 1, 3, 2)), a.m, a.e, a.out_bits)

    def bounds(self, layer, in_bounds, ins, proof):
        acc = layer.attrs.head_dim * in_bounds[0] * in_bounds[0]
        proof.add(layer, "int32 accumulator", acc, bounds.INT32)
        bounds.requant(proof, layer, acc, layer.attrs.m, layer.attrs.e)
        return IntType(layer.attrs.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        return onchip_gemm_cycles(self.gemm(layer, ins), engine)

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        return ctx.layer("qk_matmul", ins, out,
                         dims={"T": ins[0].shape[0], "H": a.heads, "HD": a.head_dim},
                         consts={"M": (DYADIC_M, a.m), "E": (DYADIC_E, a.e),
                                 "OUT_BITS": a.out_bits})

    def rtl(self, layer, ins, out):
        return _rtl(layer, ins[0].dtype.bits)

    def engine(self, layer, ins, ctx):
        # one GEMM per head against K^T read from the buffer; each head's rows padded to N
        qkv, a = ins[0], layer.attrs
        t = qkv.rows
        rg = ctx.cdiv(t, ctx.n)
        out = ctx.new(layer.name, a.heads * rg * ctx.n, t)
        for hh in range(a.heads):
            ctx.gemm(f"{layer.name}[{hh}]", qkv, out, k=a.head_dim, n_cols=t,
                     sat=a.out_bits, mode=ctx.B_KT, a_choff=hh * a.head_dim, b=qkv,
                     b_choff=(a.heads + hh) * a.head_dim,
                     o_base=out.base + hh * rg * out.stride, m=a.m, e=a.e, rows=t)
        out.info_head_rows = t
        return out

@register
class PVMatmul(OpDef):
    """``out[:, h] = requant(P_h·v_h, m, e, out_bits)``: probabilities (H, T, T) and qkv →
    (T, H·hd), heads concatenated head-major."""

    kind = "pv_matmul"
    per_image = True
    Attrs = AttentionMatmulAttrs
    inputs = ("probs", "qkv")
    unit = "array"

    def output(self, layer, ins):
        probs, qkv = ins
        t = _check_qkv(layer, qkv)
        expect(layer, tuple(probs.shape) == (layer.attrs.heads, t, t),
               f"probabilities {probs.shape} are not ({layer.attrs.heads}, {t}, {t})")
        return TensorType((t, layer.attrs.heads * layer.attrs.head_dim),
                          IntType(layer.attrs.out_bits))

    def gemm(self, layer, ins):
        t = ins[1].shape[0]
        return GemmShape(t, layer.attrs.head_dim, t, layer.attrs.heads)

    def golden(self, layer, probs, qkv):
        a = layer.attrs
        v = split_heads(qkv, 2, a.heads, a.head_dim)
        out = spec.requant(spec.int_matmul(probs, v), a.m, a.e, a.out_bits)
        b, h, t, hd = out.shape
        return out.transpose(0, 2, 1, 3).reshape(b, t, h * hd)

    def bounds(self, layer, in_bounds, ins, proof):
        # a row of P sums to at most the Shiftmax row-sum bound, whatever the head dimension
        row_sum = proof.row_sums.get(layer.inputs[0], in_bounds[0] * ins[0].shape[-1])
        acc = row_sum * in_bounds[1]
        proof.add(layer, "int32 accumulator (row sum of P x max|v|)", acc, bounds.INT32)
        bounds.requant(proof, layer, acc, layer.attrs.m, layer.attrs.e)
        return IntType(layer.attrs.out_bits).magnitude

    def cycles(self, layer, ins, out, engine):
        # per head: the copy of v into the local array (units_gemm.h pv_copy_cycles), then the
        # GEMM; probabilities wider than 8 bits enter the 8-bit PEs as two byte slices
        shape, hd = self.gemm(layer, ins), layer.attrs.head_dim
        copy = copy_v_steps(shape.k, hd, copy_v_lanes(engine.rows, hd)) + VEC_DEPTH
        return shape.repeats * copy + onchip_gemm_cycles(shape, engine, slices_of(ins[0].dtype))

    def hls(self, layer, ins, out, ctx):
        a = layer.attrs
        return ctx.layer("pv_matmul", ins, out,
                         dims={"T": ins[1].shape[0], "H": a.heads, "HD": a.head_dim,
                               "SLICES": slices_of(ins[0].dtype)},
                         consts={"M": (DYADIC_M, a.m), "E": (DYADIC_E, a.e),
                                 "OUT_BITS": a.out_bits})

    def rtl(self, layer, ins, out):
        # unsigned probabilities enter the signed array one bit wider
        p = ins[0].dtype
        return _rtl(layer, p.bits + (0 if p.signed else 1))

    def engine(self, layer, ins, ctx):
        prob, qkv = ins
        a, t = layer.attrs, qkv.rows
        if a.head_dim % ctx.n:
            raise ctx.refuse(f"head_dim {a.head_dim} is not a multiple of N = {ctx.n}")
        rg = ctx.cdiv(t, ctx.n)
        out = ctx.new(layer.name, t, a.heads * a.head_dim)
        for hh in range(a.heads):
            pa = ctx.view(prob.name, t, t, prob.base + hh * rg * prob.stride)
            ctx.gemm(f"{layer.name}[{hh}]", pa, out, k=t, n_cols=a.head_dim, sat=a.out_bits,
                     mode=ctx.B_V, b=qkv, b_choff=(2 * a.heads + hh) * a.head_dim,
                     o_cw=hh * a.head_dim // ctx.n, m=a.m, e=a.e)
        return out
