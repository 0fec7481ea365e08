"""ShiftExp, Shiftmax and ShiftGELU against float64 references, with the spec's derived bounds.

The bounds (docs/integer-spec.md §7-§9):

* ShiftExp, unclamped (``p > -N·I0``), ``x = -u/I0``:
  ``(1 - 1/I0)·2^(-1/(2 I0)) <= ShiftExp(u) / (I0·2^N·e^-x) <= U_LIN·2^(C·x + 15/(16 I0))``
  with ``U_LIN = max (1+f/2)/2^f = 2/(e ln 2)`` and ``C = log2(e) - 1.4375``; clamped: exactly I0.
* Shiftmax: ``0 <= P <= 2^Q`` and ``|ΣP - 2^Q| <= T/2 + T·2^(Q-30)``.
* ShiftGELU: ``|x·σ_q·S/2^15 - GELU(a)| <= |a|·(2^-15 + Δσ + |σ(1.702a) - Φ(a)|)``, Δσ from the
  argument error of the effective sigmoid (shifter, I0 rounding, ShiftExp ratio) or the clamp.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ivit_hls import spec
from ivit_hls.spec.shift import GELU_SIGMOID_BITS, shiftmax_div_bits

C_LOG2E = math.log2(math.e) - 1.4375
U_LIN = 2.0 / (math.e * math.log(2.0))
_erf = np.frompyfunc(math.erf, 1, 1)


def phi(a):
    return 0.5 * (1.0 + _erf(np.asarray(a, dtype=np.float64) / math.sqrt(2.0)).astype(np.float64))


def sigmoid(y):
    return 1.0 / (1.0 + np.exp(-y))


def exp_ratio_bounds(x, i0):
    """Bounds of ShiftExp(u)/(I0·2^N·e^-x) for unclamped u = -x·I0 (module docstring)."""
    lo = (1.0 - 1.0 / i0) * 2.0 ** (-1.0 / (2 * i0))
    hi = U_LIN * 2.0 ** (C_LOG2E * np.asarray(x) + 15.0 / (16 * i0))
    return lo, hi


def _p_of(u):
    return u + (u >> 1) - (u >> 4)


# ---------------------------------------------------------------- exp_constants

@pytest.mark.parametrize("scale", [2.0 ** -8, 1e-4, 0.003, 0.05, 0.1234, 0.5, 1.0, 7.3, 1000.0])
def test_exp_constants_definition(scale):
    k, i0 = spec.exp_constants(scale)
    assert k >= 0 and 2.0 ** k / scale >= 256
    assert k == 0 or 2.0 ** (k - 1) / scale < 256  # smallest such k
    assert i0 == round(2.0 ** k / scale)
    assert i0 >= 256 and (k == 0 or i0 <= 512)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_exp_constants_rejects_bad_scale(bad):
    with pytest.raises(ValueError):
        spec.exp_constants(bad)


# ---------------------------------------------------------------- ShiftExp

@pytest.mark.parametrize("i0", [256, 300, 383, 511, 512, 3277])
@pytest.mark.parametrize("n", [8, 15, 23])
def test_shift_exp_bound_exhaustive(i0, n):
    u = np.arange(-(n * i0 * 3) // 4 - 2 * i0, 1, dtype=np.int64)
    got = spec.shift_exp(u, i0, n, "paper")
    x = -u / i0
    clamped = _p_of(u) <= -n * i0
    assert clamped.any() and (~clamped).any()
    np.testing.assert_array_equal(got[clamped], i0)  # the clamp value stands for 2^-N
    ratio = got[~clamped] / (i0 * 2.0 ** n * np.exp(-x[~clamped]))
    lo, hi = exp_ratio_bounds(x[~clamped], i0)
    assert ratio.min() >= lo
    assert np.all(ratio <= hi)
    assert int(got[-1]) == i0 << n  # exp(0) is exact
    assert np.all(np.diff(got) >= 0)  # monotone in u


def test_shift_exp_very_negative_and_positive_input():
    u = np.array([-(1 << 40), -(1 << 50), -10 ** 6])
    np.testing.assert_array_equal(spec.shift_exp(u, 300, 15, "paper"), [300, 300, 300])
    np.testing.assert_array_equal(spec.shift_exp(u, 300, 15), [0, 0, 0])  # corrected: dropped
    with pytest.raises(ValueError):
        spec.shift_exp(np.array([1]), 300, 15)


# ---------------------------------------------------------------- Shiftmax

def _softmax(x):
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _vit_logits(rng, rows, t, std):
    x = rng.normal(0.0, std, size=(rows, t))
    for r in range(rows):  # a few large outliers per row
        idx = rng.choice(t, size=rng.integers(1, 4), replace=False)
        x[r, idx] += rng.uniform(3.0, 8.0, size=idx.size) * std
    return x


def _shiftmax_checks(x_int, scale, n, out_bits):  # the paper's form (exp_form="paper")
    """Assert range, row-sum and per-element bounds of Shiftmax on integer rows."""
    k, i0 = spec.exp_constants(scale)
    q = out_bits - 1
    t = x_int.shape[-1]
    p_int = spec.shiftmax(x_int, k, i0, n, out_bits, "paper")
    assert p_int.min() >= 0 and p_int.max() <= 1 << q
    sums = p_int.sum(axis=-1)
    assert np.all(np.abs(sums - (1 << q)) <= t / 2 + t * 2.0 ** (q - 30))
    # per element: normalised ShiftExp ratios are within [L/(U + T 2^-N), U/L] of the truth, the
    # clamp adds at most 2^-N, division and rounding at most 1.5 units of 2^-Q.
    xe = (n + 15 / (16 * i0)) / 1.4375
    lo, hi = exp_ratio_bounds(xe, i0)
    rel = max(hi / lo - 1.0, 1.0 - lo / (hi + t * 2.0 ** -n))
    p = _softmax(x_int * scale)
    bound = p * rel + 2.0 ** -n + 1.5 * 2.0 ** -q
    assert np.all(np.abs(p_int / 2.0 ** q - p) <= bound)
    return p_int


@pytest.mark.parametrize("std", [1.0, 3.0, 6.0])
def test_shiftmax_vit_rows_16bit(std):
    rng = np.random.default_rng(int(std * 10))
    x = _vit_logits(rng, 64, 197, std)
    scale = np.abs(x).max() / 127
    x_int = spec.quantize(x, scale, 8)
    p_int = _shiftmax_checks(x_int, scale, 15, 16)
    # the derived row-sum bound means every row of 197 sums to 1 within 0.31 % at Q = 15
    assert np.all(np.abs(p_int.sum(-1) / 2.0 ** 15 - 1.0) <= 0.01)


@pytest.mark.parametrize("n,out_bits", [(15, 8), (15, 16), (10, 16), (20, 16)])
def test_shiftmax_random_rows(n, out_bits):
    rng = np.random.default_rng(n + out_bits)
    x_int = rng.integers(-128, 128, size=(50, 33))
    _shiftmax_checks(x_int, 0.07, n, out_bits)


@given(st.lists(st.integers(-127, 127), min_size=1, max_size=40),
       st.sampled_from([0.01, 0.05, 0.2, 0.9]))
@settings(max_examples=200, deadline=None)
def test_shiftmax_property(row, scale):
    _shiftmax_checks(np.array([row]), scale, 15, 16)


@pytest.mark.parametrize("t", [1, 2, 3, 7, 197, 1000])
def test_shiftmax_all_equal_rows_are_uniform(t):
    for value in (-128, 0, 127):
        p = spec.shiftmax(np.full((1, t), value), 3, 300, 15, 16)
        assert np.all(p == p[0, 0])
        assert abs(int(p[0, 0]) - 2.0 ** 15 / t) <= 0.5 + 2.0 ** -15


def test_shiftmax_single_element_row_is_one():
    for i0 in (256, 300, 512):
        for n in (8, 15, 22):
            assert int(spec.shiftmax(np.array([[5]]), 0, i0, n, 16)[0, 0]) == 1 << 15


def test_shiftmax_shift_invariant_and_very_negative_rows():
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, size=(10, 50))
    want = spec.shiftmax(x, 2, 400, 15, 16)
    for c in (-(1 << 40), -12345, 1 << 30):
        np.testing.assert_array_equal(spec.shiftmax(x + c, 2, 400, 15, 16), want)


def test_shiftmax_large_outlier():
    t, n, q = 197, 15, 15
    x = np.zeros((1, t), dtype=np.int64)
    x[0, 17] = 1 << 20  # far beyond the clamp: every other ShiftExp is exactly I0 (2^-N)
    p = spec.shiftmax(x, 0, 300, n, 16, "paper")
    # exact: the max gets 2^Q/(1 + (T-1) 2^-N), the others 2^(Q-N)/(1 + (T-1) 2^-N), rounded
    big = 2.0 ** q / (1 + (t - 1) * 2.0 ** -n)
    assert abs(int(p[0, 17]) - big) <= 1
    others = np.delete(p[0], 17)
    assert np.all(np.abs(others - big * 2.0 ** -n) <= 1)


def test_shiftmax_refuses_reciprocal_shift_past_int64():
    # M = bitlen(I0 << N) + 30 = 63 would wrap 1 << M; the spec refuses instead
    assert shiftmax_div_bits(512, 23) == 63
    with pytest.raises(ValueError, match="M=63"):
        spec.shiftmax(np.array([[0, -3, -5]]), 0, 512, 23, 16)
    p = spec.shiftmax(np.array([[0, -3, -5]]), 0, 511, 23, 16)  # M = 62 is fine
    assert p.min() >= 0 and p.max() <= 1 << 15


# ---------------------------------------------------------------- ShiftGELU

def _gelu_bound(a, scale, k, i0, n, row_span=None):
    """Per-element bound of |out·S/2^15 - GELU(a)| (module docstring; spec §9)."""
    a_abs = np.abs(a)
    eta = 2.0 ** k / (scale * i0) - 1.0
    dz = a_abs * abs(1.6875 * (1 + eta) - 1.702) + 2.3125 / i0
    lo, _ = exp_ratio_bounds(0.0, i0)
    ln_lo = -math.log(lo)
    if row_span is None:  # symmetric: one ShiftExp of -|z|
        xe = 1.6875 * a_abs * (1 + eta) + 2.3125 / i0
        ln_hi = math.log(U_LIN) + math.log(2) * (C_LOG2E * xe + 15 / (16 * i0))
        d = dz + np.maximum(ln_hi, ln_lo)
    else:  # rowmax: the ratio of two ShiftExp errors
        xe = 1.6875 * row_span * (1 + eta) + 5.0 / i0
        ln_hi = math.log(U_LIN) + math.log(2) * (C_LOG2E * xe + 15 / (16 * i0))
        d = dz + ln_hi + ln_lo
    s_mid = sigmoid(np.maximum(0.0, 1.702 * a_abs - d))
    d_unclamped = d * s_mid * (1 - s_mid)
    d_clamped = np.maximum(2.0 ** -n, np.exp(-1.702 * a_abs))
    # the clamp (p <= -N·I0) needs |z|/I0 >= (N - 1/(2 I0))/1.4375, and |z|/I0 <= xe
    may_clamp = (row_span is None) & (xe >= (n - 0.5 / i0) / 1.4375)
    d_sig = np.where(may_clamp, np.maximum(d_unclamped, d_clamped), d_unclamped)
    model = np.abs(sigmoid(1.702 * a) - phi(a))
    return a_abs * (2.0 ** -GELU_SIGMOID_BITS + d_sig + model + 1e-12)


def _gelu_ref(a):
    return a * phi(a)


@pytest.mark.parametrize("bits,span", [(8, 4.0), (8, 10.0), (8, 100.0), (16, 10.0), (16, 64.0)])
@pytest.mark.parametrize("n", [15, 23])
def test_shift_gelu_symmetric_bound(bits, span, n):
    hi = (1 << (bits - 1)) - 1
    scale = span / hi
    k, i0 = spec.exp_constants(scale)
    x = np.arange(-hi, hi + 1, dtype=np.int64) if bits == 8 else \
        np.unique(np.linspace(-hi, hi, 20001).astype(np.int64))
    out = spec.shift_gelu(x, k, i0, n, "symmetric")
    a = x * scale
    err = np.abs(out * scale / 2.0 ** GELU_SIGMOID_BITS - _gelu_ref(a))
    assert np.all(err <= _gelu_bound(a, scale, k, i0, n))


def test_shift_gelu_symmetric_sigma_range_and_monotone():
    scale = 12.0 / 127
    k, i0 = spec.exp_constants(scale)
    x = np.arange(-127, 128, dtype=np.int64)
    out = spec.shift_gelu(x, k, i0, 23, "symmetric")
    nz = x != 0
    sigma = out[nz] // x[nz]
    np.testing.assert_array_equal(sigma * x[nz], out[nz])  # the core is x·σ_q exactly
    assert sigma.min() >= 0 and sigma.max() <= 1 << GELU_SIGMOID_BITS
    assert np.all(np.diff(sigma) >= 0)
    assert int(out[~nz][0]) == 0


@pytest.mark.parametrize("n,span", [(15, 3.0), (23, 4.5)])
def test_shift_gelu_rowmax_bound_inside_clamp_range(n, span):
    scale = span / 127
    k, i0 = spec.exp_constants(scale)
    # precondition: no ShiftExp in the row reaches the clamp
    eta = 2.0 ** k / (scale * i0) - 1.0
    assert 1.4375 * (1.6875 * 2 * span * (1 + eta) + 5.0 / i0) + 1 / i0 < n
    rng = np.random.default_rng(n)
    x = rng.integers(-127, 128, size=(40, 96))
    out = spec.shift_gelu(x, k, i0, n, form="rowmax")
    a = x * scale
    err = np.abs(out * scale / 2.0 ** GELU_SIGMOID_BITS - _gelu_ref(a))
    assert np.all(err <= _gelu_bound(a, scale, k, i0, n, row_span=2 * span))


def test_shift_gelu_rowmax_equals_symmetric_when_row_max_below_zero():
    scale = 9.0 / 127
    k, i0 = spec.exp_constants(scale)
    rng = np.random.default_rng(2)
    x = -rng.integers(0, 128, size=(20, 64))  # every row max <= 0 (some rows hit 0)
    x[::3, 5] = 0
    np.testing.assert_array_equal(spec.shift_gelu(x, k, i0, 23, form="rowmax"),
                                  spec.shift_gelu(x, k, i0, 23, "symmetric"))


def test_shift_gelu_rowmax_breaks_beyond_row_max_8():
    n = 15
    scale = 16.0 / 127
    k, i0 = spec.exp_constants(scale)
    x = np.arange(-127, 128, dtype=np.int64)[None, :]  # uniform on ±16: row max 16 > 8
    out = spec.shift_gelu(x, k, i0, n, form="rowmax")
    # both ShiftExp(z - M') and ShiftExp(-M') hit the clamp for every z <= 0: σ = 1/2 exactly
    neg = x[0] < 0
    np.testing.assert_array_equal(out[0, neg], x[0, neg] << (GELU_SIGMOID_BITS - 1))
    a = x[0] * scale
    ref = _gelu_ref(a)
    rel = lambda y: np.linalg.norm(y * scale / 2.0 ** 15 - ref) / np.linalg.norm(ref)
    assert rel(out[0]) > 0.3  # the negative half alone contributes |a|/2 errors
    assert rel(spec.shift_gelu(x, k, i0, n, "symmetric")[0]) < 0.01
    assert rel(spec.shift_gelu(x, k, i0, n)[0]) < 0.001


def test_shift_gelu_unknown_form():
    with pytest.raises(ValueError):
        spec.shift_gelu(np.array([1]), 0, 300, 15, form="paper")
