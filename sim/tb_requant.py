"""cocotb testbench: ivit_requant against spec.requant (random + edge vectors, stalls)."""

from __future__ import annotations

import cocotb
import numpy as np

import streams
from ivit_hls import spec


def _vectors(rng, n, lanes, in_w, out_w):
    lo, hi = -(1 << (in_w - 1)), (1 << (in_w - 1)) - 1
    acc = rng.integers(lo, hi + 1, size=(n, lanes), dtype=np.int64)
    acc[0, :] = lo
    acc[1, :] = hi
    acc[2, :] = 0
    m = rng.integers(1 << 30, 1 << 31, size=(n, lanes), dtype=np.int64)
    m *= np.where(rng.random((n, lanes)) < 0.2, -1, 1)
    # Shifts from "saturates everything" up to "rounds most values to 0".
    e = rng.integers(1, 63, size=(n, lanes), dtype=np.int64)
    e = np.clip(e, max(1, in_w + 31 - 62), 62)
    off = rng.integers(-(1 << 20), 1 << 20, size=(n, lanes), dtype=np.int64)
    off[:3] = 0
    # Exact rounding ties: acc*m + off = odd multiple of 2^(e-1).
    return acc, m, e, off


@cocotb.test()
async def requant_random(dut):
    cfg = streams.config()
    lanes, in_w, out_w = cfg["LANES"], cfg["IN_W"], cfg["OUT_W"]
    off_w = cfg["OFF_W"]
    rng = np.random.default_rng(cfg["seed"])
    acc, m, e, off = _vectors(rng, cfg["n"], lanes, in_w, out_w)
    # Ties: pick acc = 1, m = 1 << (e-1) style vectors in a few rows.
    acc[3, :], m[3, :], e[3, :], off[3, :] = 1, 1 << 30, 31, 0
    acc[4, :], m[4, :], e[4, :], off[4, :] = -1, 1 << 30, 31, 0
    want = spec.requant(acc, m, e, out_w, offset=off)
    beats = [{"s_acc": streams.pack(acc[i], in_w), "s_m": streams.pack(m[i], 32),
              "s_e": streams.pack(e[i], 6), "s_off": streams.pack(off[i], off_w),
              "s_user": i & 1} for i in range(len(acc))]
    await streams.start(dut)
    result = {}
    for label, idle, bp in (("stall", cfg["idle"], cfg["bp"]), ("free", 0.0, 0.0)):
        outs, cycles = await streams.stream(dut, beats, ["m_data", "m_user"], len(beats), rng,
                                            idle, bp)
        got = np.array([streams.unpack(o["m_data"], lanes, out_w) for o in outs])
        np.testing.assert_array_equal(got, want, err_msg=f"requant ({label}) differs from spec")
        assert [o["m_user"] for o in outs] == [i & 1 for i in range(len(acc))]
        result[f"cycles_{label}"] = cycles
    result["checked"] = int(want.size)
    streams.write_result(result)


@cocotb.test()
async def residual_random(dut):
    cfg = streams.config()
    lanes, a_w, b_w, out_w = cfg["LANES"], cfg["A_W"], cfg["B_W"], cfg["OUT_W"]
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n"]
    a = rng.integers(-(1 << (a_w - 1)), 1 << (a_w - 1), size=(n, lanes), dtype=np.int64)
    b = rng.integers(-(1 << (b_w - 1)), 1 << (b_w - 1), size=(n, lanes), dtype=np.int64)
    a[0], b[0] = -(1 << (a_w - 1)), -(1 << (b_w - 1))
    a[1], b[1] = (1 << (a_w - 1)) - 1, (1 << (b_w - 1)) - 1
    m_a = rng.integers(1 << 30, 1 << 31, size=(n, lanes)) * np.where(rng.random((n, lanes)) < .2, -1, 1)
    e_a = rng.integers(24, 36, size=(n, lanes))
    m_b, e_b = int(rng.integers(1 << 30, 1 << 31)), 30
    want = spec.residual_add(a, m_a, e_a, b, m_b, e_b, out_w)
    beats = [{"s_a": streams.pack(a[i], a_w), "s_b": streams.pack(b[i], b_w),
              "s_m_a": streams.pack(m_a[i], 32), "s_e_a": streams.pack(e_a[i], 6)}
             for i in range(n)]
    dut.cfg_m_b.value = m_b
    dut.cfg_e_b.value = e_b
    await streams.start(dut)
    result = {}
    for label, idle, bp in (("stall", cfg["idle"], cfg["bp"]), ("free", 0.0, 0.0)):
        outs, cycles = await streams.stream(dut, beats, ["m_data"], n, rng, idle, bp)
        got = np.array([streams.unpack(o["m_data"], lanes, out_w) for o in outs])
        np.testing.assert_array_equal(got, want, err_msg=f"residual_add ({label}) differs")
        result[f"cycles_{label}"] = cycles
    result["checked"] = int(want.size)
    streams.write_result(result)
