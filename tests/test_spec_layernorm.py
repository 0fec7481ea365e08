"""isqrt (exact on its whole range) and I-LayerNorm against float64 LayerNorm.

Per-row bound on the normalised output (docs/integer-spec.md §10), with ``d = x - mean(x)``,
``y = 16x - floor(16 Σx / C)``, ``δ = 16·mean - floor(16·mean)``, ``V = Σy^2``,
``sd = isqrt(V)``:
``||n - 2^16 d/||d|| || / 2^16 <= √C/2^17 + sd/2^46 + 1/(√V - 1) + δ√C/(16 ||d||)``
(rounding of n, floor of the reciprocal, floor of the square root, floor of the mean).
"""

import math

import numpy as np
import pytest

from ivit_hls import spec
from ivit_hls.spec.layernorm import ISQRT_MAX_INPUT, LN_FRAC_BITS, LN_MEAN_FRAC_BITS

# ---------------------------------------------------------------- isqrt


def _check_isqrt(values):
    v = np.asarray(values, dtype=np.int64)
    want = np.array([math.isqrt(int(i)) for i in v.ravel()], dtype=np.int64).reshape(v.shape)
    np.testing.assert_array_equal(spec.isqrt(v), want)


def test_isqrt_exhaustive_up_to_2_22():
    v = np.arange(0, (1 << 22) + 1, dtype=np.int64)
    got = spec.isqrt(v)
    # floor(sqrt(V)) is the unique s with s^2 <= V < (s+1)^2
    assert np.all(got * got <= v) and np.all((got + 1) * (got + 1) > v)


def test_isqrt_bit_length_boundaries():
    vals = [(1 << b) + d for b in range(0, 62) for d in (-1, 0, 1)] + [ISQRT_MAX_INPUT]
    _check_isqrt([x for x in vals if 0 <= x <= ISQRT_MAX_INPUT])


def test_isqrt_squares_near_powers_of_two():
    vals = []
    for j in range(0, 32):
        for s in {(1 << j) + d for d in range(-3, 4)}:
            if s >= 0:
                vals += [s * s - 1, s * s, s * s + 1, s * s + 2 * s]  # s^2+2s = (s+1)^2 - 1
    _check_isqrt([x for x in vals if 0 <= x <= ISQRT_MAX_INPUT])


def test_isqrt_random_uniform_and_log_uniform():
    rng = np.random.default_rng(11)
    uni = rng.integers(0, ISQRT_MAX_INPUT, size=20000, endpoint=True)
    bits = rng.integers(1, 63, size=20000)
    logu = rng.integers(0, 1 << 62, size=20000) >> (62 - bits)
    _check_isqrt(np.concatenate([uni, logu]))
    rs = rng.integers(1, 1 << 31, size=5000)  # squares ± 1 anywhere in range
    sq = np.concatenate([rs * rs - 1, rs * rs, rs * rs + 1])
    _check_isqrt(sq[sq <= ISQRT_MAX_INPUT])


@pytest.mark.parametrize("bad", [-1, 1 << 62, (1 << 63) - 1])
def test_isqrt_rejects_out_of_range(bad):
    with pytest.raises(ValueError):
        spec.isqrt(np.array([bad], dtype=np.int64))


@pytest.mark.parametrize("bad", [1 << 63, 1 << 64, -(1 << 63) - 1, [1, 1 << 70]])
def test_isqrt_rejects_beyond_int64_with_the_same_error(bad):
    with pytest.raises(ValueError, match="outside"):
        spec.isqrt(bad)


# ---------------------------------------------------------------- I-LayerNorm


def _float_normalised(x):
    """2^16 · d / ||d|| per row, float64 (eps = 0)."""
    d = x - x.mean(axis=-1, keepdims=True)
    return 2.0 ** LN_FRAC_BITS * d / np.linalg.norm(d, axis=-1, keepdims=True)


def _row_bound(x):
    x = np.asarray(x, dtype=np.int64)
    c = x.shape[-1]
    f = 1 << LN_MEAN_FRAC_BITS
    s = x.sum(axis=-1) * f
    delta = (s % c) / c  # f·mean - floor(f·mean)
    y = x * f - (s // c)[:, None]
    v = (y * y).sum(axis=-1).astype(np.float64)
    sd = spec.isqrt((y * y).sum(axis=-1)).astype(np.float64)
    d = x - x.mean(axis=-1, keepdims=True)
    dn = np.linalg.norm(d, axis=-1)
    with np.errstate(divide="ignore"):  # V = 1: no claim (infinite bound)
        return (math.sqrt(c) / 2.0 ** 17 + sd / 2.0 ** 46 + 1.0 / (np.sqrt(v) - 1)
                + delta * math.sqrt(c) / (f * dn))


def _rel_err(x):
    n = spec.ilayernorm_normalize(x)
    t = _float_normalised(np.asarray(x, dtype=np.float64))
    return np.linalg.norm(n - t, axis=-1) / 2.0 ** LN_FRAC_BITS


def _vit_rows(rng, rows, c, token_spread):
    """Residual-stream-like rows: Gaussian channels with a per-token offset and magnitude
    (uniform in [1/token_spread, token_spread]), 6 outlier channels 10-50x larger,
    quantized to int16 with one per-tensor scale (the tensor's max maps to 32767)."""
    mag = rng.uniform(1.0 / token_spread, token_spread, size=(rows, 1))
    x = (rng.normal(0, 1, (rows, c)) + rng.normal(0, 0.5, (rows, 1))) * mag
    ch = rng.choice(c, 6, replace=False)
    big = rng.uniform(10, 50, 6) * rng.choice([-1, 1], 6)
    x[:, ch] = big * (1 + 0.1 * rng.normal(size=(rows, 6))) * mag
    return spec.quantize(x, np.abs(x).max() / 32767, 16)


@pytest.mark.parametrize("c", [3, 16, 384, 768])
def test_ilayernorm_normalize_row_bound_random(c):
    rng = np.random.default_rng(c)
    for lim in (2, 100, 1 << 15):
        x = rng.integers(-lim, lim, size=(200, c))
        x = x[np.ptp(x, axis=-1) > 0]
        assert np.all(_rel_err(x) <= _row_bound(x) + 1e-12)


@pytest.mark.parametrize("c", [384, 768])
def test_ilayernorm_normalize_row_bound_outlier_rows(c):
    rng = np.random.default_rng(c + 1)
    for spread in (1.0, 2.0, 8.0):
        x = _vit_rows(rng, 300, c, spread)
        assert np.all(_rel_err(x) <= _row_bound(x) + 1e-12)


@pytest.mark.parametrize("c", [384, 768])
def test_ilayernorm_p99_on_realistic_rows(c):
    # tokens of one magnitude (DESIGN §6 rows: outlier channels 10-50x), int16 per-tensor scale
    rng = np.random.default_rng(100 + c)
    x = _vit_rows(rng, 2000, c, 1.0)
    assert np.percentile(_rel_err(x), 99) <= 1e-3


@pytest.mark.parametrize("c", [384, 768])
def test_ilayernorm_p99_when_token_magnitudes_vary_4x(c):
    # the mean's 4 fractional bits keep small-magnitude tokens accurate too
    rng = np.random.default_rng(200 + c)
    x = _vit_rows(rng, 2000, c, 2.0)
    assert np.percentile(_rel_err(x), 99) <= 1e-3


def test_ilayernorm_normalize_range_and_constant_rows():
    rng = np.random.default_rng(4)
    x = rng.integers(-(1 << 15), 1 << 15, size=(100, 64))
    n = spec.ilayernorm_normalize(x)
    assert np.abs(n).max() <= 1 << LN_FRAC_BITS
    const = np.full((3, 10), 1234)
    const[1] = -32768
    np.testing.assert_array_equal(spec.ilayernorm_normalize(const), 0)
    # one channel: always zero variance
    np.testing.assert_array_equal(spec.ilayernorm_normalize(np.array([[7], [-3]])), 0)
    # a single non-zero among zeros reaches the |n| = 2^16 limit exactly
    spike = np.zeros((1, 8), dtype=np.int64)
    spike[0, 3] = 1
    assert int(spec.ilayernorm_normalize(spike)[0, 3]) == 1 << LN_FRAC_BITS


def _fold(gamma, beta, c, s_out):
    """The affine fold of spec §10: (m, e) of γ√C/(2^16 S_out), B = round(β 2^e / S_out)."""
    m, e = spec.dyadic(gamma * math.sqrt(c) / (2.0 ** LN_FRAC_BITS * s_out))
    bias = np.round(beta * 2.0 ** e / s_out).astype(np.int64)
    return m, e, bias


@pytest.mark.parametrize("c", [16, 384])
def test_ilayernorm_affine_fold_vs_float(c):
    rng = np.random.default_rng(c + 7)
    x = _vit_rows(rng, 200, c, 1.0)
    gamma = rng.normal(1.0, 0.5, c)
    gamma[::5] *= -1  # negative γ: negative multipliers
    beta = rng.normal(0, 0.3, c)
    s_out = 8.0 / 127
    m, e, bias = _fold(gamma, beta, c, s_out)
    out = spec.ilayernorm(x, m, e, bias, 8)
    n = spec.ilayernorm_normalize(x)
    # given n, the fold is exact up to output rounding (1/2), the rounding of B (2^-e/2) and the
    # dyadic multiplier (|γ_c n_c √C/2^16| · 2^-31 / S_out)
    want = (gamma * n * math.sqrt(c) / 2.0 ** LN_FRAC_BITS + beta) / s_out
    lim = 0.5 + 0.5 * 2.0 ** -e + np.abs(want - beta / s_out) * 2.0 ** -31 + 1e-9
    inside = np.abs(want) < 127
    assert np.all(np.abs(out - want)[inside] <= np.broadcast_to(lim, want.shape)[inside])
    assert np.all(out[want >= 128] == 127) and np.all(out[want <= -129] == -128)


def test_ilayernorm_zero_variance_gives_beta():
    c = 32
    rng = np.random.default_rng(9)
    gamma = rng.normal(1, 0.5, c)
    beta = rng.normal(0, 2.0, c)  # some β/S_out beyond int8: saturated
    s_out = 4.0 / 127
    m, e, bias = _fold(gamma, beta, c, s_out)
    x = np.full((4, c), -77)
    out = spec.ilayernorm(x, m, e, bias, 8)
    want = spec.saturate(spec.round_shift(bias, e), 8)
    np.testing.assert_array_equal(out, np.broadcast_to(want, out.shape))
    r = beta / s_out
    inside = np.abs(r) < 127
    assert np.all(np.abs(out[0, inside] - r[inside]) <= 0.5 + 2.0 ** -e[inside])
    assert np.all(out[0, r >= 128] == 127) and np.all(out[0, r <= -129] == -128)


def test_ilayernorm_normalize_refuses_overflowing_rows():
    x = np.array([[-(1 << 31), 0] * 8], dtype=np.int64)  # y = ±2^30, Σy² = 2^64 wraps to 0
    with pytest.raises((ValueError, OverflowError)):
        spec.ilayernorm_normalize(x)
