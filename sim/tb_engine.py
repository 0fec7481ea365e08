"""cocotb bench of the accelerator top: DDR as cocotbext-axi RAM, control over AXI4-Lite.

Drives any top with the ports of the Vitis kernel ``ivit_top(image, weights, logits,
n_images)`` (ap_ctrl_hs on ``s_axi_control``, ``m_axi_gmem0`` for image and logits,
``m_axi_gmem1`` for weights): ``hw/rtl/ivit_engine`` or Vitis-exported Verilog of the HLS
kernel. Both masters see one memory. With ``stall`` > 0 the memory pauses every channel
(address acceptance, read data, write data, write responses) that fraction of the time, in
random bursts. The bench
loads the image and weights files, writes the pointer arguments, starts the kernel, waits for
the interrupt, and dumps the logits region (logits + debug trace) to ``config["out"]``.
"""

from __future__ import annotations

import logging
import mmap
import random
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, Timer, ValueChange
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

import streams

CTRL, GIE, IER, ISR = 0x00, 0x04, 0x08, 0x0C
ARG_IMAGE, ARG_WEIGHTS, ARG_LOGITS, ARG_N_IMAGES = 0x10, 0x1C, 0x28, 0x34
STAT_CYCLES, STAT_TRACE = 0x40, 0x48
PERIOD_NS = 10


def _align(x: int, a: int = 4096) -> int:
    return -(-x // a) * a


async def _watch(sig, times: list):
    """Record the time of every change of ``sig`` (the engine's step counter)."""
    while True:
        await ValueChange(sig)
        times.append(cocotb.utils.get_sim_time("ns"))


async def _stall(ch, rng: random.Random, p: float, mean_idle: int = 16):
    """Pause channel ``ch`` a fraction ``p`` of the time, in random bursts of idle cycles
    (geometric lengths, mean ``mean_idle``). Woken once per burst, not every cycle."""
    mean_run = mean_idle * (1 - p) / p
    while True:
        ch.pause = False
        await Timer(PERIOD_NS * max(1, round(rng.expovariate(1 / mean_run))), unit="ns")
        ch.pause = True
        await Timer(PERIOD_NS * max(1, round(rng.expovariate(1 / mean_idle))), unit="ns")


@cocotb.test()
async def run_engine(dut):
    cfg = streams.config()
    rng = random.Random(int(cfg.get("seed", 0)))
    weights = Path(cfg["weights"]).read_bytes()
    image = Path(cfg["image"]).read_bytes()
    n_images = int(cfg.get("n_images", 1))
    logits_bytes = int(cfg["logits_bytes"])
    w_addr = 0
    i_addr = _align(len(weights))
    l_addr = _align(i_addr + len(image))
    mem = mmap.mmap(-1, _align(l_addr + logits_bytes * n_images + 4096))

    cocotb.start_soon(Clock(dut.ap_clk, PERIOD_NS, unit="ns").start())
    ram0 = AxiRam(AxiBus.from_prefix(dut, "m_axi_gmem0"), dut.ap_clk, dut.ap_rst_n,
                  reset_active_level=False, mem=mem)
    ram1 = AxiRam(AxiBus.from_prefix(dut, "m_axi_gmem1"), dut.ap_clk, dut.ap_rst_n,
                  reset_active_level=False, mem=mem)
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk,
                         dut.ap_rst_n, reset_active_level=False)
    for obj in (ram0.write_if, ram0.read_if, ram1.write_if, ram1.read_if, axil.write_if,
                axil.read_if):
        obj.log.setLevel(logging.WARNING)      # one line per burst would dominate the run
    stall = float(cfg.get("stall", 0.0))
    if stall > 0:
        for ch in (ram0.read_if.ar_channel, ram0.read_if.r_channel, ram0.write_if.aw_channel,
                   ram0.write_if.w_channel, ram0.write_if.b_channel,
                   ram1.read_if.ar_channel, ram1.read_if.r_channel):
            cocotb.start_soon(_stall(ch, random.Random(rng.random()), stall))

    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 8)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 4)

    ram1.write(w_addr, weights)
    ram0.write(i_addr, image)
    for off, val in ((ARG_IMAGE, i_addr), (ARG_WEIGHTS, w_addr), (ARG_LOGITS, l_addr)):
        await axil.write_dword(off, val & 0xFFFFFFFF)
        await axil.write_dword(off + 4, val >> 32)
    await axil.write_dword(ARG_N_IMAGES, n_images)
    await axil.write_dword(IER, 1)
    await axil.write_dword(GIE, 1)
    assert (await axil.read_dword(CTRL)) & 0x4, "kernel not idle after reset"

    # per-step timing where the top exposes its step counter (the HLS kernel does not)
    changes: list = []
    try:
        pc = dut.core.pc
    except AttributeError:
        pc = None
    if pc is not None:
        cocotb.start_soon(_watch(pc, changes))
    wall = time.perf_counter()
    await axil.write_dword(CTRL, 1)
    t0 = cocotb.utils.get_sim_time("ns")
    if not dut.interrupt.value:
        await RisingEdge(dut.interrupt)
    t1 = cocotb.utils.get_sim_time("ns")
    wall = time.perf_counter() - wall
    ctrl = await axil.read_dword(CTRL)
    assert ctrl & 0x2, f"interrupt without ap_done (AP_CTRL = {ctrl:#x})"
    assert (await axil.read_dword(ISR)) & 1, "ISR.ap_done not set"
    await axil.write_dword(ISR, 1)                     # toggle-on-write clears it
    await ClockCycles(dut.ap_clk, 2)
    assert not dut.interrupt.value, "interrupt still high after clearing ISR"
    cycles = (await axil.read_dword(STAT_CYCLES)) | (await axil.read_dword(STAT_CYCLES + 4)) << 32
    trace = (await axil.read_dword(STAT_TRACE)) | (await axil.read_dword(STAT_TRACE + 4)) << 32

    with open(cfg["out"], "wb") as fh:
        fh.write(ram0.read(l_addr, logits_bytes * n_images))
    tb_cycles = int((t1 - t0) // PERIOD_NS)
    marks = [t0] + [t for t in changes if t0 < t <= t1] + [t1]
    steps = [int((b - a) // PERIOD_NS) for a, b in zip(marks, marks[1:])]
    streams.write_result({"tb_cycles": tb_cycles, "engine_cycles": cycles, "steps": steps,
                          "trace_cycles": trace, "wall_s": wall,
                          "cycles_per_s": tb_cycles / wall if wall > 0 else 0.0})
