"""Every HLS kernel compiled with g++ (zero warnings) and compared bit-exactly with the spec."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from ivit_hls import spec
from ivit_hls.ir.model import Layer

from hls_helpers import HLS_DIR, as_c, build_shared, ptr

I64 = ctypes.c_int64
INT = ctypes.c_int


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("hls_kernels") / "libkernels.so"
    build_shared([HLS_DIR / "test" / "kernel_abi.cpp"], out)
    lib = ctypes.CDLL(str(out))
    for name in ("abi_floor_div", "abi_isqrt", "abi_shift_exp", "abi_shift_exp_default",
                 "abi_shift_gelu_core", "abi_gelu_recip"):
        getattr(lib, name).restype = I64
    lib.abi_floor_div.argtypes = [I64, I64]
    lib.abi_bit_length.argtypes = [I64]
    lib.abi_isqrt.argtypes = [I64]
    lib.abi_shift_exp.argtypes = [I64, I64, INT, INT]
    lib.abi_shift_exp_default.argtypes = [I64, I64, INT]
    lib.abi_shiftmax_div_bits.argtypes = [I64, INT]
    lib.abi_shift_gelu_core.argtypes = [I64, INT, I64, INT, INT]
    lib.abi_gelu_recip.argtypes = [I64]
    return lib


def _dyadic(rng, n, lo=1e-4, hi=0.5, negative=False):
    ratio = rng.uniform(lo, hi, size=n)
    if negative:
        ratio *= rng.choice([-1.0, 1.0], size=n)
    m, e = spec.dyadic(ratio)
    return as_c(m, np.int32), as_c(e, np.uint8)


def test_scalar_primitives(lib):
    rng = np.random.default_rng(1)
    for a in list(rng.integers(-10**12, 10**12, 300)) + [-1, 0, 1, -7, 7, -(2**40)]:
        for b in (1, 3, 7, 384, 1536):
            assert lib.abi_floor_div(int(a), b) == int(a) // b, (a, b)
    vals = [0, 1, 2, 3, 4, 5, 2**31, 2**62 - 1, 2**40 + 12345] + list(rng.integers(0, 2**62, 500))
    got = np.array([lib.abi_isqrt(int(v)) for v in vals])
    np.testing.assert_array_equal(got, spec.isqrt(np.array(vals, dtype=np.int64)))
    np.testing.assert_array_equal([lib.abi_bit_length(int(v)) for v in vals],
                                  spec.bit_length(np.array(vals, dtype=np.int64)))
    # Perfect squares and their neighbours are where a Newton root can stop one short.
    sq = np.array([s * s + d for s in rng.integers(1, 2**31 - 1, 200) for d in (-1, 0, 1)],
                  dtype=np.int64)
    np.testing.assert_array_equal([lib.abi_isqrt(int(v)) for v in sq], spec.isqrt(sq))


EXP_CODE = {"paper": 0, "corrected": 1}
GELU_CODE = {"symmetric": 0, "rowmax": 1, "shift": 2, "table": 3}


@pytest.mark.parametrize("exp_form", ["corrected", "paper"])
@pytest.mark.parametrize("scale", [0.01, 0.08, 0.5, 3.0, 1e-4])
@pytest.mark.parametrize("n", [15, 23])
def test_shift_exp(lib, scale, n, exp_form):
    k, i0 = spec.exp_constants(scale)
    rng = np.random.default_rng(n)
    u = np.concatenate([[0, -1, -i0, -i0 * n, -i0 * n * 4, -(2**40)],
                        -rng.integers(0, 40 * i0, 400), -np.arange(3 * i0)]).astype(np.int64)
    got = np.array([lib.abi_shift_exp(int(v), i0, n, EXP_CODE[exp_form]) for v in u])
    np.testing.assert_array_equal(got, spec.shift_exp(u, i0, n, exp_form))
    if exp_form == "corrected":  # today's 3-argument call is the default form
        got = np.array([lib.abi_shift_exp_default(int(v), i0, n) for v in u[:50]])
        np.testing.assert_array_equal(got, spec.shift_exp(u[:50], i0, n))
    assert lib.abi_shiftmax_div_bits(i0, n) == spec.shiftmax_div_bits(i0, n)


def test_requant_and_residual(lib):
    rng = np.random.default_rng(2)
    n = 257
    m, e = _dyadic(rng, n, negative=True)
    x = np.concatenate([rng.integers(-2**31, 2**31, n - 4), [-2**31, 2**31 - 1, 0, -1]])
    x = as_c(x, np.int64)
    y = np.zeros(n, np.int64)
    lib.abi_requant(ptr(x, np.int64), ptr(y, np.int64), n, ptr(m, np.int32), ptr(e, np.uint8), 8)
    np.testing.assert_array_equal(y, spec.requant(x, m, e, 8))

    rows, cols = 5, 37
    x32 = as_c(rng.integers(-2**20, 2**20, (rows, cols)), np.int32)
    m, e = _dyadic(rng, cols, 1e-6, 1e-3)
    y8 = np.zeros((rows, cols), np.int8)
    lib.abi_requant_i32_i8(ptr(x32, np.int32), ptr(y8, np.int8), rows, cols, ptr(m, np.int32),
                           ptr(e, np.uint8), 8)
    np.testing.assert_array_equal(y8, spec.requant(x32, m, e, 8))

    a = as_c(rng.integers(-128, 128, (rows, cols)), np.int8)
    b = as_c(rng.integers(-2**15, 2**15, (rows, cols)), np.int16)
    m_a, e_a = _dyadic(rng, cols, 0.5, 300.0, negative=True)
    (m_b,), (e_b,) = spec.dyadic([0.9])
    out = np.zeros((rows, cols), np.int16)
    lib.abi_residual_add(ptr(a, np.int8), ptr(b, np.int16), ptr(out, np.int16), rows, cols,
                         ptr(m_a, np.int32), ptr(e_a, np.uint8), I64(int(m_b)), int(e_b), 16)
    np.testing.assert_array_equal(out, spec.residual_add(a, m_a, e_a, b, m_b, e_b, 16))


@pytest.mark.parametrize("array", ["1x1", "4x8", "16x16"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 13, 9), (33, 40, 70), (16, 64, 16)])
def test_linear(lib, array, shape):
    rows, k, n = shape
    rng = np.random.default_rng(rows * 1000 + k)
    x = as_c(rng.integers(-128, 128, (rows, k)), np.int8)
    x[0, :] = -128  # extremes of both operands
    w = as_c(rng.integers(-128, 128, (n, k)), np.int8)
    w[0, :] = -128
    bias = as_c(rng.integers(-2**20, 2**20, n), np.int32)
    m, e = _dyadic(rng, n, 1e-5, 1e-2, negative=True)
    wt = np.ascontiguousarray(w.T)
    acc = spec.int_matmul(x, w.T) + bias
    y = np.zeros((rows, n), np.int8)
    getattr(lib, f"abi_linear_{array}")(ptr(x, np.int8), ptr(wt, np.int8), ptr(y, np.int8),
                                        rows, k, n, ptr(bias, np.int32), ptr(m, np.int32),
                                        ptr(e, np.uint8), 8)
    np.testing.assert_array_equal(y, spec.requant(acc, m, e, 8))
    raw = np.zeros((rows, n), np.int32)
    getattr(lib, f"abi_linear_raw_{array}")(ptr(x, np.int8), ptr(wt, np.int8),
                                            ptr(raw, np.int32), rows, k, n, ptr(bias, np.int32))
    np.testing.assert_array_equal(raw, acc)


def test_linear_wide_input_and_int32_edge(lib):
    rng = np.random.default_rng(5)
    rows, k, n = 11, 64, 10
    x = as_c(rng.integers(-2**15, 2**15, (rows, k)), np.int16)
    w = as_c(rng.integers(-128, 128, (n, k)), np.int8)
    bias = as_c(rng.integers(-2**25, 2**25, n), np.int32)
    m, e = _dyadic(rng, n, 1e-7, 1e-4)
    acc = spec.int_matmul(x, w.T) + bias
    assert np.abs(acc).max() < 2**31
    y = np.zeros((rows, n), np.int16)
    lib.abi_linear_i16_i16(ptr(x, np.int16), ptr(np.ascontiguousarray(w.T), np.int8),
                           ptr(y, np.int16), rows, k, n, ptr(bias, np.int32), ptr(m, np.int32),
                           ptr(e, np.uint8), 16)
    np.testing.assert_array_equal(y, spec.requant(acc, m, e, 16))
    # Partial sums that leave int32 while the final sum fits: modular accumulation is exact.
    x = as_c(np.full((1, 4), 2**15 - 1), np.int16)
    w = as_c([[127, 127, -128, -128]], np.int8)
    bias = as_c([2**31 - 1 - 2**22], np.int32)
    acc = spec.int_matmul(x, w.T) + bias
    assert np.abs(acc).max() < 2**31
    y = np.zeros((1, 1), np.int16)
    m, e = as_c([2**30], np.int32), as_c([47], np.uint8)
    lib.abi_linear_i16_i16(ptr(x, np.int16), ptr(np.ascontiguousarray(w.T), np.int8),
                           ptr(y, np.int16), 1, 4, 1, ptr(bias, np.int32), ptr(m, np.int32),
                           ptr(e, np.uint8), 16)
    np.testing.assert_array_equal(y, spec.requant(acc, m, e, 16))


@pytest.mark.parametrize("exp_form", ["corrected", "paper"])
@pytest.mark.parametrize("scale,n", [(0.05, 15), (0.3, 15), (0.01, 23), (2.0, 15)])
def test_shiftmax(lib, scale, n, exp_form):
    k, i0 = spec.exp_constants(scale)
    rng = np.random.default_rng(int(scale * 100) + n)
    rows, length = 9, 197
    x = as_c(np.clip(rng.normal(0, 30, (rows, length)), -128, 127), np.int8)
    x[0] = 0                       # a flat row
    x[1] = -128
    x[1, 5] = 127                  # one dominant logit
    x[2, :] = rng.integers(-128, 128, length)
    y = np.zeros((rows, length), np.uint16)
    code = EXP_CODE[exp_form]
    lib.abi_shiftmax_i8_u16(ptr(x, np.int8), ptr(y, np.uint16), rows, length, k, I64(i0), n, 16,
                            code)
    np.testing.assert_array_equal(y, spec.shiftmax(x, k, i0, n, 16, exp_form))
    if exp_form == "corrected":
        y2 = np.zeros_like(y)
        lib.abi_shiftmax_default(ptr(x, np.int8), ptr(y2, np.uint16), rows, length, k, I64(i0),
                                 n, 16)
        np.testing.assert_array_equal(y2, y)

    x16 = as_c(rng.integers(-2**15, 2**15, (3, 50)), np.int16)
    y8 = np.zeros((3, 50), np.uint8)
    lib.abi_shiftmax_i16_u8(ptr(x16, np.int16), ptr(y8, np.uint8), 3, 50, k, I64(i0), n, 8, code)
    np.testing.assert_array_equal(y8, spec.shiftmax(x16, k, i0, n, 8, exp_form))


@pytest.mark.parametrize("form", ["shift", "symmetric", "rowmax"])
@pytest.mark.parametrize("scale,n", [(0.05, 23), (0.2, 15), (0.01, 15), (3.0, 23)])
def test_shift_gelu(lib, form, scale, n):
    k, i0 = spec.exp_constants(scale)
    rng = np.random.default_rng(int(scale * 1000) + n)
    rows, cols = 6, 200
    x = as_c(rng.integers(-128, 128, (rows, cols)), np.int8)
    x[0, :4] = [-128, 127, 0, -1]
    x[1] = -5  # a row with no positive value (rowmax form: M' = 0)
    (m,), (e,) = spec.dyadic([scale * 2.0**-15 / 0.03])
    golden = spec.requant(spec.shift_gelu(x, k, i0, n, form), m, e, 8)
    y = np.zeros_like(x)
    code = GELU_CODE[form]
    lib.abi_gelu_i8_i8(ptr(x, np.int8), ptr(y, np.int8), rows, cols, k, I64(i0), n, code,
                       I64(int(m)), int(e), 8)
    np.testing.assert_array_equal(y, golden)
    # Wide inputs through the int64 instantiation, inside the proven range: |core| <= |x|·2^15
    # and |core·m| + 2^(e-1) < 2^63 (C++ signed overflow is undefined; numpy would wrap).
    xw = as_c(rng.integers(-2**15, 2**15, (2, 64)), np.int64)
    xw[0, :2] = [-2**15, 2**15 - 1]
    assert (2**15 * 2**15) * abs(int(m)) + 2 ** (int(e) - 1) < 2**63
    yw = np.zeros_like(xw)
    lib.abi_gelu_i64(ptr(xw, np.int64), ptr(yw, np.int64), 2, 64, k, I64(i0), n, code,
                     I64(int(m)), int(e), 32)
    np.testing.assert_array_equal(yw, spec.requant(spec.shift_gelu(xw, k, i0, n, form), m, e, 32))
    if form != "rowmax":
        core = [lib.abi_shift_gelu_core(int(v), k, i0, n, code) for v in xw[0]]
        np.testing.assert_array_equal(core, spec.shift_gelu(xw[0], k, i0, n, form))
    if form == "shift":
        from ivit_hls.spec.gelu import gelu_recip
        assert lib.abi_gelu_recip(i0) == gelu_recip(i0)
        every = np.arange(-128, 128)
        core = [lib.abi_shift_gelu_core(int(v), k, i0, n, code) for v in every]
        np.testing.assert_array_equal(core, spec.shift_gelu(every, k, i0, n))


@pytest.mark.parametrize("s_in,s_out", [(0.05, 0.04), (0.2, 0.3)])
def test_gelu_table(lib, s_in, s_out):
    table = as_c(spec.gelu_table(s_in, s_out, 8, 8), np.int8)
    x = as_c(np.arange(-128, 128).reshape(4, 64), np.int8)
    y = np.zeros_like(x)
    lib.abi_gelu_table_i8_i8(ptr(x, np.int8), ptr(y, np.int8), 4, 64, ptr(table, np.int8))
    np.testing.assert_array_equal(y, spec.gelu_lookup(x, table))


def test_layernorm(lib):
    rng = np.random.default_rng(7)
    rows, cols = 8, 384
    x = rng.normal(0, 300, (rows, cols))
    x[:, :3] *= 40  # outlier channels
    x = as_c(np.clip(x, -2**15, 2**15 - 1), np.int16)
    x[0] = 17            # zero variance: output is the bias
    x[1] = -2**15        # negative sum, zero variance
    x[2, ::2] = -2**15   # extreme spread
    x[2, 1::2] = 2**15 - 1
    x[3] = rng.integers(-3, 0, cols)  # negative mean that is not an integer
    ratio = rng.uniform(1e-3, 2e-2, cols) * rng.choice([-1, 1], cols)
    m, e = spec.dyadic(ratio)
    m, e = as_c(m, np.int32), as_c(e, np.uint8)
    bias = as_c(rng.integers(-2**40, 2**40, cols) >> (62 - e.astype(np.int64)).clip(0, 40),
                np.int64)
    y = np.zeros((rows, cols), np.int8)
    lib.abi_layernorm_i16_i8(ptr(x, np.int16), ptr(y, np.int8), rows, cols, ptr(m, np.int32),
                             ptr(e, np.uint8), ptr(bias, np.int64), 8)
    np.testing.assert_array_equal(y, spec.ilayernorm(x, m, e, bias, 8))

    x32 = as_c(rng.integers(-2**20, 2**20, (3, 96)), np.int32)  # widest the variance sum allows
    m, e = _dyadic(rng, 96, 1e-3, 0.4, negative=True)
    bias = as_c(rng.integers(-2**20, 2**20, 96), np.int64)
    y16 = np.zeros((3, 96), np.int16)
    lib.abi_layernorm_i32_i16(ptr(x32, np.int32), ptr(y16, np.int16), 3, 96, ptr(m, np.int32),
                              ptr(e, np.uint8), ptr(bias, np.int64), 16)
    np.testing.assert_array_equal(y16, spec.ilayernorm(x32, m, e, bias, 16))


def test_attention_matmuls(lib):
    t, h, hd = 7, 2, 5
    rng = np.random.default_rng(8)
    qkv = as_c(rng.integers(-128, 128, (1, t, 3 * h * hd)), np.int8)
    (m,), (e,) = spec.dyadic([0.013])
    attrs = {"heads": h, "head_dim": hd, "m": int(m), "e": int(e), "out_bits": 8}
    scores = np.zeros((h, t, t), np.int8)
    lib.abi_qk_matmul(ptr(qkv, np.int8), ptr(scores, np.int8), I64(int(m)), int(e), 8)
    qk = Layer("qk", "qk_matmul", ["qkv"], attrs)
    want = qk.op.golden(qk, qkv.astype(np.int64))
    np.testing.assert_array_equal(scores, want[0])

    probs = as_c(rng.integers(0, 2**15 + 1, (h, t, t)), np.uint16)
    (m,), (e,) = spec.dyadic([3e-4])
    attrs.update(m=int(m), e=int(e))
    out = np.zeros((t, h * hd), np.int8)
    lib.abi_pv_matmul(ptr(probs, np.uint16), ptr(qkv, np.int8), ptr(out, np.int8), I64(int(m)),
                      int(e), 8)
    pv = Layer("pv", "pv_matmul", ["p", "qkv"], attrs)
    want = pv.op.golden(pv, probs[None].astype(np.int64), qkv.astype(np.int64))
    np.testing.assert_array_equal(out, want[0])


def test_patch_embed(lib):
    ch, p, gh, gw, dim = 2, 3, 2, 3, 5
    rng = np.random.default_rng(9)
    image = as_c(rng.integers(-128, 128, (1, ch, gh * p, gw * p)), np.int8)
    weight = as_c(rng.integers(-128, 128, (dim, ch * p * p)), np.int8)
    bias = as_c(rng.integers(-5000, 5000, dim), np.int32)
    m, e = _dyadic(rng, dim, 1e-3, 5.0)
    cls = as_c(rng.integers(-2**15, 2**15, dim), np.int32)
    pos = as_c(rng.integers(-2**15, 2**15, (gh * gw, dim)), np.int32)
    layer = Layer("pe", "patch_embed", ["image"],
                  {"patch": p, "in_chans": ch, "dim": dim, "grid": [gh, gw], "out_bits": 16},
                  {"weight": weight, "bias": bias, "m": m, "e": e, "cls": cls, "pos": pos})
    want = layer.op.golden(layer, image.astype(np.int64))[0]
    tokens = np.zeros((1 + gh * gw, dim), np.int16)
    lib.abi_patch_embed(ptr(image, np.int8), ptr(np.ascontiguousarray(weight.T), np.int8),
                        ptr(tokens, np.int16), ptr(bias, np.int32), ptr(m, np.int32),
                        ptr(e, np.uint8), ptr(cls, np.int32), ptr(pos, np.int32), 16)
    np.testing.assert_array_equal(tokens, want)
    assert (np.abs(want[1:]) >= 2**15 - 1).any()  # the saturation path is exercised


def test_argmax(lib):
    logits = as_c([3, 9, -2, 9, 1], np.int32)
    assert lib.abi_argmax_i32(ptr(logits, np.int32), 5) == 1
    rng = np.random.default_rng(10)
    for _ in range(20):
        v = as_c(rng.integers(-50, 50, 100), np.int32)
        assert lib.abi_argmax_i32(ptr(v, np.int32), 100) == int(np.argmax(v))
