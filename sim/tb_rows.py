"""cocotb testbenches for the row units: ivit_shiftmax (spec.shiftmax) and ivit_ilayernorm
(spec.ilayernorm_normalize). Rows of cfg_len elements, LANES per beat, the last beat padded."""

from __future__ import annotations

import cocotb
import numpy as np

import streams
from ivit_hls import spec


def _beats(rows: np.ndarray, lanes: int, width: int, rng) -> list[dict[str, int]]:
    n, length = rows.shape
    nb = -(-length // lanes)
    padded = rng.integers(-(1 << (width - 1)), 1 << (width - 1), size=(n, nb * lanes))
    padded[:, :length] = rows                    # junk in the padding lanes must be ignored
    return [{"s_data": streams.pack(padded[r, b * lanes:(b + 1) * lanes], width)}
            for r in range(n) for b in range(nb)]


async def _run_rows(dut, cfg, rows, in_w, out_w, out_signed, want, name, rng):
    lanes = cfg["LANES"]
    length = rows.shape[1]
    nb = -(-length // lanes)
    beats = _beats(rows, lanes, in_w, rng)
    result = {}
    for label, idle, bp in (("stall", cfg["idle"], cfg["bp"]), ("free", 0.0, 0.0)):
        outs, cycles = await streams.stream(dut, beats, ["m_data", "m_last"], len(beats), rng,
                                            idle, bp)
        flat = [streams.unpack(o["m_data"], lanes, out_w, out_signed) for o in outs]
        got = np.array(flat).reshape(len(rows), nb * lanes)
        np.testing.assert_array_equal(got[:, length:], 0, err_msg=f"{name}: padding lanes")
        for r in range(len(rows)):
            np.testing.assert_array_equal(got[r, :length], want[r],
                                          err_msg=f"{name} ({label}) row {r} differs from spec")
        lasts = [o["m_last"] for o in outs]
        assert lasts == ([0] * (nb - 1) + [1]) * len(rows), f"{name}: m_last misplaced"
        result[f"cycles_{label}"] = cycles
    result["checked"] = int(want.size)
    result["rows"] = len(rows)
    return result


@cocotb.test()
async def shiftmax_rows(dut):
    cfg = streams.config()
    in_w, out_w, length = cfg["IN_W"], cfg["OUT_W"], cfg["len"]
    k, i0, n = cfg["k"], cfg["i0"], cfg["n"]
    rng = np.random.default_rng(cfg["seed"])
    lo, hi = -(1 << (in_w - 1)), (1 << (in_w - 1)) - 1
    rows = rng.integers(lo, hi + 1, size=(cfg["rows"], length), dtype=np.int64)
    rows[0] = 7                                   # flat row
    rows[1] = lo
    rows[1, -1] = hi                              # one dominant element
    rows[2] = np.clip(np.round(rng.normal(0, 12, length)), lo, hi)
    exp_form = "paper" if cfg.get("EXP_FORM", 1) == 0 else "corrected"
    want = spec.shiftmax(rows, k, i0, n, out_w, exp_form)
    for name, val in (("cfg_k", k), ("cfg_i0", i0), ("cfg_n", n), ("cfg_len", length)):
        getattr(dut, name).value = val
    await streams.start(dut)
    streams.write_result(await _run_rows(dut, cfg, rows, in_w, out_w, False, want, "shiftmax",
                                         rng))


@cocotb.test()
async def ilayernorm_rows(dut):
    cfg = streams.config()
    in_w, length = cfg["IN_W"], cfg["len"]
    rng = np.random.default_rng(cfg["seed"])
    lo, hi = -(1 << (in_w - 1)), (1 << (in_w - 1)) - 1
    rows = rng.integers(lo, hi + 1, size=(cfg["rows"], length), dtype=np.int64)
    rows[0] = -5                                  # zero variance: output 0
    rows[1] = np.where(np.arange(length) % 2 == 0, lo, hi)
    rows[2] = np.clip(np.round(rng.normal(-3, 2, length)), lo, hi)   # small variance
    if len(rows) > 3:
        rows[3] = np.round(rng.normal(0, 40, length))
        rows[3, :3] = [hi, lo, hi]                 # outlier channels
    want = spec.ilayernorm_normalize(rows)
    dut.cfg_len.value = length
    await streams.start(dut)
    streams.write_result(await _run_rows(dut, cfg, rows, in_w, 18, True, want, "ilayernorm",
                                         rng))
