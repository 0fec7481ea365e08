"""The PE array (hw/hls/ivit/pe_array.h): two 9 x 8 products per DSP48E2 slice, checked
exhaustively, and pe_step against a plain reference.

The C++ under test is the header itself, compiled by g++ with -DIVIT_CHECK_WIDTHS (every
narrowed value is checked against its width) and -DIVIT_PE_COUNT_DSP (each DSP48E2 product
pe_step issues is counted).
"""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hls_helpers import CXXFLAGS, HLS_DIR, ptr

#: Array shapes with a compiled pe_step<R, C>: even and odd R and C, one row, one column,
#: and the DeiT-S engine's 197 x 22.
SHAPES = [(1, 1), (1, 5), (2, 1), (4, 3), (5, 3), (5, 4), (7, 6), (197, 22)]

_SOURCE = r"""
#include "ivit/pe_array.h"

using namespace ivit::eng;

extern "C" {

// Exhaustive check of dsp_pair<WX, WS>: every x_hi, x_lo of WX bits and s of WS bits.
// Returns the number of cases where hi != x_hi*s or lo != x_lo*s; *cases = how many ran.
long pairs_exhaustive(int wx, long* cases) {
    long bad = 0, n = 0;
    const int ws = wx == 9 ? 8 : 9;
    const int xlo = -(1 << (wx - 1)), xhi = (1 << (wx - 1)) - 1;
    const int slo = -(1 << (ws - 1)), shi = (1 << (ws - 1)) - 1;
    for (int s = slo; s <= shi; ++s)
        for (int h = xlo; h <= xhi; ++h)
            for (int l = xlo; l <= xhi; ++l) {
                pe_p_t hi, lo;
                if (wx == 9)
                    dsp_pair<9, 8>(h, l, s, hi, lo);
                else
                    dsp_pair<8, 9>(h, l, s, hi, lo);
                bad += (int64_t(hi) != int64_t(h) * s) || (int64_t(lo) != int64_t(l) * s);
                ++n;
            }
    *cases = n;
    return bad;
}

}  // extern "C"

// `steps` cycles of pe_step<R, C> from zero accumulators: av (steps x R), bv (steps x C),
// sh (steps). Writes the accumulators (R x C) and the DSP products of ONE step.
#define PE_RUN(R, C)                                                                        \
    extern "C" void pe_run_##R##_##C(const int32_t* av, const int32_t* bv, const int32_t* sh, \
                                     int steps, int64_t* out, long* dsp_per_step) {          \
        static acc_t acc[R][C];                                                              \
        for (int r = 0; r < R; ++r)                                                          \
            for (int c = 0; c < C; ++c) acc[r][c] = 0;                                       \
        pe_dsp_count() = 0;                                                                  \
        for (int t = 0; t < steps; ++t) pe_step<R, C>(acc, av + t * R, bv + t * C, sh[t]);   \
        *dsp_per_step = steps ? pe_dsp_count() / steps : 0;                                  \
        for (int r = 0; r < R; ++r)                                                          \
            for (int c = 0; c < C; ++c) out[r * C + c] = int64_t(acc[r][c]);                 \
    }
@RUNS@

// A row operand outside 9 bits must stop a checking build.
int main() {
    static acc_t acc[2][2];
    const int32_t av[2] = {1, 256};
    const int32_t bv[2] = {1, 1};
    pe_step<2, 2>(acc, av, bv, 0);
    return 0;
}
"""


def _source() -> str:
    return _SOURCE.replace("@RUNS@", "\n".join(f"PE_RUN({r}, {c})" for r, c in SHAPES))


FLAGS = ["-DIVIT_CHECK_WIDTHS", "-DIVIT_PE_COUNT_DSP"]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """The test source as a ctypes library."""
    tmp = tmp_path_factory.mktemp("pe")
    src = tmp / "pe_test.cpp"
    src.write_text(_source())
    so = tmp / "libpe.so"
    cmd = ["g++", *CXXFLAGS, *FLAGS, "-fPIC", "-shared", f"-I{HLS_DIR}", str(src), "-o", str(so)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"g++ failed:\n{proc.stderr}"
    assert proc.stderr.strip() == "", f"g++ printed warnings:\n{proc.stderr}"
    return ctypes.CDLL(str(so))


@pytest.mark.parametrize("wx, cases", [(9, 1 << 26), (8, 1 << 25)])
def test_packed_pair_is_exact_for_every_operand(lib, wx, cases):
    """Row pairs (two 9-bit operands, one 8-bit) and the odd last row's column pairs (two
    8-bit, one 9-bit): hi and lo equal the two products for every operand value."""
    n = ctypes.c_long()
    lib.pairs_exhaustive.restype = ctypes.c_long
    bad = lib.pairs_exhaustive(wx, ctypes.byref(n))
    assert n.value == cases
    assert bad == 0


def test_shift_18_would_overflow_the_27_bit_port():
    """Why the upper operand sits at 2^17, not WP486's 2^18: with 9-bit operands the packed
    factor x_hi * 2^18 + x_lo leaves 27 signed bits exactly when x_hi = -256 and x_lo < 0;
    at 2^17 it always fits, and 17 bits still hold every 9 x 8 product."""
    x = np.arange(-256, 256, dtype=np.int64)
    hi, lo = np.meshgrid(x, x, indexing="ij")
    lim = 1 << 26
    for shift, expect in ((18, (hi == -256) & (lo < 0)), (17, np.zeros_like(hi, bool))):
        w = hi * (1 << shift) + lo
        np.testing.assert_array_equal((w < -lim) | (w >= lim), expect)
    products = np.outer(x, np.arange(-128, 128, dtype=np.int64))
    assert products.min() >= -(1 << 16) and products.max() < 1 << 16


@pytest.mark.parametrize("rows, cols", SHAPES)
def test_pe_step_matches_plain_products(lib, rows, cols):
    """Random 9-bit row and 8-bit column operands over 24 steps (byte-slice shifts 0 and 8
    mixed): every accumulator equals the plain sum of av*bv*2^sh, and one step issues
    ceil(R*C/2) DSP48E2 products."""
    rng = np.random.default_rng(rows * 100 + cols)
    steps = 24
    av = rng.integers(-256, 256, size=(steps, rows), dtype=np.int32)
    bv = rng.integers(-128, 128, size=(steps, cols), dtype=np.int32)
    av[0, :] = -256                      # the corners of both ranges
    bv[0, :] = -128
    av[1, :], bv[1, :] = 255, 127
    sh = np.where(rng.random(steps) < 0.5, 8, 0).astype(np.int32)
    sh[:2] = 8
    out = np.zeros((rows, cols), np.int64)
    dsp = ctypes.c_long()
    getattr(lib, f"pe_run_{rows}_{cols}")(ptr(av, np.int32), ptr(bv, np.int32), ptr(sh, np.int32),
                                          steps, ptr(out, np.int64), ctypes.byref(dsp))
    ref = np.einsum("tr,tc,t->rc", av.astype(np.int64), bv.astype(np.int64),
                    (1 << sh).astype(np.int64))
    np.testing.assert_array_equal(out, ref)
    assert dsp.value == -(-rows * cols // 2)


def test_row_operand_wider_than_9_bits_stops_a_checking_build(tmp_path):
    """The g++ build checks the narrowing: a row operand of 256 aborts with the width named."""
    src = tmp_path / "pe_main.cpp"
    src.write_text(_source())
    exe = tmp_path / "pe_main"
    cmd = ["g++", *CXXFLAGS, *FLAGS, f"-I{HLS_DIR}", str(src), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode != 0
    assert "256 does not fit 9 signed bits" in run.stderr
