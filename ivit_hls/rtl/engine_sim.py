"""Run an engine program on ``hw/rtl/ivit_engine`` under Verilator behind cocotbext-axi.

``run_program`` writes the weights blob and the image buffer, runs ``sim/tb_engine.py`` (AXI
RAM as DDR, AXI4-Lite control, interrupt), and decodes the logits region: the final output
and every layer's trace copy. ``check_layers`` compares them with the golden trace.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import simrun
from .engine import Program, decode_trace, unpack_tensor


@dataclass
class EngineRun:
    """Outputs and cycle counts of one engine run."""

    output: np.ndarray
    layers: dict = field(default_factory=dict)
    tb_cycles: int = 0          # start to interrupt, measured by the bench
    engine_cycles: int = 0      # the engine's own counter (0x40)
    trace_cycles: int = 0       # of those, spent storing the debug trace (0x48)
    wall_s: float = 0.0
    cycles_per_s: float = 0.0

    @property
    def compute_cycles(self) -> int:
        """Engine cycles without the debug-trace stores."""
        return self.engine_cycles - self.trace_cycles


def run_program(prog: Program, x: np.ndarray, seed: int = 0, stall: float = 0.0,
                workdir: Path | None = None) -> EngineRun:
    """Run ``prog`` on input rows ``x`` (see ``Program.pack_input``); return the outputs."""
    simrun.BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(dir=simrun.BUILD_ROOT.parent)
        workdir = Path(tmp.name)
    try:
        wpath, ipath, opath = (Path(workdir) / f for f in ("weights.bin", "image.bin",
                                                            "logits.bin"))
        wpath.write_bytes(prog.blob)
        ipath.write_bytes(prog.pack_input(x))
        res = simrun.run_tb("ivit_engine", prog.cfg.hdl_params(), "tb_engine",
                            {"weights": str(wpath), "image": str(ipath), "out": str(opath),
                             "logits_bytes": prog.logits_bytes, "seed": seed, "stall": stall},
                            testcase="run_engine")
        region = opath.read_bytes()
    finally:
        if tmp is not None:
            tmp.cleanup()
    rows, chans = prog.output.rows, prog.output.chans
    out = unpack_tensor(region, rows, chans, prog.cfg).reshape(prog.output_shape)
    return EngineRun(output=out, layers=decode_trace(prog, region),
                     tb_cycles=res["tb_cycles"], engine_cycles=res["engine_cycles"],
                     trace_cycles=res["trace_cycles"], wall_s=res["wall_s"],
                     cycles_per_s=res["cycles_per_s"])


def first_mismatch(run: EngineRun, trace: dict, layers: list) -> str | None:
    """Name of the first layer whose engine output differs from the golden trace (batch 0)."""
    for name in layers:
        if name not in run.layers or not np.array_equal(run.layers[name], trace[name][0]):
            return name
    return None
