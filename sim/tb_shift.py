"""cocotb testbenches: ivit_shiftexp, ivit_shiftgelu, ivit_gelu_shift, ivit_gelu_table and the
I-BERT baselines against spec.shift_exp / shift_gelu / gelu_lookup / ibert."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

import streams
from ivit_hls import spec
from ivit_hls.spec import ibert


async def _run_lanes(dut, cfg, data, in_w, out_w, out_signed, want, name, rng):
    lanes = cfg["LANES"]
    beats = [{"s_data": streams.pack(row, in_w)} for row in data]
    result = {}
    for label, idle, bp in (("stall", cfg["idle"], cfg["bp"]), ("free", 0.0, 0.0)):
        outs, cycles = await streams.stream(dut, beats, ["m_data"], len(beats), rng, idle, bp)
        got = np.array([streams.unpack(o["m_data"], lanes, out_w, out_signed) for o in outs])
        np.testing.assert_array_equal(got, want, err_msg=f"{name} ({label}) differs from spec")
        result[f"cycles_{label}"] = cycles
    result["checked"] = int(want.size)
    return result


@cocotb.test()
async def shiftexp_random(dut):
    cfg = streams.config()
    lanes, in_w, out_w = cfg["LANES"], cfg["IN_W"], cfg["OUT_W"]
    i0, n = cfg["i0"], cfg["n"]
    rng = np.random.default_rng(cfg["seed"])
    lo = -(1 << (in_w - 1))
    u = -rng.integers(0, 2 * n * i0, size=(cfg["vectors"], lanes), dtype=np.int64)
    u[0] = 0
    u[1] = lo
    u[2] = -np.arange(lanes)                       # q = 0 region, small remainders
    u[3] = -(n * i0 * 16) // 23 + np.arange(lanes)  # around the clamp
    u[4:8] = rng.integers(lo, 1, size=(4, lanes))
    u[8:12] = -np.arange(4 * lanes).reshape(4, lanes) * i0 // (2 * lanes) - i0  # octave joins
    # The lane computes p from the low I0_W + QB + 1 bits of u: inputs around -2^(I0_W + QB)
    big = 1 << (cfg["I0_W"] + cfg["QB"])
    u[12] = np.maximum(-big + 2 - np.arange(lanes), lo)
    u[13] = np.maximum(-2 * big - np.arange(lanes), lo)
    exp_form = "paper" if cfg.get("EXP_FORM", 1) == 0 else "corrected"
    want = spec.shift_exp(u, i0, n, exp_form)
    dut.cfg_i0.value = i0
    dut.cfg_n.value = n
    await streams.start(dut)
    streams.write_result(await _run_lanes(dut, cfg, u, in_w, out_w, False, want, "shift_exp",
                                          rng))


@cocotb.test()
async def shiftgelu_random(dut):
    cfg = streams.config()
    lanes, in_w, out_w = cfg["LANES"], cfg["IN_W"], cfg["OUT_W"]
    k, i0, n = cfg["k"], cfg["i0"], cfg["n"]
    rng = np.random.default_rng(cfg["seed"])
    lo, hi = -(1 << (in_w - 1)), (1 << (in_w - 1)) - 1
    x = rng.integers(lo, hi + 1, size=(cfg["vectors"], lanes), dtype=np.int64)
    x[0], x[1], x[2] = lo, hi, 0
    x[3] = np.arange(lanes) - lanes // 2
    want = spec.shift_gelu(x, k, i0, n, "symmetric")
    dut.cfg_k.value = k
    dut.cfg_i0.value = i0
    dut.cfg_n.value = n
    await streams.start(dut)
    streams.write_result(await _run_lanes(dut, cfg, x, in_w, out_w, True, want, "shift_gelu",
                                          rng))


@cocotb.test()
async def gelu_shift_random(dut):
    from ivit_hls.spec.gelu import gelu_recip

    cfg = streams.config()
    lanes, in_w, out_w = cfg["LANES"], cfg["IN_W"], cfg["OUT_W"]
    k, i0 = cfg["k"], cfg["i0"]
    rng = np.random.default_rng(cfg["seed"])
    lo, hi = -(1 << (in_w - 1)), (1 << (in_w - 1)) - 1
    every = np.arange(lo, hi + 1, dtype=np.int64)
    pad = (-every.size) % lanes
    x = np.concatenate([every, rng.integers(lo, hi + 1, cfg["vectors"] * lanes + pad)])
    x = x.reshape(-1, lanes)                      # every input value, then random ones
    want = spec.shift_gelu(x, k, i0, 0, "shift")
    dut.cfg_k.value = k
    dut.cfg_r.value = gelu_recip(i0)
    await streams.start(dut)
    streams.write_result(await _run_lanes(dut, cfg, x, in_w, out_w, True, want, "gelu_shift",
                                          rng))


@cocotb.test()
async def gelu_table_random(dut):
    cfg = streams.config()
    lanes, in_w, out_w = cfg["LANES"], cfg["IN_W"], cfg["OUT_W"]
    rng = np.random.default_rng(cfg["seed"])
    table = spec.gelu_table(cfg["s_in"], cfg["s_out"], in_w, out_w)
    lo, hi = -(1 << (in_w - 1)), (1 << (in_w - 1)) - 1
    x = rng.integers(lo, hi + 1, size=(cfg["vectors"], lanes), dtype=np.int64)
    x[0], x[1] = lo, hi
    want = spec.gelu_lookup(x, table)
    dut.cfg_we.value = 0
    await streams.start(dut)
    for idx, val in enumerate(table.tolist()):    # load the per-layer table
        dut.cfg_we.value = 1
        dut.cfg_addr.value = idx
        dut.cfg_data.value = val & ((1 << out_w) - 1)
        await FallingEdge(dut.clk)
    dut.cfg_we.value = 0
    streams.write_result(await _run_lanes(dut, cfg, x, in_w, out_w, True, want, "gelu_table",
                                          rng))


@cocotb.test()
async def ibert_exp_random(dut):
    cfg = streams.config()
    lanes, in_w, out_w = cfg["LANES"], cfg["IN_W"], cfg["OUT_W"]
    consts = ibert.ibert_exp_constants(cfg["scale"])
    rng = np.random.default_rng(cfg["seed"])
    lo = -(1 << (in_w - 1))
    q = -rng.integers(0, 40 * consts["q_ln2"], size=(cfg["vectors"], lanes), dtype=np.int64)
    q[0], q[1] = 0, lo
    q[2] = -63 * consts["q_ln2"] + np.arange(lanes) - lanes // 2     # the shift clamp
    q[3] = -consts["q_ln2"] * np.arange(lanes)                       # exact multiples
    want = ibert.ibert_exp(q, consts)
    dut.cfg_q_ln2.value = consts["q_ln2"]
    dut.cfg_q_b.value = consts["q_b"]
    dut.cfg_q_c.value = consts["q_c"]
    await streams.start(dut)
    streams.write_result(await _run_lanes(dut, cfg, q, in_w, out_w, False, want, "ibert_exp",
                                          rng))


@cocotb.test()
async def ibert_gelu_random(dut):
    cfg = streams.config()
    lanes, in_w, out_w = cfg["LANES"], cfg["IN_W"], cfg["OUT_W"]
    consts = ibert.ibert_gelu_constants(cfg["scale"])
    rng = np.random.default_rng(cfg["seed"])
    lo, hi = -(1 << (in_w - 1)), (1 << (in_w - 1)) - 1
    x = rng.integers(lo, hi + 1, size=(cfg["vectors"], lanes), dtype=np.int64)
    x[0], x[1], x[2] = lo, hi, 0
    x[3] = consts["q_clip"] + np.arange(lanes) - lanes // 2
    want = ibert.ibert_gelu(x, consts)
    dut.cfg_q_clip.value = consts["q_clip"]
    dut.cfg_q_one_erf.value = consts["q_one_erf"]
    dut.cfg_q_one.value = consts["q_one"]
    await streams.start(dut)
    streams.write_result(await _run_lanes(dut, cfg, x, in_w, out_w, True, want, "ibert_gelu",
                                          rng))
