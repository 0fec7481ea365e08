"""Run an engine program on ``hw/rtl/ivit_engine`` under Verilator behind cocotbext-axi.

``run_program`` writes the weights blob and the image buffer, runs ``sim/tb_engine.py`` (AXI
RAM as DDR, AXI4-Lite control, interrupt), and decodes the logits region: the final output
and every layer's trace copy. ``check_layers`` compares them with the golden trace.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import simrun
from .engine import Program, decode_trace, unpack_tensor
from .sources import rtl_sources

#: Verilator options of the engine build: only the top's ports and the step counter are
#: visible to cocotb (every signal public, cocotb's default, makes the model ~x slower).
BUILD_ARGS = ["-Wno-fatal", "-O2", "--no-public-flat-rw", "--public-depth", "1"]


def build_engine(params: dict) -> Path:
    """Build ``ivit_engine`` with HDL ``params`` once (cached by sources + parameters)."""
    from cocotb_tools.runner import get_runner

    os.environ.update(simrun.verilator_env())
    sources = rtl_sources()
    h = hashlib.sha256(json.dumps([params, BUILD_ARGS], sort_keys=True).encode())
    for src in sources:
        h.update(src.name.encode() + src.read_bytes())
    build_dir = simrun.BUILD_ROOT / f"ivit_engine-{h.hexdigest()[:16]}"
    stamp = build_dir / ".ivit-built"
    if not stamp.exists():
        get_runner("verilator").build(
            sources=[str(s) for s in sources], hdl_toplevel="ivit_engine", parameters=params,
            build_dir=str(build_dir), build_args=BUILD_ARGS, timescale=("1ns", "1ps"),
            always=True)
        stamp.write_text("built\n")
    return build_dir


def run_bench(params: dict, config: dict, top: str = "ivit_engine",
              build_dir: Path | None = None) -> dict:
    """Run ``sim/tb_engine.py`` on a built top; return the bench's result."""
    from cocotb_tools.runner import get_runner

    build_dir = Path(build_dir) if build_dir is not None else build_engine(params)
    fd, result_path = tempfile.mkstemp(prefix="ivit-tb-", suffix=".json", dir=build_dir)
    os.close(fd)
    for extra in (str(simrun.REPO_ROOT), str(simrun.SIM_DIR)):
        if extra not in sys.path:
            sys.path.insert(0, extra)
    try:
        get_runner("verilator").test(
            test_module="tb_engine", testcase="run_engine", hdl_toplevel=top,
            hdl_toplevel_lang="verilog", build_dir=str(build_dir), test_dir=str(build_dir),
            extra_env={"IVIT_TB_CONFIG": json.dumps(config), "IVIT_TB_RESULT": result_path},
            seed=int(config.get("seed", 0)))
    except SystemExit as exc:
        raise AssertionError(f"cocotb bench tb_engine on {top} failed (exit {exc.code}); "
                             f"see {build_dir}/results.xml") from None
    text = Path(result_path).read_text()
    Path(result_path).unlink()
    if not text.strip():
        raise AssertionError("cocotb bench tb_engine wrote no result")
    return json.loads(text)


@dataclass
class EngineRun:
    """Outputs and cycle counts of one engine run."""

    output: np.ndarray
    outputs: list = field(default_factory=list)       # every image's output (n_images)
    layers: dict = field(default_factory=dict)
    tb_cycles: int = 0          # start to interrupt, measured by the bench
    engine_cycles: int = 0      # the engine's own counter (0x40)
    trace_cycles: int = 0       # of those, spent storing the debug trace (0x48)
    wall_s: float = 0.0
    cycles_per_s: float = 0.0
    step_cycles: list = field(default_factory=list)   # cycles of each descriptor
                                                      # (image 0's; the rest in the END step)

    @property
    def compute_cycles(self) -> int:
        """Engine cycles without the debug-trace stores."""
        return self.engine_cycles - self.trace_cycles


def run_program(prog: Program, x, seed: int = 0, stall: float = 0.0,
                workdir: Path | None = None) -> EngineRun:
    """Run ``prog`` on input rows ``x`` (see ``Program.pack_input``), or on a sequence of
    such inputs in one kernel call (``n_images`` = their number); return the outputs.

    ``output`` and ``layers`` are image 0's; ``outputs`` holds every image's output.
    """
    xs = [x] if np.asarray(x).ndim == 2 else list(x)
    simrun.BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(dir=simrun.BUILD_ROOT.parent)
        workdir = Path(tmp.name)
    try:
        wpath, ipath, opath = (Path(workdir) / f for f in ("weights.bin", "image.bin",
                                                            "logits.bin"))
        wpath.write_bytes(prog.blob)
        # the header's strides: image i at i * image bytes, its logits at i * logits bytes
        ipath.write_bytes(b"".join(prog.pack_input(xi) for xi in xs))
        res = run_bench(prog.cfg.hdl_params(),
                        {"weights": str(wpath), "image": str(ipath), "out": str(opath),
                         "logits_bytes": prog.logits_bytes, "n_images": len(xs),
                         "seed": seed, "stall": stall})
        region = opath.read_bytes()
    finally:
        if tmp is not None:
            tmp.cleanup()
    # the last END resets the step counter too: its interval and the done handshake's
    # belong to the END step
    steps = list(res.get("steps", []))
    n = len(prog.steps)
    if len(steps) > n:
        steps = steps[:n - 1] + [sum(steps[n - 1:])]
    rows, chans = prog.output.rows, prog.output.chans
    lb = prog.logits_bytes
    outs = [unpack_tensor(region[i * lb:(i + 1) * lb], rows, chans, prog.cfg)
            .reshape(prog.output_shape) for i in range(len(xs))]
    return EngineRun(output=outs[0], outputs=outs, layers=decode_trace(prog, region[:lb]),
                     tb_cycles=res["tb_cycles"], engine_cycles=res["engine_cycles"],
                     trace_cycles=res["trace_cycles"], wall_s=res["wall_s"],
                     cycles_per_s=res["cycles_per_s"], step_cycles=steps)


def first_mismatch(run: EngineRun, trace: dict, layers: list) -> str | None:
    """Name of the first layer whose engine output differs from the golden trace (batch 0)."""
    for name in layers:
        if name not in run.layers or not np.array_equal(run.layers[name], trace[name][0]):
            return name
    return None
