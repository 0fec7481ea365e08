"""Fixed-point golden ops against exact Python-integer references and their stated bounds.

Bounds asserted here are the ones ``docs/integer-spec.md`` derives (section numbers in comments).
"""

import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ivit_hls import spec
from ivit_hls.spec.fixedpoint import DYADIC_MAX_SHIFT

INT64_MIN = -(1 << 63)

# dyadic's cast warning is a known wart, shown by test_dyadic_emits_no_warning; keep logs clean.
pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered in cast"),
              pytest.mark.filterwarnings("ignore:overflow encountered in multiply")]


def _py_round_shift(v: int, e: int) -> int:
    """Round half up of v / 2^e with Python's unbounded integers."""
    return (v + (1 << (e - 1))) >> e


def _py_sat(v: int, bits: int) -> int:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return min(max(v, lo), hi)


# ---------------------------------------------------------------- dyadic (spec §3)

def _check_dyadic(ratios):
    ratios = np.asarray(ratios, dtype=np.float64)
    m, e = spec.dyadic(ratios)
    for r, mi, ei in zip(ratios.ravel(), np.ravel(m), np.ravel(e)):
        mi, ei = int(mi), int(ei)
        assert 1 <= ei <= DYADIC_MAX_SHIFT
        if r == 0:
            assert (mi, ei) == (0, 31)
            continue
        if ei < DYADIC_MAX_SHIFT or abs(mi) >= 1 << 30:
            assert (1 << 30) <= abs(mi) < (1 << 31), (r, mi, ei)
            # |m - r 2^e| <= 1/2 and |m| >= 2^30: relative error <= 2^-31 (exact rationals)
            err = abs(Fraction(mi, 1 << ei) - Fraction(r))
            assert err <= abs(Fraction(r)) / (1 << 31), (r, mi, ei)
            assert np.sign(mi) == np.sign(r)
        else:  # too small for e <= 62: absolute error <= 2^-63 (m may round to 0)
            assert abs(mi) < 1 << 30
            assert abs(Fraction(mi, 1 << ei) - Fraction(r)) <= Fraction(1, 1 << 63)
            assert mi == 0 or np.sign(mi) == np.sign(r)


def test_dyadic_random_log_uniform():
    rng = np.random.default_rng(1)
    mags = 2.0 ** rng.uniform(-40, 29.99, size=4000)
    signs = rng.choice([-1.0, 1.0], size=mags.size)
    _check_dyadic(mags * signs)


@given(st.floats(min_value=2.0 ** -70, max_value=2.0 ** 29.9, allow_nan=False))
@settings(max_examples=300, deadline=None)
def test_dyadic_property(r):
    _check_dyadic([r, -r])


def test_dyadic_negative_mirrors_positive():
    r = np.array([1e-6, 0.37, 1.0, 3.999, 12345.678])
    mp, ep = spec.dyadic(r)
    mn, en = spec.dyadic(-r)
    np.testing.assert_array_equal(mn, -mp)
    np.testing.assert_array_equal(en, ep)


def test_dyadic_zero_and_renormalised_mantissa():
    m, e = spec.dyadic(0.0)
    assert (int(m), int(e)) == (0, 31)
    # 1 - 2^-33 rounds to a 2^31 mantissa, which must be renormalised to 2^30 (and e - 1).
    m, e = spec.dyadic(1.0 - 2.0 ** -33)
    assert (int(m), int(e)) == (1 << 30, 30)
    m, e = spec.dyadic(-(1.0 - 2.0 ** -33))
    assert (int(m), int(e)) == (-(1 << 30), 30)
    # powers of two are exact
    for p in range(-31, 30):
        m, e = spec.dyadic(2.0 ** p)
        assert int(m) == 1 << 30 and int(e) == 30 - p


def test_dyadic_tiny_ratio_keeps_shift_62():
    m, e = spec.dyadic(np.array([2.0 ** -40, 3e-20, 1e-30]))
    np.testing.assert_array_equal(e, [62, 62, 62])
    np.testing.assert_array_equal(m, [1 << 22, round(3e-20 * 2.0 ** 62), 0])


@pytest.mark.parametrize("bad", [2.0 ** 30, 2.0 ** 31, -2.0 ** 30, 1e300, np.inf, np.nan])
def test_dyadic_too_large_or_not_finite_raises(bad):
    with pytest.raises(ValueError):
        spec.dyadic(bad)


def test_dyadic_largest_representable_ratio():
    m, e = spec.dyadic(2.0 ** 30 - 1.0)
    assert (int(m), int(e)) == ((1 << 31) - 2, 1)


def test_dyadic_just_below_limit_is_accepted():
    m, e = spec.dyadic(2.0 ** 30 - 0.25)
    assert int(e) == 1 and int(m) == (1 << 31) - 1


def test_dyadic_emits_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec.dyadic(np.array([4.0, 0.5]))


# ---------------------------------------------------------------- requant (spec §3)

def test_requant_rounds_half_up():
    # acc*m / 2^e exactly on a half: half up means toward +infinity, for both signs.
    acc = np.array([1, -1, 3, -3, 5, -5, 2, -2])
    got = spec.requant(acc, 1, 1)
    np.testing.assert_array_equal(got, [1, 0, 2, -1, 3, -2, 1, -1])
    # and the same through a non-trivial multiplier: 3*2^29 / 2^30 = 1.5 -> 2, -1.5 -> -1
    np.testing.assert_array_equal(spec.requant([3, -3], 1 << 29, 30), [2, -1])


@given(acc=st.integers(-(1 << 31), (1 << 31) - 1), m=st.integers(-(1 << 31) + 1, (1 << 31) - 1),
       e=st.integers(1, 62), off=st.integers(-(1 << 60), 1 << 60),
       bits=st.sampled_from([None, 8, 16, 32]))
@settings(max_examples=500, deadline=None)
def test_requant_matches_python_ints(acc, m, e, off, bits):
    want = _py_round_shift(acc * m + off, e)
    if bits is not None:
        want = _py_sat(want, bits)
    assert int(spec.requant(np.array([acc]), m, e, bits, offset=off)[0]) == want


def test_requant_saturates_and_broadcasts_per_channel():
    acc = np.array([[10 ** 6, -10 ** 6, 100, -100]])
    m = np.array([1 << 30, 1 << 30, 1 << 30, -(1 << 30)])
    e = np.array([30, 30, 31, 31])
    np.testing.assert_array_equal(spec.requant(acc, m, e, 8), [[127, -128, 50, 50]])
    np.testing.assert_array_equal(spec.requant(acc, m, e, 16), [[32767, -32768, 50, 50]])
    np.testing.assert_array_equal(spec.requant(acc, m, e), [[10 ** 6, -10 ** 6, 50, 50]])


def test_round_shift_and_saturate():
    np.testing.assert_array_equal(spec.round_shift([7, -7, 8, -8, -9], 2), [2, -2, 2, -2, -2])
    np.testing.assert_array_equal(spec.saturate([300, -300, 5], 8), [127, -128, 5])
    np.testing.assert_array_equal(spec.saturate([300, -3, 5], 8, signed=False), [255, 0, 5])
    assert spec.signed_range(16) == (-32768, 32767)


# ---------------------------------------------------------------- residual add (spec §4)

@given(a=st.integers(-(1 << 31), (1 << 31) - 1), b=st.integers(-(1 << 15), (1 << 15) - 1),
       ma=st.integers(1 << 30, (1 << 31) - 1), ea=st.integers(20, 40),
       mb=st.integers(1 << 30, (1 << 31) - 1), eb=st.integers(28, 34))
@settings(max_examples=300, deadline=None)
def test_residual_add_matches_python_ints(a, b, ma, ea, mb, eb):
    want = _py_sat(_py_round_shift(a * ma, ea) + _py_round_shift(b * mb, eb), 16)
    got = spec.residual_add(np.array([a]), ma, ea, np.array([b]), mb, eb, 16)
    assert int(got[0]) == want


def test_residual_add_saturates_once_after_the_sum():
    # each branch alone is out of int8 range, the sum is not: no intermediate saturation.
    got = spec.residual_add(np.array([200]), 1 << 30, 30, np.array([-150]), 1 << 30, 30, 8)
    assert int(got[0]) == 50
    got = spec.residual_add(np.array([200]), 1 << 30, 30, np.array([100]), 1 << 30, 30, 8)
    assert int(got[0]) == 127


# ---------------------------------------------------------------- int GEMM (spec §5)

def _py_matmul(a, b):
    a, b = a.tolist(), b.tolist()
    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]


@pytest.mark.parametrize("k,lim_a,lim_b", [(7, 127, 127), (384, 127, 127), (64, 1 << 15, 127),
                                           (197, 1 << 15, (1 << 15) - 1)])
def test_int_matmul_exact(k, lim_a, lim_b):
    rng = np.random.default_rng(k)
    a = rng.integers(-lim_a, lim_a + 1, size=(5, k))
    b = rng.integers(-lim_b, lim_b + 1, size=(k, 6))
    got = spec.int_matmul(a, b)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.array(_py_matmul(a, b), dtype=np.int64))


def test_int_matmul_exact_just_below_float64_limit():
    # K·max|a|·max|b| = 2^53 - 2^21: the bound holds, every partial sum is exact in float64,
    # and the values are chosen so that float32 (24-bit mantissa) would round.
    k = (1 << 21) - 1
    a = np.full((1, k), (1 << 16) - 1, dtype=np.int64)
    a[0, ::3] = -(1 << 16) + 1
    b = np.full((k, 1), 1 << 16, dtype=np.int64)
    b[1::2, 0] = (1 << 16) - 1
    assert k * ((1 << 16) - 1) * (1 << 16) < 1 << 53
    want = int(sum(int(x) * int(y) for x, y in zip(a[0], b[:, 0])))
    assert int(spec.int_matmul(a, b)[0, 0]) == want


def test_int_matmul_batched_shapes():
    rng = np.random.default_rng(5)
    a = rng.integers(-128, 128, size=(2, 3, 4, 8))
    b = rng.integers(-128, 128, size=(2, 3, 8, 5))
    got = spec.int_matmul(a, b)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(got[i, j], _py_matmul(a[i, j], b[i, j]))


def test_int_matmul_refuses_possible_overflow():
    a = np.full((1, 4), 1 << 25, dtype=np.int64)
    b = np.full((4, 1), 1 << 26, dtype=np.int64)  # 4 · 2^25 · 2^26 = 2^53
    with pytest.raises(OverflowError):
        spec.int_matmul(a, b)
    b[0, 0] = (1 << 26) - 1
    b[:] = (1 << 26) - 1  # 4 · 2^25 · (2^26 - 1) < 2^53: accepted and exact
    assert int(spec.int_matmul(a, b)[0, 0]) == 4 * (1 << 25) * ((1 << 26) - 1)


def test_int_matmul_refuses_int64_min():
    with pytest.raises(OverflowError):
        spec.int_matmul(np.array([[INT64_MIN]]), np.array([[1]]))


# ---------------------------------------------------------------- quantize, bit_length (§2)

def test_quantize_round_half_even_and_symmetric_clip():
    s = 0.5
    x = np.array([0.25, 0.75, -0.25, -0.75, 1.25, 100.0, -100.0, 0.0])
    np.testing.assert_array_equal(spec.quantize(x, s, 8), [0, 2, 0, -2, 2, 127, -127, 0])
    # never the asymmetric -2^(b-1)
    assert int(spec.quantize(-1e9, 1.0, 16)) == -32767


def test_quantize_matches_python_round():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, size=2000)
    s = float(np.abs(x).max() / 127)
    got = spec.quantize(x, s, 8)
    want = [max(-127, min(127, round(v / s))) for v in x.tolist()]
    np.testing.assert_array_equal(got, want)
    assert np.all(np.abs(got * s - x) <= s / 2 * (1 + 1e-12))


def test_quantize_per_channel_and_zero_scale():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]])
    scale = np.array([1.0 / 127, 0.0, 3.0 / 127])
    np.testing.assert_array_equal(spec.quantize(x, scale, 8), [[127, 0, 127], [-127, 0, -127]])


def test_bit_length_matches_python():
    vals = [0, 1, 2, 3, 255, 256] + [(1 << b) + d for b in range(1, 63) for d in (-1, 0, 1)]
    vals = [v for v in vals if v < 1 << 63]
    np.testing.assert_array_equal(spec.bit_length(np.array(vals, dtype=np.int64)),
                                  [v.bit_length() for v in vals])
    with pytest.raises(ValueError):
        spec.bit_length(np.array([-1]))
