"""cocotb testbenches: ivit_shiftexp and ivit_shiftgelu against spec.shift_exp / shift_gelu."""

from __future__ import annotations

import cocotb
import numpy as np

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
    want = spec.shift_exp(u, i0, n)
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
