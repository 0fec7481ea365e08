"""The torch integer ops (QAT level) against the numpy spec, exactly, on random and edge data."""

import numpy as np
import pytest
import torch

from ivit_hls import spec
from ivit_hls.qat import intops


def t(x):
    return torch.as_tensor(np.asarray(x, dtype=np.int64))


def test_requant_matches_spec_including_ties_negatives_and_saturation():
    rng = np.random.default_rng(0)
    acc = np.concatenate([rng.integers(-(1 << 31), 1 << 31, 5000),
                          np.array([0, 1, -1, (1 << 31) - 1, -(1 << 31)])])
    m = rng.integers(-(1 << 31) + 1, 1 << 31, acc.size)
    e = rng.integers(1, 63, acc.size)
    ties = np.arange(-8, 8) << 3  # exact .5 cases at e = 4: ...
    acc = np.concatenate([acc, ties])
    m = np.concatenate([m, np.ones(ties.size, dtype=np.int64)])
    e = np.concatenate([e, np.full(ties.size, 4)])
    for bits in (None, 8, 16, 32):
        want = spec.requant(acc, m, e, bits)
        got = intops.requant(t(acc), m, e, bits).numpy()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("exp_form", ["corrected", "paper"])
@pytest.mark.parametrize("scale", [0.02, 0.157, 0.9, 3.0])
@pytest.mark.parametrize("out_bits", [8, 16])
def test_shiftmax_matches_spec(scale, out_bits, exp_form):
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (64, 197))
    x[0] = 5                 # all-equal row
    x[1] = -128              # very negative, equal
    x[2, 0] = 127            # one outlier
    x[2, 1:] = -128
    k, i0 = spec.exp_constants(scale)
    want = spec.shiftmax(x, k, i0, 15, out_bits, exp_form)
    np.testing.assert_array_equal(intops.shiftmax(t(x), k, i0, 15, out_bits, exp_form).numpy(),
                                  want)


@pytest.mark.parametrize("exp_form", ["corrected", "paper"])
@pytest.mark.parametrize("i0,n", [(256, 15), (300, 15), (511, 23), (4096, 8)])
def test_shift_exp_matches_spec_exhaustively(exp_form, i0, n):
    u = np.arange(-(n + 2) * i0, 1)
    np.testing.assert_array_equal(intops.shift_exp(t(u), i0, n, exp_form).numpy(),
                                  spec.shift_exp(u, i0, n, exp_form))


@pytest.mark.parametrize("form", ["shift", "symmetric", "rowmax"])
@pytest.mark.parametrize("scale", [0.001, 0.01, 0.08, 0.4, 3.0])
def test_shift_gelu_matches_spec(form, scale):
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, (32, 96))
    x[0] = -128   # row max below zero (rowmax form's edge case)
    x[1] = np.arange(-48, 48)
    k, i0 = spec.exp_constants(scale)
    for n in (15, 23):
        want = spec.shift_gelu(x, k, i0, n, form)
        np.testing.assert_array_equal(intops.shift_gelu(t(x), k, i0, n, form).numpy(), want)


def test_gelu_lookup_matches_spec():
    table = spec.gelu_table(0.05, 0.04, 8, 8)
    x = np.arange(-128, 128).reshape(16, 16)
    np.testing.assert_array_equal(intops.gelu_lookup(t(x), table).numpy(),
                                  spec.gelu_lookup(x, table))


def test_isqrt_matches_spec_on_small_range_and_boundaries():
    small = np.arange(0, 1 << 16)
    np.testing.assert_array_equal(intops.isqrt(t(small)).numpy(), spec.isqrt(small))
    edges = []
    for b in range(1, 62):
        edges += [(1 << b) - 1, 1 << b, (1 << b) + 1]
        r = 1 << (b // 2)
        edges += [r * r - 1, r * r, r * r + 1]
    edges = np.array(sorted(set(edges)))
    np.testing.assert_array_equal(intops.isqrt(t(edges)).numpy(), spec.isqrt(edges))


def test_ilayernorm_normalize_matches_spec():
    rng = np.random.default_rng(3)
    x = rng.integers(-(1 << 15), 1 << 15, (40, 384))
    x[0] = 77                      # zero variance
    x[1, :] = rng.integers(-3, 4, 384)
    x[1, 10] = 30000               # one outlier channel
    x[2] = -(1 << 15)
    np.testing.assert_array_equal(intops.ilayernorm_normalize(t(x)).numpy(),
                                  spec.ilayernorm_normalize(x))


def test_int_matmul_is_exact():
    rng = np.random.default_rng(4)
    a = rng.integers(-128, 128, (3, 17, 1536))
    b = rng.integers(-128, 128, (1536, 40))
    want = np.einsum("bik,kj->bij", a.astype(object), b.astype(object)).astype(np.int64)
    np.testing.assert_array_equal(intops.int_matmul(t(a), t(b)).numpy(), want)
    np.testing.assert_array_equal(spec.int_matmul(a, b), want)
