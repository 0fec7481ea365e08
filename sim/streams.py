"""Stream driving for the cocotb testbenches: lane packing and a cycle loop with stalls.

Every unit has one input stream (``s_valid``/``s_ready`` + data fields) and one output
stream (``m_valid``/``m_ready`` + data fields). Inputs change on the falling edge; the
handshake is sampled settled (ReadOnly) just before the rising edge that transfers it.
"""

from __future__ import annotations

import json
import os

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from ivit_hls.rtl.bits import pack, unpack  # noqa: F401  (re-exported for the benches)


def config() -> dict:
    """The testbench configuration passed by ``ivit_hls.rtl.simrun.run_tb``."""
    return json.loads(os.environ["IVIT_TB_CONFIG"])


def write_result(result: dict) -> None:
    """Hand measurements back to the pytest side."""
    with open(os.environ["IVIT_TB_RESULT"], "w") as fh:
        json.dump(result, fh)


def _unsigned(value) -> int:
    """A settled signal value as a non-negative int (1-bit signals are ``Logic``)."""
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


async def start(dut, rng_seed: int = 0):
    """Start the clock, reset the DUT for a few cycles, leave every stream idle."""
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.s_valid.value = 0
    dut.m_ready.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def stream(dut, beats: list[dict[str, int]], out_fields: list[str], n_out: int,
                 rng: np.random.Generator, idle: float = 0.0, backpressure: float = 0.0,
                 max_cycles: int = 1_000_000) -> tuple[list[dict[str, int]], int]:
    """Offer ``beats`` on the input stream and collect ``n_out`` output beats.

    ``idle`` is the chance that the source withholds a beat in a cycle, ``backpressure`` the
    chance that the sink refuses one. Returns the output beats (raw unsigned field values)
    and the number of clock cycles from the first offered beat to the last output beat.
    Call on a falling edge; returns on a falling edge.
    """
    outs: list[dict[str, int]] = []
    sent = 0
    cycles = 0
    m_handles = [getattr(dut, f) for f in out_fields]
    while len(outs) < n_out:
        if cycles >= max_cycles:
            raise AssertionError(f"timeout: {len(outs)}/{n_out} output beats after {cycles} cycles"
                                 f" ({sent}/{len(beats)} input beats taken)")
        offer = sent < len(beats) and rng.random() >= idle
        if offer:
            for name, val in beats[sent].items():
                getattr(dut, name).value = val
        dut.s_valid.value = int(offer)
        take = rng.random() >= backpressure
        dut.m_ready.value = int(take)
        await ReadOnly()
        if offer and dut.s_ready.value == 1:
            sent += 1
        if take and dut.m_valid.value == 1:
            outs.append({f: _unsigned(h.value) for f, h in zip(out_fields, m_handles)})
        cycles += 1
        await FallingEdge(dut.clk)
    dut.s_valid.value = 0
    dut.m_ready.value = 0
    return outs, cycles
