"""Lowering of each layer kind onto the engine's steps (GEMM, vector, constant tables)."""

from __future__ import annotations

import numpy as np

from ..errors import IvitError
from ..spec.gelu import gelu_recip
from .engine import (B_DDR, B_KT, B_V, BASE_WEIGHTS, C_E, C_HI, C_LO, C_M, I0_BITS, K_MAX,
                     N_MAX, OP_LOAD, V_GELU, V_LN, V_RES, V_SMAX, Tensor, _cdiv, pack_tensor)


def _check_unit(layer, k, i0, n):
    if not (0 <= k <= K_MAX and 1 <= i0 < (1 << I0_BITS) and 1 <= n <= N_MAX):
        raise IvitError(f"engine: {layer.name} constants k={k}, i0={i0}, n={n} exceed the "
                        f"engine's unit widths (k <= {K_MAX}, i0 < 2^{I0_BITS}, n <= {N_MAX})")



def lower_layer(bld, alloc, ly, ins, n) -> Tensor:
    """Emit the steps of layer ``ly`` (inputs ``ins`` in the buffer); return its output."""
    a, p = ly.attrs, ly.params
    kind = ly.kind
    if kind in ("linear", "patch_embed"):
        x = ins[0]
        w = p["weight"].astype(np.int64)
        raw = kind == "linear" and a.out_bits is None
        rows = x.rows
        acc_t = alloc.alloc(Tensor(ly.name, rows, w.shape[0], n))
        bld.gemm(ly.name, x, acc_t, k=w.shape[1], n_cols=w.shape[0],
                 sat=32 if (raw or kind == "patch_embed") else a.out_bits, mode=B_DDR,
                 weight=w, bias=p["bias"], m=(1 << 30) if raw else p["m"],
                 e=30 if raw else p["e"])
        if kind == "linear":
            return acc_t
        # patch embedding: tokens = sat(requant(acc) + pos); row 0 (class token) loaded after
        pos = np.zeros((rows, a.dim), dtype=np.int64)
        pos[1:] = p["pos"]
        pos_t = alloc.alloc(Tensor(ly.name + ".pos", rows, a.dim, n))
        off, _ = bld.put(pack_tensor(pos, pos_t, bld.cfg))
        bld.move(OP_LOAD, BASE_WEIGHTS, off, pos_t, rows, layer=ly.name, data=True)
        out = alloc.alloc(Tensor(ly.name, rows, a.dim, n))
        bld.const(C_M, 1 << 30, a.dim, ly.name)
        bld.const(C_E, 30, a.dim, ly.name)
        bld.vec(ly.name, V_RES, acc_t, out, rows, b=pos_t, m_b=1 << 30, e_b=30)
        cls_t = Tensor(ly.name + ".cls", 1, a.dim, n, base=out.base)
        off, _ = bld.put(pack_tensor(np.asarray(p["cls"])[None], cls_t, bld.cfg))
        bld.move(OP_LOAD, BASE_WEIGHTS, off, cls_t, 1, layer=ly.name, data=True)
        alloc.release(acc_t)
        alloc.release(pos_t)
        if a.out_bits != 16:
            raise IvitError(f"engine: {ly.name} needs a 16-bit token stream, not {a.out_bits}")
        return out
    if kind == "layernorm":
        x = ins[0]
        rows = 1 if a.tokens == "cls" else x.rows
        out = alloc.alloc(Tensor(ly.name, rows, x.chans, n))
        bias = p["bias"].astype(np.int64)
        bld.const(C_LO, bias & 0xFFFFFFFF, x.chans, ly.name)
        bld.const(C_HI, bias >> 32, x.chans, ly.name)
        bld.const(C_M, p["m"], x.chans, ly.name)
        bld.const(C_E, p["e"], x.chans, ly.name)
        bld.vec(ly.name, V_LN, x, out, rows, sat=a.out_bits)
        return out
    if kind == "qk_matmul":
        qkv = ins[0]
        h, t = a.heads, qkv.rows
        rg = _cdiv(t, n)
        out = alloc.alloc(Tensor(ly.name, h * rg * n, t, n))
        for hh in range(h):
            bld.gemm(f"{ly.name}[{hh}]", qkv, out, k=a.head_dim, n_cols=t, sat=a.out_bits,
                     mode=B_KT, a_choff=hh * a.head_dim, b=qkv,
                     b_choff=h * a.head_dim + hh * a.head_dim,
                     o_base=out.base + hh * rg * out.stride, m=a.m, e=a.e, rows=t)
        out.info_head_rows = t
        return out
    if kind == "shiftmax":
        s = ins[0]
        _check_unit(ly, a.k, a.i0, a.n)
        if a.exp_form != bld.cfg.exp_form:
            raise IvitError(f"engine: {ly.name} uses the {a.exp_form} ShiftExp, the engine is "
                            f"built for {bld.cfg.exp_form} (EngineConfig.exp_form)")
        t = s.chans
        rg = _cdiv(t, n)
        heads = s.rows // (rg * n)
        out = alloc.alloc(Tensor(ly.name, s.rows, t, n))
        for hh in range(heads):
            base = hh * rg * s.stride
            bld.vec(f"{ly.name}[{hh}]", V_SMAX, s, out, t, a_base=s.base + base,
                    o_base=out.base + base, k=a.k, i0=a.i0, nn=a.n)
        out.info_head_rows = t
        return out
    if kind == "pv_matmul":
        prob, qkv = ins
        h, t = a.heads, qkv.rows
        rg = _cdiv(t, n)
        out = alloc.alloc(Tensor(ly.name, t, h * a.head_dim, n))
        if a.head_dim % n:
            raise IvitError(f"engine: head_dim {a.head_dim} is not a multiple of N = {n}")
        for hh in range(h):
            pa = Tensor(prob.name, t, t, n, base=prob.base + hh * rg * prob.stride)
            bld.gemm(f"{ly.name}[{hh}]", pa, out, k=t, n_cols=a.head_dim, sat=a.out_bits,
                     mode=B_V, b=qkv, b_choff=2 * h * a.head_dim + hh * a.head_dim,
                     o_cw=hh * a.head_dim // n, m=a.m, e=a.e)
        return out
    if kind == "gelu":
        x = ins[0]
        if a.form != bld.cfg.gelu_form:
            raise IvitError(f"engine: {ly.name} uses GELU form {a.form!r}, the engine is built "
                            f"for {bld.cfg.gelu_form!r} (EngineConfig.gelu_form)")
        _check_unit(ly, a.k, a.i0, a.n)
        r = gelu_recip(a.i0) if a.form == "shift" else 0
        if r >= 1 << 13:
            raise IvitError(f"engine: {ly.name} GELU reciprocal {r} needs more than 13 bits")
        out = alloc.alloc(Tensor(ly.name, x.rows, x.chans, n))
        bld.const(C_M, a.m, x.chans, ly.name)
        bld.const(C_E, a.e, x.chans, ly.name)
        bld.vec(ly.name, V_GELU, x, out, x.rows, sat=a.out_bits, k=a.k, i0=a.i0, nn=a.n,
                r=r)
        return out
    if kind == "residual_add":
        branch, stream = ins
        if a.out_bits != 16:
            raise IvitError(f"engine: {ly.name} must write 16 bits, not {a.out_bits}")
        out = alloc.alloc(Tensor(ly.name, branch.rows, branch.chans, n))
        bld.const(C_M, p["m_a"], branch.chans, ly.name)
        bld.const(C_E, p["e_a"], branch.chans, ly.name)
        bld.vec(ly.name, V_RES, branch, out, branch.rows, b=stream, m_b=a.m_b, e_b=a.e_b)
        return out
    raise IvitError(f"engine: layer {ly.name} of kind {kind} has no engine lowering")
