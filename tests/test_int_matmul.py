"""The exact integer GEMM (spec §5): float32 BLAS at and around its 2^24 limit, K-chunking.

References are numpy int64 products (integer arithmetic, no float BLAS), and hand-computed
values at the edges. Edge values are chosen so that a plain float32 product would round.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ivit_hls import spec
from ivit_hls.spec import fixedpoint
from ivit_hls.spec.fixedpoint import k_chunks

F32 = 1 << 24


def _exact(a, b):
    # numpy's int64 matmul (no BLAS, no float) is exact while every sum stays below 2^63,
    # which holds for every operand here (all bounds are below 2^53)
    return np.matmul(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))


def _check(a, b):
    got = spec.int_matmul(a, b)
    assert got.dtype == np.int64
    values = b.values if isinstance(b, spec.IntMatrix) else b
    np.testing.assert_array_equal(got, _exact(a, values))
    return got


@pytest.fixture
def no_float64(monkeypatch):
    """Fail if int_matmul falls back to the float64 product (several times slower)."""
    real = fixedpoint._float_matmul

    def guarded(a, b, dtype):
        assert dtype == np.float32, "float64 product used where float32 chunks are exact"
        return real(a, b, dtype)

    monkeypatch.setattr(fixedpoint, "_float_matmul", guarded)


def test_sum_exactly_2_pow_24_in_one_float32_product(no_float64):
    # 1024 · (-128)·(-128) = 2^24: the largest bound a single float32 product accepts
    a = np.full((2, 1024), -128)
    b = np.full((1024, 3), -128)
    assert int(_check(a, b)[0, 0]) == F32
    assert int(_check(a, -b)[1, 2]) == -F32


@pytest.mark.parametrize("sign", [1, -1])
def test_one_past_2_pow_24_is_chunked_and_exact(sign, no_float64):
    # 2^24 + 1 has no float32: one product would round it, two K-chunks keep it exact
    a = np.full((1, 1025), -128)
    b = np.full((1025, 2), -128 * sign)
    a[0, -1], b[-1] = -1, -sign
    got = _check(a, b)
    assert int(got[0, 0]) == sign * (F32 + 1)


def test_int8_extremes_long_k(no_float64):
    # every operand at -128 or 127, K = 4096: each row needs 4 chunks
    rng = np.random.default_rng(3)
    a = rng.choice([-128, 127], size=(7, 4096))
    b = rng.choice([-128, 127], size=(4096, 5))
    _check(a, b)


def test_mlp_shaped_gemm_stays_float32(no_float64):
    # fc2-like: K = 1536, int8 operands dense enough that the row bound passes 2^24
    rng = np.random.default_rng(4)
    a = rng.integers(80, 129, size=(1, 197, 1536)) * rng.choice([-1, 1], size=(1, 197, 1536))
    b = rng.integers(-127, 128, size=(1536, 384))
    assert np.abs(a).sum(axis=-1).max() * 127 > F32
    _check(a, spec.IntMatrix(b))


def test_probability_rows_at_the_bound(no_float64):
    # uint16 probabilities: a row sums to 2^17, times max|v| = 128 gives exactly 2^24
    rng = np.random.default_rng(5)
    p = rng.multinomial(1 << 17, np.full(197, 1 / 197), size=(2, 6, 197))
    v = rng.integers(-128, 128, size=(2, 6, 197, 64))
    v[..., 0, :] = -128
    p[0, 0, 0] = 0
    p[0, 0, 0, 0] = 1 << 17
    got = _check(p, v)
    assert int(got[0, 0, 0, 0]) == -F32


def test_batched_and_vector_shapes_chunked():
    rng = np.random.default_rng(6)
    a = rng.integers(-128, 128, size=(2, 3, 4, 2000))
    b = rng.integers(-128, 128, size=(2, 3, 2000, 5))
    _check(a, b)
    _check(a, b[0, 0])
    _check(a[0, 0, 0], b[0, 0])      # vector @ matrix
    _check(a[0, 0], b[0, 0, :, 0])   # matrix @ vector


def test_short_chunks_fall_back_to_float64_exactly():
    # |a|·|b| up to 2^24 per product: chunks of one element, so float64 does it (still exact)
    a = np.array([[1 << 12, 1 << 12, 1], [-(1 << 12), 1 << 12, -3]])
    b = np.array([[1 << 12], [1 << 12], [1]])
    got = _check(a, b)
    assert int(got[0, 0]) == (1 << 25) + 1


def test_single_values_at_the_float32_limit():
    _check(np.array([[-F32]]), np.array([[1]]))
    _check(np.array([[-(F32 + 1)]]), np.array([[1]]))
    _check(np.array([[F32 + 1, 0]]), np.array([[-1], [5]]))


def test_zero_operands():
    big = np.array([[(1 << 62) + 1]])
    assert int(spec.int_matmul(np.zeros((1, 1), dtype=np.int64), big)[0, 0]) == 0
    assert spec.int_matmul(np.zeros((3, 0), dtype=np.int64), np.zeros((0, 2))).shape == (3, 2)


def test_overflow_contract_unchanged():
    a = np.full((1, 4), 1 << 25)
    with pytest.raises(OverflowError):
        spec.int_matmul(a, np.full((4, 1), 1 << 26))        # bound 2^53
    with pytest.raises(OverflowError):
        spec.int_matmul(np.array([[-(1 << 63)]]), np.array([[1]]))


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 3000), bits_a=st.integers(1, 17), bits_b=st.integers(1, 9),
       seed=st.integers(0, 2 ** 32 - 1))
def test_random_widths_match_python_integers(k, bits_a, bits_b, seed):
    rng = np.random.default_rng(seed)
    lo_a, lo_b = -(1 << (bits_a - 1)), -(1 << (bits_b - 1))
    a = rng.integers(lo_a, -lo_a, size=(3, k), endpoint=True)
    b = rng.integers(lo_b, -lo_b, size=(k, 2), endpoint=True)
    _check(a, b)


# ---------------------------------------------------------------- the chunk plan

@pytest.mark.parametrize("w,limit,want", [
    ([5, 5, 5, 5], 10, [0, 2, 4]),
    ([5, 5, 5, 5], 9, [0, 1, 2, 3, 4]),
    ([3, 7, 1, 9, 0, 0, 2], 10, [0, 2, 6, 7]),
    ([10], 10, [0, 1]),
    ([], 10, [0]),
])
def test_k_chunks_greedy(w, limit, want):
    assert k_chunks(w, limit) == want


def test_k_chunks_refuses_a_single_term_over_the_limit():
    assert k_chunks([1, 11, 1], 10) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 1 << 14), max_size=300))
def test_k_chunks_bounds_and_maximality(w):
    bounds = k_chunks(w, F32 // 64)
    assert bounds[0] == 0 and bounds[-1] == len(w)
    for start, end in zip(bounds[:-1], bounds[1:]):
        assert end > start and sum(w[start:end]) <= F32 // 64
        if end < len(w):   # greedy: the next term would have crossed the limit
            assert sum(w[start:end + 1]) > F32 // 64
