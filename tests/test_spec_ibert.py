"""I-BERT baselines (ivit_hls.spec.ibert): constants, exact integer formulas, derived error bounds.

i-exp, ``x = q·S = -z·ln2' + p`` with ``ln2' = q_ln2·S in (ln2 - S, ln2]``:
``|y·σ - e^x| <= 2^-z (ε_L + 2·a·b·S + a·S^2 + e^p (e^{zS} - 1)) + σ`` with ``σ = a S^2``,
``ε_L = sup_{p in [-ln2, 0]} |a(p+b)^2 + c - e^p|`` (floor of q_b and q_c, floor of the shift).
i-GELU: ``|y·σ - GELU(x)| <= |x|/2 (ε_erf + 2|a|(1.769 + s)s + 2 S_erf)`` with ``s = S/√2``,
``ε_erf = sup_{t >= 0} |1 + a(min(t, 1.769) - 1.769)^2 - erf(t)|``.
"""

import math

import numpy as np
import pytest

from ivit_hls.spec import ibert

_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x):
    return _erf(np.asarray(x, dtype=np.float64)).astype(np.float64)


def _eps_exp_poly():
    p = np.linspace(-math.log(2), 0, 200001)
    return float(np.max(np.abs(ibert.EXP_A * (p + ibert.EXP_B) ** 2 + ibert.EXP_C - np.exp(p))))


def _eps_erf_poly():
    t = np.linspace(0, 8, 800001)
    poly = 1 + ibert.ERF_A * (np.minimum(t, -ibert.ERF_B) + ibert.ERF_B) ** 2
    return float(np.max(np.abs(poly - erf(t))))


@pytest.mark.parametrize("scale", [2.0 ** -12, 1e-3, 2.0 ** -8, 0.01, 0.05])
def test_ibert_exp_constants_and_formula(scale):
    c = ibert.ibert_exp_constants(scale)
    assert c["q_ln2"] == math.floor(math.log(2) / scale)
    assert c["q_b"] == math.floor(1.353 / scale)
    assert c["q_c"] == math.floor(0.344 / (0.3585 * scale * scale))
    assert c["out_scale"] == pytest.approx(0.3585 * scale * scale, rel=1e-15)
    q = np.arange(-int(12 / scale), 1, max(1, int(0.001 / scale)), dtype=np.int64)
    got = ibert.ibert_exp(q, c)
    # exact against the paper's formula in Python integers
    for qi, yi in zip(q.tolist()[::97], got.tolist()[::97]):
        z = (-qi) // c["q_ln2"]
        qp = qi + z * c["q_ln2"]
        assert yi == ((qp + c["q_b"]) ** 2 + c["q_c"]) >> z
    x = q * scale
    z = (-q) // c["q_ln2"]
    p = (q + z * c["q_ln2"]) * scale
    a, b = ibert.EXP_A, ibert.EXP_B
    bound = 2.0 ** -z * (_eps_exp_poly() + 2 * a * b * scale + a * scale ** 2
                         + np.exp(p) * np.expm1(z * scale)) + c["out_scale"]
    assert np.all(np.abs(got * c["out_scale"] - np.exp(x)) <= bound * (1 + 1e-9))


def test_ibert_exp_edge_cases():
    c = ibert.ibert_exp_constants(0.01)
    assert int(ibert.ibert_exp(np.array([-(1 << 40)]), c)[0]) == 0  # shift saturates: 0
    assert np.all(np.diff(ibert.ibert_exp(np.arange(-3000, 1), c)) >= 0)
    with pytest.raises(ValueError):
        ibert.ibert_exp(np.array([1]), c)
    with pytest.raises(ValueError):
        ibert.ibert_exp_constants(1.0)  # coarser than ln 2: no range reduction possible
    with pytest.raises(ValueError):
        ibert.ibert_exp_constants(0.0)


@pytest.mark.parametrize("scale", [2.0 ** -12, 2.0 ** -8, 0.01, 10.0 / 127])
def test_ibert_gelu_constants_and_bound(scale):
    c = ibert.ibert_gelu_constants(scale)
    s = scale / math.sqrt(2)
    assert c["q_clip"] == -math.floor(-1.769 / s)
    assert c["q_one_erf"] == -math.floor(1 / (-0.2888 * s * s))
    assert c["q_one"] == math.floor(1 / c["erf_scale"])
    assert c["out_scale"] == pytest.approx(scale * 0.2888 * s * s / 2, rel=1e-12)
    lim = int(12 / scale)
    q = np.arange(-lim, lim + 1, max(1, lim // 20000), dtype=np.int64)
    got = ibert.ibert_gelu(q, c)
    for qi, yi in zip(q.tolist()[::101], got.tolist()[::101]):
        d = min(abs(qi), c["q_clip"]) - c["q_clip"]
        sgn = (qi > 0) - (qi < 0)
        assert yi == qi * (sgn * (c["q_one_erf"] - d * d) + c["q_one"])
    x = q * scale
    ref = 0.5 * x * (1 + erf(x / math.sqrt(2)))
    eps = _eps_erf_poly() + 2 * 0.2888 * (1.769 + s) * s + 2 * c["erf_scale"]
    assert np.all(np.abs(got * c["out_scale"] - ref) <= np.abs(x) / 2 * eps * (1 + 1e-9) + 1e-12)


def test_ibert_gelu_refuses_overflow():
    c = ibert.ibert_gelu_constants(1e-6)
    with pytest.raises(OverflowError):
        ibert.ibert_gelu(np.array([1 << 40]), c)


@pytest.mark.parametrize("t", [1, 5, 197])
def test_ibert_softmax_range_and_row_sums(t):
    rng = np.random.default_rng(t)
    x = rng.integers(-128, 128, size=(40, t))
    scale = 0.05
    k = 3
    c = ibert.ibert_exp_constants(scale / 2 ** k)
    p = ibert.ibert_softmax(x, k, c, 16)
    assert p.min() >= 0 and p.max() <= 1 << 15
    assert np.all(np.abs(p.sum(-1) - (1 << 15)) <= t / 2 + t * 2.0 ** (15 - 30))
    # i-exp is monotone at this scale, so probabilities keep the logits' order within a row
    order = np.argsort(x, axis=-1, kind="stable")
    assert np.all(np.diff(np.take_along_axis(p, order, axis=-1), axis=-1) >= 0)
    np.testing.assert_array_equal(ibert.ibert_softmax(x - 1000, k, c, 16), p)
