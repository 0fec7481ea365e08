"""cocotb testbench: ivit_systolic (int8 GEMM tile + requant) against spec.requant(A@B + bias)."""

from __future__ import annotations

import cocotb
import numpy as np

import streams
from ivit_hls import spec


def tile_beats(a, b, bias, m, e, rng=None, a_w: int = 8) -> list[dict[str, int]]:
    """Input beats of one tile: step k carries column k of A and row k of B."""
    k = a.shape[1]
    cols = b.shape[1]
    beats = []
    for s in range(k):
        last = s == k - 1
        if last or rng is None:
            pb, pm, pe = bias, m, e
        else:                                    # junk that the array must ignore
            pb = rng.integers(-1000, 1000, cols)
            pm = rng.integers(0, 1 << 31, cols)
            pe = rng.integers(1, 63, cols)
        beats.append({"s_a": streams.pack(a[:, s], a_w), "s_b": streams.pack(b[s], 8),
                      "s_last": int(last), "s_bias": streams.pack(pb, 32),
                      "s_m": streams.pack(pm, 32), "s_e": streams.pack(pe, 6)})
    return beats


@cocotb.test()
async def systolic_tiles(dut):
    cfg = streams.config()
    rows, cols, out_w = cfg["ROWS"], cfg["COLS"], cfg["OUT_W"]
    rng = np.random.default_rng(cfg["seed"])
    beats, want = [], []
    for t, k in enumerate(cfg["ks"]):
        a_lo, a_hi = cfg.get("a_lo", -128), cfg.get("a_hi", 127)
        a = rng.integers(a_lo, a_hi + 1, size=(rows, k))
        b = rng.integers(-128, 128, size=(k, cols))
        if t == 0:
            a[:] = a_lo if a_lo < 0 else a_hi
            b[:] = -128                          # largest products
        bias = rng.integers(-(1 << 20), 1 << 20, cols)
        m = rng.integers(1 << 30, 1 << 31, cols) * np.where(rng.random(cols) < 0.2, -1, 1)
        e = rng.integers(30, 48, cols)
        want.append(spec.requant(spec.int_matmul(a, b) + bias, m, e, out_w))
        beats += tile_beats(a, b, bias, m, e, rng, cfg.get("A_W", 8))
    want = np.concatenate(want, axis=0)
    await streams.start(dut)
    result = {}
    for label, idle, bp in (("stall", cfg["idle"], cfg["bp"]), ("free", 0.0, 0.0)):
        outs, cycles = await streams.stream(dut, beats, ["m_data", "m_last"], len(want), rng,
                                            idle, bp)
        got = np.array([streams.unpack(o["m_data"], cols, out_w) for o in outs])
        np.testing.assert_array_equal(got, want, err_msg=f"systolic ({label}) differs from spec")
        assert [o["m_last"] for o in outs] == ([0] * (rows - 1) + [1]) * len(cfg["ks"])
        result[f"cycles_{label}"] = cycles
    result["checked"] = int(want.size)
    streams.write_result(result)
