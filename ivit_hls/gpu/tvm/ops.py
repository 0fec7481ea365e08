"""The integer layers as TVM tensor expressions (``tvm.te``), one builder per layer kind.

Each lowering returns a ``Kernel``: a ``key`` (kernels with equal keys share one compiled
function), a ``build()`` that declares the placeholders and the output in TE, and the
layer's constant arguments (numpy arrays; scalars are 1-element int64 tensors, so every
encoder block reuses the same compiled functions). The batch axis is symbolic.

Integer semantics as in ``ivit_hls.spec``: int8 products accumulate in int32; requant,
ShiftExp, the square root and every division run in int64; TIR's ``floordiv`` is the
spec's floor division.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ... import spec
from ..common import attr, exp_form, gelu_form, out_dtype, sat_bounds

# The compiler modules are imported on first build: a machine with only TVM's runtime
# (which loads an exported library) has no tvm.te / tvm.tirx compiler.
te = tirx = None


def load_te() -> None:
    """Import TVM's tensor-expression modules (needs the full TVM, not the runtime only)."""
    global te, tirx
    from tvm import te as te_mod
    from tvm import tirx as tirx_mod

    te, tirx = te_mod, tirx_mod


I64 = "int64"
#: mantissa tables are padded to this many entries so layers with different I0 share code
MANT_LEN = 4096


def c64(v) -> tirx.PrimExpr:
    return tirx.const(int(v), I64)


def _i64(x) -> tirx.PrimExpr:
    return x.astype(I64)


def _rhu(v, m, e):
    return (v * m + (c64(1) << (e - c64(1)))) >> e


def _clip(v, bits):
    if bits is None:
        return v
    lo, hi = sat_bounds(bits)
    return tirx.Max(tirx.Min(v, c64(hi)), c64(lo))


def _dt(bits) -> str:
    return str(out_dtype(bits))


@dataclass
class Kernel:
    """One layer's compiled function: its sharing key, TE builder and constant arguments."""

    key: str
    build: Callable[[], list]
    consts: list = field(default_factory=list)


def _scalar(v) -> np.ndarray:
    return np.array([int(v)], dtype=np.int64)


def _batch():
    return te.var("batch", dtype="int64")


def linear(layer, shapes):
    """x·Wᵀ + bias (int32), then per-channel requant + saturation, or the raw sum."""
    (xs,) = shapes
    t, k_in = xs[1], xs[2]
    w = np.asarray(layer.params["weight"], dtype=np.int8)
    n_out = w.shape[0]
    bits = attr(layer, "out_bits")
    key = f"linear_t{t}_k{k_in}_n{n_out}_b{bits}"

    def build():
        b = _batch()
        x = te.placeholder((b, t, k_in), "int8", name="x")
        wt = te.placeholder((n_out, k_in), "int8", name="w")
        bias = te.placeholder((n_out,), "int32", name="bias")
        kk = te.reduce_axis((0, k_in), name="k")
        acc = te.compute((b, t, n_out), lambda i, j, n: te.sum(
            x[i, j, kk].astype("int32") * wt[n, kk].astype("int32"), axis=kk), name="acc")
        if bits is None:
            out = te.compute((b, t, n_out), lambda i, j, n: acc[i, j, n] + bias[n], name="out")
            return [x, wt, bias, out]
        m = te.placeholder((n_out,), I64, name="m")
        e = te.placeholder((n_out,), I64, name="e")
        out = te.compute((b, t, n_out), lambda i, j, n: _clip(
            _rhu(_i64(acc[i, j, n] + bias[n]), m[n], e[n]), bits).astype(_dt(bits)), name="out")
        return [x, wt, bias, m, e, out]

    consts = [w, np.asarray(layer.params["bias"], dtype=np.int32)]
    if bits is not None:
        consts += [np.asarray(layer.params["m"], np.int64), np.asarray(layer.params["e"], np.int64)]
    return Kernel(key, build, consts), (t, n_out)


def patch_embed(layer, shapes):
    """Patches gathered inside the GEMM's reduction, requant + position, saturate; class row."""
    (ims,) = shapes
    c, h, w_ = ims[1], ims[2], ims[3]
    p = int(attr(layer, "patch"))
    gw, tp = w_ // p, (h // p) * (w_ // p)
    wt = np.asarray(layer.params["weight"], dtype=np.int8)
    dim, k_in = wt.shape
    bits = attr(layer, "out_bits")
    key = f"patch_c{c}_h{h}_w{w_}_p{p}_d{dim}_b{bits}"

    def build():
        b = _batch()
        img = te.placeholder((b, c, h, w_), "int8", name="image")
        w = te.placeholder((dim, k_in), "int8", name="w")
        bias = te.placeholder((dim,), "int32", name="bias")
        m = te.placeholder((dim,), I64, name="m")
        e = te.placeholder((dim,), I64, name="e")
        cls = te.placeholder((dim,), I64, name="cls")
        pos = te.placeholder((tp, dim), I64, name="pos")
        kk = te.reduce_axis((0, k_in), name="k")

        def pix(i, t, k):
            ch, r = k // (p * p), k % (p * p)
            return img[i, ch, (t // gw) * p + r // p, (t % gw) * p + r % p].astype("int32")

        acc = te.compute((b, tp, dim), lambda i, t, n: te.sum(
            pix(i, t, kk) * w[n, kk].astype("int32"), axis=kk), name="acc")
        tok = te.compute((b, tp, dim), lambda i, t, n: _clip(
            _rhu(_i64(acc[i, t, n] + bias[n]), m[n], e[n]) + pos[t, n], bits), name="tok")
        out = te.compute((b, tp + 1, dim), lambda i, t, n: tirx.if_then_else(
            t == 0, cls[n], tok[i, tirx.Max(t - 1, 0), n]).astype(_dt(bits)), name="out")
        return [img, w, bias, m, e, cls, pos, out]

    pr = layer.params
    consts = [wt, np.asarray(pr["bias"], np.int32), np.asarray(pr["m"], np.int64),
              np.asarray(pr["e"], np.int64), np.asarray(pr["cls"], np.int64),
              np.asarray(pr["pos"], np.int64)]
    return Kernel(key, build, consts), (tp + 1, dim)


def _isqrt(var, rows_shape):
    """Exact floor(sqrt) per row (spec §10), one TE stage per Newton step."""
    def bitlen(v):  # bit length of v >= 0 from count-leading-zeros (clz(0) is undefined)
        return tirx.Select(v > c64(0), c64(64) - tirx.clz(v).astype(I64), c64(0))

    x = te.compute(rows_shape, lambda *i: c64(1) << ((bitlen(var(*i)) + c64(1)) >> c64(1)),
                   name="sqrt0")
    def newton(prev):
        return lambda *i: tirx.Min(
            prev(*i), (prev(*i) + tirx.floordiv(var(*i), tirx.Max(prev(*i), c64(1)))) >> c64(1))

    for step in range(spec.ISQRT_ITERATIONS):
        x = te.compute(rows_shape, newton(x), name=f"sqrt{step + 1}")
    return te.compute(rows_shape, lambda *i: tirx.Select(var(*i) == c64(0), c64(0), x(*i)),
                      name="sd")


def layernorm(layer, shapes):
    """I-LayerNorm per token (or the class token only), affine part folded."""
    (xs,) = shapes
    t, c = xs[1], xs[2]
    cls_only = attr(layer, "tokens") == "cls"
    t_out = 1 if cls_only else t
    bits = attr(layer, "out_bits")
    from ...spec import layernorm as sl
    f, rs, fs = sl.LN_MEAN_FRAC_BITS, sl.LN_RECIP_SHIFT, sl.LN_FRAC_BITS
    key = f"layernorm_t{t}_c{c}_o{t_out}_b{bits}"

    def build():
        b = _batch()
        x = te.placeholder((b, t, c), "int16", name="x")
        m = te.placeholder((c,), I64, name="m")
        e = te.placeholder((c,), I64, name="e")
        beta = te.placeholder((c,), I64, name="bias")
        k1 = te.reduce_axis((0, c), name="k1")
        k2 = te.reduce_axis((0, c), name="k2")
        total = te.compute((b, t_out), lambda i, j: te.sum(_i64(x[i, j, k1]), axis=k1), name="sum")
        mean = te.compute((b, t_out), lambda i, j: tirx.floordiv(total[i, j] << c64(f), c64(c)),
                          name="mean")
        y = te.compute((b, t_out, c), lambda i, j, n: (_i64(x[i, j, n]) << c64(f)) - mean[i, j],
                       name="y")
        var = te.compute((b, t_out), lambda i, j: te.sum(y[i, j, k2] * y[i, j, k2], axis=k2),
                         name="var")
        sd = _isqrt(var, (b, t_out))
        recip = te.compute((b, t_out), lambda i, j: tirx.Select(
            sd[i, j] > c64(0), tirx.floordiv(c64(1 << rs), tirx.Max(sd[i, j], c64(1))), c64(0)),
            name="recip")
        out = te.compute((b, t_out, c), lambda i, j, n: _clip(
            (_rhu(y[i, j, n], recip[i, j], c64(rs - fs)) * m[n] + beta[n]
             + (c64(1) << (e[n] - c64(1)))) >> e[n], bits).astype(_dt(bits)), name="out")
        return [x, m, e, beta, out]

    pr = layer.params
    consts = [np.asarray(pr[k], np.int64) for k in ("m", "e", "bias")]
    return Kernel(key, build, consts), (t_out, c)


def _heads(layer):
    return int(attr(layer, "heads")), int(attr(layer, "head_dim"))


def qk_matmul(layer, shapes):
    """Scores per head read straight from the qkv tensor, scalar requant."""
    (qs,) = shapes
    t = qs[1]
    h, hd = _heads(layer)
    wd = h * hd
    bits = attr(layer, "out_bits")
    key = f"qk_t{t}_h{h}_d{hd}_b{bits}"

    def build():
        b = _batch()
        qkv = te.placeholder((b, t, 3 * wd), "int8", name="qkv")
        m = te.placeholder((1,), I64, name="m")
        e = te.placeholder((1,), I64, name="e")
        d = te.reduce_axis((0, hd), name="d")
        acc = te.compute((b, h, t, t), lambda i, hh, r, s: te.sum(
            qkv[i, r, hh * hd + d].astype("int32") * qkv[i, s, wd + hh * hd + d].astype("int32"),
            axis=d), name="acc")
        out = te.compute((b, h, t, t), lambda *ix: _clip(
            _rhu(_i64(acc(*ix)), m[0], e[0]), bits).astype(_dt(bits)), name="out")
        return [qkv, m, e, out]

    return Kernel(key, build, [_scalar(attr(layer, "m")), _scalar(attr(layer, "e"))]), (h, t, t)


def pv_matmul(layer, shapes):
    """P·v per head (uint16 probabilities × int8, int32 sums), heads concatenated."""
    ps, qs = shapes
    t = qs[1]
    h, hd = _heads(layer)
    wd = h * hd
    bits = attr(layer, "out_bits")
    key = f"pv_t{t}_h{h}_d{hd}_b{bits}"

    def build():
        b = _batch()
        probs = te.placeholder((b, h, t, t), "int32", name="probs")
        qkv = te.placeholder((b, t, 3 * wd), "int8", name="qkv")
        m = te.placeholder((1,), I64, name="m")
        e = te.placeholder((1,), I64, name="e")
        s = te.reduce_axis((0, t), name="s")
        acc = te.compute((b, t, wd), lambda i, r, n: te.sum(
            probs[i, n // hd, r, s] * qkv[i, s, 2 * wd + n].astype("int32"), axis=s), name="acc")
        out = te.compute((b, t, wd), lambda *ix: _clip(
            _rhu(_i64(acc(*ix)), m[0], e[0]), bits).astype(_dt(bits)), name="out")
        return [probs, qkv, m, e, out]

    return Kernel(key, build, [_scalar(attr(layer, "m")), _scalar(attr(layer, "e"))]), (t, wd)


def _mant_table(i0: int) -> np.ndarray:
    """Corrected ShiftExp mantissa for a in [0, I0) (by the spec function), zero padded."""
    size = max(MANT_LEN, 1 << int(i0 - 1).bit_length())
    table = np.zeros(size, dtype=np.int64)
    table[:i0] = spec.shift.exp2_neg_frac(np.arange(i0, dtype=np.int64), i0, "corrected")
    return table


def _shift_exp(u, i0, n, mant, form: str):
    """ShiftExp (spec §7) as a TIR expression of int64 u <= 0."""
    p = u + (u >> c64(1)) - (u >> c64(4))
    if form == "corrected":
        p = p + (u >> c64(8)) + (u >> c64(10))
    elif form != "paper":
        raise NotImplementedError(f"tvm: ShiftExp form {form!r} is not ported")
    clamped = p <= -n * i0
    pc = tirx.Max(p, -n * i0)
    q = tirx.floordiv(-pc, i0)
    a = -(pc + q * i0)
    if form == "corrected":
        return tirx.Select(clamped, c64(0), mant[a] << (n - q))
    return (i0 - ((a + c64(1)) >> c64(1))) << (n - q)


def shiftmax(layer, shapes):
    """Shiftmax over the last axis: row max, ShiftExp, row sum, one reciprocal, rounding."""
    (ss,) = shapes
    form = exp_form(layer)
    i0, n, bits = int(attr(layer, "i0")), int(attr(layer, "n")), int(attr(layer, "out_bits"))
    m_bits = spec.shiftmax_div_bits(i0, n)
    table = _mant_table(i0)
    key = f"shiftmax_{'x'.join(map(str, ss[1:]))}_{form}_l{table.size}"
    dims = tuple(ss[1:])

    def build():
        b = _batch()
        shp = (b,) + dims
        x = te.placeholder(shp, "int8", name="x")
        mant = te.placeholder((table.size,), I64, name="mant")
        sc = te.placeholder((5,), I64, name="consts")  # k, i0, n, 2^M, M - Q
        r1 = te.reduce_axis((0, dims[-1]), name="r1")
        r2 = te.reduce_axis((0, dims[-1]), name="r2")
        top = te.compute(shp[:-1], lambda *i: te.max(_i64(x[i + (r1,)]), axis=r1), name="top")
        ex = te.compute(shp, lambda *i: _shift_exp(
            (_i64(x[i]) - top[i[:-1]]) << sc[0], sc[1], sc[2], mant, form), name="exp")
        total = te.compute(shp[:-1], lambda *i: te.sum(ex[i + (r2,)], axis=r2), name="total")
        out = te.compute(shp, lambda *i: _rhu(
            ex[i], tirx.floordiv(sc[3], tirx.Max(total[i[:-1]], c64(1))), sc[4]).astype("int32"),
            name="out")
        return [x, mant, sc, out]

    consts = [table, np.array([attr(layer, "k"), i0, n, 1 << m_bits, m_bits - (bits - 1)],
                              dtype=np.int64)]
    return Kernel(key, build, consts), dims


def _gelu_core(x, k, i0, n, mant, form, top=None):
    """ShiftGELU core x·σ_q (spec §9) of int64 x; ``top`` is the row max for rowmax."""
    sig = c64(spec.shift.GELU_SIGMOID_BITS)
    if form == "shift":  # i0 carries the reciprocal R, n the R shift
        from ...spec import gelu as sg
        f = c64(sg.GELU_Y_FRAC)
        y = tirx.Min((((tirx.abs(x) * i0) << k) + (c64(1) << (n - c64(1)))) >> n,
                     c64((1 << (sg.GELU_Y_FRAC + sg.GELU_Y_INT_BITS)) - 1))
        y2 = y * y
        h = (c64(1) << f) + y + (y >> c64(4)) + (y >> c64(5)) + (y2 >> (f + c64(1))) \
            + (y2 >> (f + c64(4)))
        q = h >> f
        g = h & ((c64(1) << f) - c64(1))
        p = (mant[g] << sig) >> tirx.Min(q + f, c64(62))
        sigma = tirx.Select(x >= c64(0), (c64(1) << sig) - p, p)
        return x * sigma
    xs = x << k
    z = xs + (xs >> c64(1)) + (xs >> c64(3)) + (xs >> c64(4))
    e0 = i0 << n
    if form == "symmetric":
        t = _shift_exp(-tirx.abs(z), i0, n, mant, "paper")
        num = tirx.Select(z >= c64(0), e0, t)
        den = e0 + t
    else:
        num = _shift_exp(z - top, i0, n, mant, "paper")
        den = num + _shift_exp(-top, i0, n, mant, "paper")
    return x * tirx.floordiv(num << sig, tirx.Max(den, c64(1)))


def gelu(layer, shapes):
    """ShiftGELU (shift, symmetric or row-max form) + requant, or the table form."""
    (xs,) = shapes
    dims = tuple(xs[1:])
    form = gelu_form(layer)
    bits = attr(layer, "out_bits")
    if form == "table":
        table = np.asarray(layer.params["table"], dtype=np.int64)
        key = f"gelu_table_{'x'.join(map(str, dims))}_{table.size}_b{bits}"

        def build_table():
            b = _batch()
            x = te.placeholder((b,) + dims, "int8", name="x")
            tab = te.placeholder((table.size,), I64, name="table")
            out = te.compute((b,) + dims, lambda *i: tab[_i64(x[i]) + c64(table.size // 2)]
                             .astype(_dt(bits)), name="out")
            return [x, tab, out]
        return Kernel(key, build_table, [table]), dims
    if form not in ("shift", "symmetric", "rowmax"):
        raise NotImplementedError(f"tvm: GELU form {form!r} is not ported")
    k, i0, n = int(attr(layer, "k")), int(attr(layer, "i0")), int(attr(layer, "n"))
    if form == "shift":
        from ...spec import gelu as sg
        i0, n = sg.gelu_recip(i0), sg.GELU_R_SHIFT
        table = _mant_table(1 << sg.GELU_Y_FRAC)
    else:
        table = np.zeros(MANT_LEN, dtype=np.int64)
    key = f"gelu_{form}_{'x'.join(map(str, dims))}_b{bits}_l{table.size}"

    def build():
        b = _batch()
        shp = (b,) + dims
        x = te.placeholder(shp, "int8", name="x")
        mant = te.placeholder((table.size,), I64, name="mant")
        sc = te.placeholder((5,), I64, name="consts")  # k, i0, n, m, e
        top = None
        if form == "rowmax":
            r = te.reduce_axis((0, dims[-1]), name="r")

            def zf(v):
                xs = v << sc[0]
                return xs + (xs >> c64(1)) + (xs >> c64(3)) + (xs >> c64(4))
            rowmax = te.compute(shp[:-1], lambda *i: te.max(zf(_i64(x[i + (r,)])), axis=r),
                                name="rowmax")
            top = rowmax
        out = te.compute(shp, lambda *i: _clip(_rhu(_gelu_core(
            _i64(x[i]), sc[0], sc[1], sc[2], mant, form,
            None if top is None else tirx.Max(top[i[:-1]], c64(0))), sc[3], sc[4]), bits)
            .astype(_dt(bits)), name="out")
        return [x, mant, sc, out]

    consts = [table, np.array([k, i0, n, attr(layer, "m"), attr(layer, "e")], dtype=np.int64)]
    return Kernel(key, build, consts), dims


def residual_add(layer, shapes):
    """Both branches requantized to the output scale, summed, saturated once."""
    a_s, _ = shapes
    t, c = a_s[1], a_s[2]
    bits = attr(layer, "out_bits")
    key = f"residual_t{t}_c{c}_b{bits}"

    def build():
        b = _batch()
        a = te.placeholder((b, t, c), "int32", name="branch")
        r = te.placeholder((b, t, c), "int16", name="residual")
        ma = te.placeholder((c,), I64, name="m_a")
        ea = te.placeholder((c,), I64, name="e_a")
        sc = te.placeholder((2,), I64, name="mb_eb")
        out = te.compute((b, t, c), lambda i, j, n: _clip(
            _rhu(_i64(a[i, j, n]), ma[n], ea[n]) + _rhu(_i64(r[i, j, n]), sc[0], sc[1]), bits)
            .astype(_dt(bits)), name="out")
        return [a, r, ma, ea, sc, out]

    pr = layer.params
    consts = [np.asarray(pr["m_a"], np.int64), np.asarray(pr["e_a"], np.int64),
              np.array([attr(layer, "m_b"), attr(layer, "e_b")], dtype=np.int64)]
    return Kernel(key, build, consts), (t, c)


#: Every layer kind → its TE lowering ``fn(layer, input_shapes) -> (Kernel, out_shape)``.
LOWER = {
    "patch_embed": patch_embed, "layernorm": layernorm, "linear": linear,
    "qk_matmul": qk_matmul, "shiftmax": shiftmax, "pv_matmul": pv_matmul,
    "gelu": gelu, "residual_add": residual_add,
}

__all__ = ["LOWER", "Kernel", "MANT_LEN", "load_te"]
