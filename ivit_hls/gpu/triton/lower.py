"""One launcher per layer kind: torch tensors in, the layer's integer tensor out.

``LOWER`` maps every layer kind to a function ``fn(ctx, layer, *inputs)``; ``ctx`` is a
``Context`` holding the device, the kernel block sizes and each layer's parameters on the
device (converted once). Inputs and outputs keep the golden shapes (leading batch axis);
outputs are stored in the narrowest type of their width (int8 / int16 / int32).
"""

from __future__ import annotations

import numpy as np
import torch
import triton

from ... import spec
from ..common import attr, attr_or, exp_form, gelu_form, out_dtype, sat_bounds
from . import kernels as K

_TORCH = {np.dtype(np.int8): torch.int8, np.dtype(np.int16): torch.int16,
          np.dtype(np.int32): torch.int32, np.dtype(np.int64): torch.int64}
_FORMS = {"symmetric": 0, "rowmax": 1, "shift": 2}
_EXP_FORMS = {"paper": 0, "corrected": 1}


def exp_form_code(form: str) -> int:
    """Kernel code of a ShiftExp form; ``NotImplementedError`` for a form not ported."""
    if form not in _EXP_FORMS:
        raise NotImplementedError(f"triton: ShiftExp form {form!r} is not ported")
    return _EXP_FORMS[form]


def mantissa_table(ctx, i0: int) -> torch.Tensor:
    """The corrected ShiftExp mantissa ``exp2_neg_frac(a, I0)`` for ``a in [0, I0)`` (a ROM
    per layer constant, computed by the spec function itself)."""
    key = ("mant", int(i0))
    if key not in ctx.tables:
        vals = spec.shift.exp2_neg_frac(np.arange(int(i0), dtype=np.int64), int(i0), "corrected")
        ctx.tables[key] = torch.as_tensor(np.asarray(vals, dtype=np.int64)).to(ctx.device)
    return ctx.tables[key]


def gelu_exp_form(layer) -> str:
    """The ShiftExp form inside the sigmoid GELU forms (spec §9: the paper's)."""
    return str(attr_or(layer, "exp_form", "paper"))


def gelu_args(ctx, layer) -> tuple[int, tuple]:
    """Kernel form code and the 5 arguments (k, i0, n, σ bits, mantissa table) of a
    ShiftGELU layer; the shift form passes its reciprocal R as i0 and its R shift as n."""
    form = gelu_form(layer)
    if form not in _FORMS:
        raise NotImplementedError(f"triton gelu: form {form!r} is not ported")
    k, i0, n = int(attr(layer, "k")), int(attr(layer, "i0")), int(attr(layer, "n"))
    sig = spec.shift.GELU_SIGMOID_BITS
    if form == "shift":
        from ...spec import gelu as sg
        if (sg.GELU_Y_INT_BITS, sg.GELU_Y_FRAC) != (3, 10):
            raise NotImplementedError("triton gelu: the kernel has y on 10 fraction bits, < 2^13")
        return _FORMS[form], (k, sg.gelu_recip(i0), sg.GELU_R_SHIFT, sig,
                              mantissa_table(ctx, 1 << sg.GELU_Y_FRAC))
    code = exp_form_code(gelu_exp_form(layer))
    return _FORMS[form], (k, i0, n, sig, mantissa_table(ctx, i0) if code else ctx.dummy)


class Context:
    """Device, block sizes and per-layer device parameters of one executor."""

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        interp = self.device.type == "cpu"
        # the interpreter runs each program as numpy calls: few large tiles are fastest
        self.gemm_blocks = (128, 256, 256) if interp else (64, 64, 64)
        self.row_block = 64 if interp else 4
        # id(layer) -> (the layer, its device parameters): the layer is kept so that its id
        # cannot be reused by another object while the entry exists
        self._params: dict[int, tuple] = {}
        self.tables: dict[tuple, torch.Tensor] = {}
        self.dummy = torch.zeros(1, dtype=torch.int64, device=self.device)

    def params(self, layer) -> dict[str, torch.Tensor]:
        """The layer's integer parameters on the device (weights int8, the rest int64)."""
        key = id(layer)
        entry = self._params.get(key)
        if entry is None or entry[0] is not layer:
            out = {}
            for name, arr in layer.params.items():
                arr = np.asarray(arr)
                dt = torch.int8 if name == "weight" else torch.int64
                out[name] = torch.as_tensor(arr.astype(np.int64)).to(dt).to(self.device)
            entry = self._params[key] = (layer, out)
        return entry[1]

    def scalar(self, value) -> torch.Tensor:
        """A one-element int64 tensor (scalar multipliers read with stride 0), made once:
        a host-to-device copy is not allowed while a CUDA graph is being captured."""
        key = ("scalar", int(value))
        if key not in self.tables:
            self.tables[key] = torch.tensor([int(value)], dtype=torch.int64, device=self.device)
        return self.tables[key]

    def empty(self, shape, bits) -> torch.Tensor:
        """An uninitialised device tensor in the storage type of ``bits``."""
        return torch.empty(tuple(shape), dtype=_TORCH[out_dtype(bits)], device=self.device)


def _gemm(ctx, a, sa, b, sb, c, sc, batch, heads, m_rows, n_cols, k_depth, *,
          bias=None, m=None, e=None, s_me=1, extra=None, sx=(0, 0, 0), mb=0, eb=1,
          bits=None, mode=K.RAW, split_a=False, gelu=None,
          gelu_form=0, gelu_exp=0):
    bm, bn, bk = ctx.gemm_blocks
    dummy = c
    gelu = gelu if gelu is not None else (0, 1, 0, 0, ctx.dummy, 0, 1, 0, 0)
    lo, hi = sat_bounds(bits)
    grid = (triton.cdiv(m_rows, bm), triton.cdiv(n_cols, bn), batch * heads)
    K.gemm_kernel[grid](
        a, *sa, b, *sb, c, *sc,
        bias if bias is not None else dummy, m if m is not None else dummy,
        e if e is not None else dummy, s_me,
        extra if extra is not None else dummy, *sx,
        int(mb), int(eb), lo, hi, *gelu,
        heads, m_rows, n_cols, k_depth,
        HAS_BIAS=bias is not None, MODE=mode, SPLIT_A=split_a, GELU_FORM=gelu_form, GELU_EXP=gelu_exp,
        BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk)
    return c


def linear(ctx, layer, x, residual_layer=None, residual=None, gelu_layer=None):
    """``linear`` (x·Wᵀ + bias, requant or raw), optionally fused with the residual add
    that consumes its raw sum, or with the (symmetric) GELU after it."""
    p = ctx.params(layer)
    w = p["weight"]
    n_out, k_in = w.shape
    x = x.contiguous()
    rows = x.numel() // k_in
    bits = attr(layer, "out_bits")
    args = dict(bias=p["bias"])
    if residual_layer is not None:
        rp = ctx.params(residual_layer)
        bits = attr(residual_layer, "out_bits")
        residual = residual.contiguous()
        args.update(m=rp["m_a"], e=rp["e_a"], extra=residual, sx=(0, n_out, 1),
                    mb=attr(residual_layer, "m_b"), eb=attr(residual_layer, "e_b"),
                    bits=bits, mode=K.RESIDUAL)
    elif gelu_layer is not None:
        g = gelu_layer
        glo, ghi = sat_bounds(attr(g, "out_bits"))
        form, gargs = gelu_args(ctx, g)
        args.update(m=p["m"], e=p["e"], bits=bits, mode=K.GELU, gelu_form=form,
                    gelu_exp=_EXP_FORMS["paper"],
                    gelu=(*gargs, attr(g, "m"), attr(g, "e"), glo, ghi))
        bits = attr(g, "out_bits")
    elif bits is not None:
        args.update(m=p["m"], e=p["e"], bits=bits, mode=K.REQUANT)
    out = ctx.empty(x.shape[:-1] + (n_out,), bits)
    return _gemm(ctx, x, (0, 0, k_in, 1), w, (0, 0, 1, k_in), out, (0, 0, n_out, 1),
                 1, 1, rows, n_out, k_in, **args)


def patch_embed(ctx, layer, image):
    """Patch embedding: im2col (a view copy), GEMM + requant + position, saturate; class row."""
    p = ctx.params(layer)
    patch = int(attr(layer, "patch"))
    b, c, h, w = image.shape
    gh, gw = h // patch, w // patch
    cols = image.reshape(b, c, gh, patch, gw, patch).permute(0, 2, 4, 1, 3, 5)
    cols = cols.reshape(b, gh * gw, c * patch * patch).to(torch.int8).contiguous()
    wt = p["weight"]
    dim, k_in = wt.shape
    tp = gh * gw
    bits = attr(layer, "out_bits")
    out = ctx.empty((b, 1 + tp, dim), bits)
    out[:, 0, :] = p["cls"].to(out.dtype)
    _gemm(ctx, cols, (tp * k_in, 0, k_in, 1), wt, (0, 0, 1, k_in),
          out[:, 1:, :], ((1 + tp) * dim, 0, dim, 1), b, 1, tp, dim, k_in,
          bias=p["bias"], m=p["m"], e=p["e"], extra=p["pos"], sx=(0, dim, 1),
          bits=bits, mode=K.ADD_SAT)
    return out


def layernorm(ctx, layer, x):
    """I-LayerNorm over every token, or only the class token (``tokens == "cls"``)."""
    p = ctx.params(layer)
    b, t, c = x.shape
    x = x.contiguous()
    cls_only = attr(layer, "tokens") == "cls"
    rows, stride = (b, t * c) if cls_only else (b * t, c)
    bits = attr(layer, "out_bits")
    out = ctx.empty((b, 1 if cls_only else t, c), bits)
    lo, hi = sat_bounds(bits)
    rb = ctx.row_block
    shift = spec.layernorm.LN_RECIP_SHIFT - spec.layernorm.LN_FRAC_BITS
    K.layernorm_kernel[(triton.cdiv(rows, rb),)](
        x, stride, out, c, p["m"], p["e"], p["bias"], rows, c, lo, hi,
        spec.layernorm.LN_MEAN_FRAC_BITS, spec.layernorm.LN_RECIP_SHIFT, shift,
        BLOCK_R=rb, BLOCK_C=triton.next_power_of_2(c))
    return out


def _heads(layer):
    return int(attr(layer, "heads")), int(attr(layer, "head_dim"))


def qk_matmul(ctx, layer, qkv):
    """Scores q·kᵀ per head straight from the qkv tensor (no head split copies)."""
    h, hd = _heads(layer)
    b, t, _ = qkv.shape
    qkv = qkv.contiguous()
    w3 = 3 * h * hd
    bits = attr(layer, "out_bits")
    out = ctx.empty((b, h, t, t), bits)
    return _gemm(ctx, qkv, (t * w3, hd, w3, 1), qkv[:, :, h * hd:], (t * w3, hd, 1, w3),
                 out, (h * t * t, t * t, t, 1), b, h, t, t, hd,
                 m=ctx.scalar(attr(layer, "m")), e=ctx.scalar(attr(layer, "e")), s_me=0,
                 bits=bits, mode=K.REQUANT)


def pv_matmul(ctx, layer, probs, qkv):
    """P·v per head with P split into two int8 halves; heads written back concatenated."""
    h, hd = _heads(layer)
    b, t, _ = qkv.shape
    qkv = qkv.contiguous()
    probs = probs.contiguous()
    w3 = 3 * h * hd
    bits = attr(layer, "out_bits")
    out = ctx.empty((b, t, h * hd), bits)
    return _gemm(ctx, probs, (h * t * t, t * t, t, 1), qkv[:, :, 2 * h * hd:],
                 (t * w3, hd, w3, 1), out, (t * h * hd, hd, h * hd, 1), b, h, t, hd, t,
                 m=ctx.scalar(attr(layer, "m")), e=ctx.scalar(attr(layer, "e")), s_me=0,
                 bits=bits, mode=K.REQUANT, split_a=True)


def shiftmax(ctx, layer, scores):
    """Shiftmax over the last axis; probabilities in [0, 2^Q] stored as int32."""
    code = exp_form_code(exp_form(layer))
    scores = scores.contiguous()
    t = scores.shape[-1]
    rows = scores.numel() // t
    i0, n, bits = int(attr(layer, "i0")), int(attr(layer, "n")), int(attr(layer, "out_bits"))
    m_bits = spec.shiftmax_div_bits(i0, n)
    out = torch.empty(scores.shape, dtype=torch.int32, device=ctx.device)
    rb = ctx.row_block
    K.shiftmax_kernel[(triton.cdiv(rows, rb),)](
        scores, out, rows, t, int(attr(layer, "k")), i0, n,
        mantissa_table(ctx, i0) if code else ctx.dummy,
        1 << m_bits, m_bits - (bits - 1), EXP_FORM=code, BLOCK_R=rb, BLOCK_T=triton.next_power_of_2(t))
    return out


def gelu(ctx, layer, x):
    """ShiftGELU (shift, symmetric or row-max form) and its requant; or the table form."""
    if gelu_form(layer) == "table":
        return gelu_table(ctx, layer, x)
    form, gargs = gelu_args(ctx, layer)
    x = x.contiguous()
    c = x.shape[-1]
    rows = x.numel() // c
    bits = attr(layer, "out_bits")
    lo, hi = sat_bounds(bits)
    out = ctx.empty(x.shape, bits)
    rb = ctx.row_block
    K.gelu_kernel[(triton.cdiv(rows, rb),)](
        x, out, rows, c, *gargs, int(attr(layer, "m")), int(attr(layer, "e")), lo, hi,
        FORM=form, EXP_FORM=_EXP_FORMS["paper"] if form == 2 else exp_form_code(
            gelu_exp_form(layer)), BLOCK_R=rb, BLOCK_C=triton.next_power_of_2(c))
    return out


def gelu_table(ctx, layer, x):
    """The table form: ``table[x + len(table)/2]`` (a table over the whole input range)."""
    table = ctx.params(layer)["table"]
    x = x.contiguous()
    out = ctx.empty(x.shape, attr(layer, "out_bits"))
    block = 1024
    K.lookup_kernel[(triton.cdiv(x.numel(), block),)](
        x, table, out, x.numel(), table.numel() // 2, BLOCK=block)
    return out


def residual_add(ctx, layer, branch, residual):
    """Residual add: both branches requantized to the output scale, saturated once."""
    p = ctx.params(layer)
    branch, residual = branch.contiguous(), residual.contiguous()
    c = branch.shape[-1]
    rows = branch.numel() // c
    bits = attr(layer, "out_bits")
    lo, hi = sat_bounds(bits)
    out = ctx.empty(branch.shape, bits)
    rb = ctx.row_block
    K.residual_kernel[(triton.cdiv(rows, rb),)](
        branch, residual, out, p["m_a"], p["e_a"], int(attr(layer, "m_b")),
        int(attr(layer, "e_b")), rows, c, lo, hi,
        BLOCK_R=rb, BLOCK_C=triton.next_power_of_2(c))
    return out


#: Every layer kind → its launcher (a test checks this covers the model format's kinds).
LOWER = {
    "patch_embed": patch_embed, "layernorm": layernorm, "linear": linear,
    "qk_matmul": qk_matmul, "shiftmax": shiftmax, "pv_matmul": pv_matmul,
    "gelu": gelu, "residual_add": residual_add,
}
