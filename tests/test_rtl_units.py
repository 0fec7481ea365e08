"""Every RTL unit bit-exact with its golden op under cocotb + Verilator, with stalls, and its
free-running cycle count equal to the analytic cycle model (ivit_hls.rtl.cycles)."""

from __future__ import annotations

import pytest

from ivit_hls import spec
from ivit_hls.rtl import cycles
from rtl_helpers import needs_sim, run_bench

pytestmark = needs_sim


# Parameter points shared with the DeiT-tiny block test (sim/block_run.py UNITS) where they
# fit, so that a test session builds each configuration once.
@pytest.mark.parametrize("lanes,in_w,off_w,out_w", [(8, 18, 64, 8), (4, 25, 32, 8), (3, 32, 32, 16)])
def test_requant(lanes, in_w, off_w, out_w):
    p = dict(LANES=lanes, IN_W=in_w, M_W=32, OFF_W=off_w, OUT_W=out_w, USER_W=1)
    r = run_bench("ivit_requant", p, "tb_requant", "requant_random", n=120)
    assert r["cycles_free"] == cycles.stream_cycles(120, cycles.REQUANT_LATENCY)


def test_residual_add():
    p = dict(LANES=8, A_W=32, B_W=16, OUT_W=16)
    r = run_bench("ivit_residual_add", p, "tb_requant", "residual_random", n=100)
    assert r["cycles_free"] == cycles.stream_cycles(100, cycles.RESIDUAL_LATENCY)


@pytest.mark.parametrize("exp_form", [1, 0])
@pytest.mark.parametrize("scale,n", [(0.05, 15), (0.4, 23), (0.001, 15)])
def test_shiftexp(scale, n, exp_form):
    # One build per form; the constants are configuration inputs, swept per run.
    _, i0 = spec.exp_constants(scale)
    p = dict(LANES=3, IN_W=20, I0_W=12, QB=5, OUT_W=40, EXP_FORM=exp_form)
    r = run_bench("ivit_shiftexp", p, "tb_shift", "shiftexp_random", vectors=100, i0=i0, n=n)
    assert r["cycles_free"] == cycles.stream_cycles(100, cycles.shiftexp_latency(5))


@pytest.mark.parametrize("i0,n", [(4095, 26), (1, 31), (2047, 12)])
def test_shiftexp_whole_i0_range(i0, n):
    # I0 anywhere in its 12 bits (the per-unit intercepts need I0_W + 10 bits), the output
    # still within OUT_W = 40 bits.
    p = dict(LANES=3, IN_W=20, I0_W=12, QB=5, OUT_W=40, EXP_FORM=1)
    run_bench("ivit_shiftexp", p, "tb_shift", "shiftexp_random", vectors=300, i0=i0, n=n)


def test_shiftexp_lane_line_selection_every_i0():
    """The rule ivit_shiftexp_lane selects the corrected mantissa's line by (line 0 while
    10a <= b1 - b0, line 2 once 7a > b2 - b1, else line 1; intercept 64*I0 + 63 - b_j) gives
    exp2_neg_frac for every 12-bit I0 and every a < I0."""
    import numpy as np
    from ivit_hls.spec.shift import exp2_neg_frac, exp_corr_constants

    for i0 in range(1, 1 << 12):
        a = np.arange(i0, dtype=np.int64)
        b0, b1, b2 = exp_corr_constants(i0)
        sel0, sel2 = 10 * a <= b1 - b0, 7 * a > b2 - b1
        lead = np.where(sel0, 64 * i0 + 63 - b0, np.where(sel2, 64 * i0 + 63 - b2,
                                                          64 * i0 + 63 - b1))
        v = (lead - 31 * a - np.where(sel0, 10 * a, np.where(sel2, -7 * a, 0))) >> 6
        assert np.array_equal(v, exp2_neg_frac(a, i0)), i0


def test_gelu_shift_mantissa_arithmetic_every_g():
    """ivit_gelu_shift's mantissa (I0 = 1024: constant crossings g <= 323, g >= 714; 18-bit
    sum 32*(K - g) + low5 + {~9g, 8g, g}) equals exp2_neg_frac(g, 1024) for every g."""
    import numpy as np
    from ivit_hls.spec.shift import exp2_neg_frac

    g = np.arange(1024, dtype=np.int64)
    sel0, sel2 = g <= 323, g >= 714
    mk = np.where(sel0, 2052, np.where(sel2, 1794, 1950)) - g
    ms2 = np.where(sel0, ~(9 * g) & ((1 << 18) - 1), np.where(sel2, 8 * g, g))
    total = ((mk << 5) + np.where(sel0, 0, 31) + ms2) & ((1 << 18) - 1)
    np.testing.assert_array_equal((total >> 6) & 2047, exp2_neg_frac(g, 1024))


def test_shiftgelu():
    k, i0 = spec.exp_constants(0.05)
    p = dict(LANES=4, IN_W=8, K_W=4, I0_W=12, QB=5, OUT_W=25)
    r = run_bench("ivit_shiftgelu", p, "tb_shift", "shiftgelu_random", vectors=120,
                  k=k, i0=i0, n=23)
    assert r["cycles_free"] == cycles.stream_cycles(120, cycles.shiftgelu_latency(5))


def test_gelu_shift():
    for scale in (0.05, 0.4):  # one build, constants swept per run
        k, i0 = spec.exp_constants(scale)
        p = dict(LANES=4, IN_W=8, K_W=4, R_W=13, OUT_W=25)
        r = run_bench("ivit_gelu_shift", p, "tb_shift", "gelu_shift_random", vectors=60,
                      k=k, i0=i0)
        beats = 256 // 4 + 60
        assert r["cycles_free"] == cycles.stream_cycles(beats, cycles.GELU_SHIFT_LATENCY)


def test_gelu_table():
    p = dict(LANES=3, IN_W=8, OUT_W=8)
    r = run_bench("ivit_gelu_table", p, "tb_shift", "gelu_table_random", vectors=100,
                  s_in=0.06, s_out=0.045)
    assert r["cycles_free"] == cycles.stream_cycles(100, cycles.GELU_TABLE_LATENCY)


@pytest.mark.parametrize("lanes,length,scale,exp_form", [(4, 13, 0.08, 1), (1, 5, 0.02, 1),
                                                         (4, 13, 0.08, 0)])
def test_shiftmax(lanes, length, scale, exp_form):
    k, i0 = spec.exp_constants(scale)
    p = dict(LANES=lanes, IN_W=8, MAX_BEATS=16, OUT_W=16, K_W=4, I0_W=12, QB=5,
             EXP_FORM=exp_form)
    r = run_bench("ivit_shiftmax", p, "tb_rows", "shiftmax_rows", rows=5, len=length,
                  k=k, i0=i0, n=15)
    assert r["cycles_free"] == 5 * cycles.shiftmax_row_cycles(length, lanes, 5)


@pytest.mark.parametrize("lanes,max_beats,length", [(4, 16, 29), (8, 32, 192)])
def test_ilayernorm(lanes, max_beats, length):
    p = dict(LANES=lanes, IN_W=16, MAX_BEATS=max_beats)
    r = run_bench("ivit_ilayernorm", p, "tb_rows", "ilayernorm_rows", rows=5, len=length)
    assert r["cycles_free"] == 5 * cycles.ilayernorm_row_cycles(length, lanes, 16)


@pytest.mark.parametrize("rows,cols,a_w,ks", [(4, 3, 8, [20, 1, 3, 9, 30, 2, 16]),
                                               (8, 8, 8, [8, 19, 5]),
                                               (8, 8, 17, [5, 5, 5])])
def test_systolic(rows, cols, a_w, ks):
    # A_W = 17 carries unsigned 16-bit probabilities (P.V with Shiftmax output bits 16).
    p = dict(ROWS=rows, COLS=cols, A_W=a_w, OUT_W=8)
    a_range = {} if a_w == 8 else {"a_lo": 0, "a_hi": 1 << 15}
    r = run_bench("ivit_systolic", p, "tb_systolic", "systolic_tiles", ks=ks, **a_range)
    assert r["cycles_free"] == cycles.systolic_cycles(ks, rows, cols)


def test_ibert_exp():
    p = dict(LANES=3, IN_W=20, C_W=12, OUT_W=26)
    r = run_bench("ivit_ibert_exp", p, "tb_shift", "ibert_exp_random", vectors=100,
                  scale=0.05 / 16)
    assert r["cycles_free"] == cycles.stream_cycles(100, cycles.IBERT_EXP_LATENCY)


def test_ibert_gelu():
    p = dict(LANES=2, IN_W=8, CL_W=12, ONE_W=26, OUT_W=36)
    r = run_bench("ivit_ibert_gelu", p, "tb_shift", "ibert_gelu_random", vectors=100,
                  scale=0.05)
    assert r["cycles_free"] == cycles.stream_cycles(100, cycles.IBERT_GELU_LATENCY)
