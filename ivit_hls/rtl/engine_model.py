"""Analytic cycle model of ``hw/rtl/ivit_engine`` running a program.

Every descriptor costs its fetch, its execution and one cycle to advance, with the memory
system described by two latencies (``MemTiming``). Execution follows the hardware:
GEMM = the first weight panel's load, the array's tile formula (``cycles.systolic_cycles``,
tiles back to back while the next panel loads underneath), the feed and write pipelines;
vector ops = the unit's own formula (Shiftmax / I-LayerNorm per row, II = 1 streams) plus
the requant and buffer pipelines; loads and constant tables = latency + beats; stores move
one word per three cycles (their bursts' addresses go out while the words are read). The bench measures every step (the step counter's changes), so
``compare`` sets model and measurement side by side per layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import cycles
from .engine import (OP_CONST, OP_END, OP_GEMM, OP_HDR, OP_LOAD, OP_STORE, OP_VEC, B_DDR,
                     TRACE_FLAG, V_GELU, V_LN, V_RES, V_SMAX, Program)

#: cycles the controller spends per step outside the fetch and the operation (S_NEXT)
STEP_OVERHEAD = 1
#: buffer read -> operand register -> FIFO -> unit / array
FEED_DELAY = 2
#: array or unit output -> buffer write -> busy low -> controller sees it
DRAIN_DELAY = 2


@dataclass(frozen=True)
class MemTiming:
    """The memory seen by the engine: cycles from a read command to its first beat, and
    from a write burst's last beat to its response (cocotbext-axi AxiRam without stalls)."""

    read_latency: int = 4
    write_latency: int = 4


def _gemm(step, prog: Program, mem: MemTiming) -> int:
    n = prog.cfg.n
    i = step.info
    tiles = [i["k"]] * (i["n_rg"] * i["n_ct"])
    body = cycles.systolic_cycles(tiles, n, n)
    load = 0
    if step.sub == B_DDR:
        panel = mem.read_latency + i["panel_beats"]
        load = panel
        # panel c + 2 loads into the half panel c frees; the array waits if that is slower
        # than one column tile's steps
        per_col = i["n_rg"] * max(i["k"], 2 * n)
        load += max(0, i["n_ct"] - 2) * max(0, panel - per_col)
    return load + FEED_DELAY + body + DRAIN_DELAY


def _vec(step, prog: Program) -> int:
    n = prog.cfg.n
    i = step.info
    rows, wpr, length = i["rows"], i["wpr"], i["len"]
    if step.sub == V_LN:
        unit = rows * cycles.ilayernorm_row_cycles(length, n, 16) + cycles.REQUANT_LATENCY
    elif step.sub == V_SMAX:
        unit = rows * cycles.shiftmax_row_cycles(length, n, 5)
    elif step.sub == V_GELU:
        lat = (cycles.GELU_SHIFT_LATENCY if prog.cfg.gelu_form == "shift"
               else cycles.shiftgelu_latency(5))
        unit = cycles.stream_cycles(rows * wpr, lat) + cycles.REQUANT_LATENCY
    elif step.sub == V_RES:
        unit = cycles.stream_cycles(rows * wpr, cycles.RESIDUAL_LATENCY)
    else:  # pragma: no cover - the builder emits only these
        raise ValueError(step.sub)
    return FEED_DELAY + unit + DRAIN_DELAY


def _store_moving(step) -> int:
    """Cycles in the store state: read, hold, hand over, three a word (bursts' addresses
    go out while words are read)."""
    return 3 * step.info["beats"] + 1


def _store(step, prog: Program, mem: MemTiming) -> int:
    # then the last write response before the next step
    return _store_moving(step) + mem.write_latency - 1


def step_cycles(step, prog: Program, mem: MemTiming | None = None) -> int:
    """Modelled cycles of one descriptor (fetch, execution, advance)."""
    mem = mem or MemTiming()
    db = max(1, 512 // prog.cfg.data_w)
    fetch = mem.read_latency + db
    if step.op in (OP_LOAD, OP_CONST):
        body = 1 + mem.read_latency + step.info["beats"]
    elif step.op == OP_STORE:
        body = _store(step, prog, mem)
    elif step.op == OP_GEMM:
        body = _gemm(step, prog, mem)
    elif step.op == OP_VEC:
        body = _vec(step, prog)
    elif step.op in (OP_HDR, OP_END):
        body = 0
    else:  # pragma: no cover
        raise ValueError(step.op)
    return STEP_OVERHEAD + fetch + body


def is_trace(step) -> bool:
    """True for the debug-trace stores (their cycles are counted apart by the engine)."""
    return step.op == OP_STORE and bool(step.flags & TRACE_FLAG)


def program_cycles(prog: Program, mem: MemTiming | None = None,
                   trace: bool = False) -> int:
    """Modelled cycles of one image; ``trace=False`` leaves out what the engine counts apart
    (0x48): the cycles its debug-trace stores spend moving data."""
    mem = mem or MemTiming()
    total = sum(step_cycles(s, prog, mem) for s in prog.steps)
    if not trace:
        total -= sum(_store_moving(s) for s in prog.steps if is_trace(s))
    return total


def layer_cycles(prog: Program, per_step: list, mem: MemTiming | None = None) -> list:
    """Rows (layer, measured, modelled) summed over each layer's non-trace steps."""
    rows: dict = {}
    for s, measured in zip(prog.steps, per_step):
        if is_trace(s) or s.op == OP_END:
            continue
        name = s.layer.split("[")[0] or "(control)"
        m, e = rows.get(name, (0, 0))
        rows[name] = (m + measured, e + step_cycles(s, prog, mem))
    return [(k, m, e) for k, (m, e) in rows.items()]


# ------------------------------------------------------------------ resources ---------

#: Per-lane costs of the units (LUT, FF, DSP) on xcup: Yosys synthesis of the units at 4
#: lanes (docs/results/synthesis.md; the shift GELU from its current row, the others from
#: the table before the units' revision), divided by 4; the array's processing element and
#: its requant lane from the 8x8 array.
UNIT_LANE = {
    "array_pe": (60, 131, 1),
    "array_requant": (646, 143, 4),
    "layernorm": (547, 176, 7),
    "shiftmax": (998, 329, 6),
    "gelu": (286, 140, 3),
    "residual": (781, 240, 4),
    "requant": (646, 143, 4),
}
#: RAMB36 capacity in bits, and the widest simple-dual-port configuration (512 x 72)
BRAM36_BITS, BRAM36_WIDTH, BRAM36_DEPTH = 36864, 72, 512


def _bram(width: int, depth: int, read_ports: int = 1) -> int:
    """RAMB36 count of a width x depth memory (one copy per read port)."""
    if depth <= BRAM36_DEPTH:
        per_copy = -(-width // BRAM36_WIDTH)
    else:
        per_copy = -(-(width * depth) // BRAM36_BITS)
    return per_copy * read_ports


def resources(cfg) -> dict:
    """Modelled LUT / FF / DSP / BRAM36 of ``ivit_engine`` with ``cfg`` (an EngineConfig):
    the units' per-lane costs times the lanes, the buffers as block RAM, and the controller
    and operand selection (N x N x 32-bit words into N lanes) as LUTs and FFs."""
    n = cfg.n
    lut = ff = dsp = 0
    counts = {"array_pe": n * n, "array_requant": n, "layernorm": n, "shiftmax": n,
              "gelu": n, "residual": n, "requant": n}
    for unit, lanes in counts.items():
        u_lut, u_ff, u_dsp = UNIT_LANE[unit]
        lut, ff, dsp = lut + lanes * u_lut, ff + lanes * u_ff, dsp + lanes * u_dsp
    word = n * 32
    # operand selection: each of N lanes picks one of N words (A, B) out of the buffer row
    lut += 2 * n * n * 32 // 4
    # constant tables (4 x CDEPTH beats, asynchronous read) as LUT RAM, FIFOs, DMA, control
    lut += 4 * cfg.cdepth * cfg.data_w // 64 + 4 * word + 2000
    ff += 4 * (n * 17 + n * 8 + 1 + n * 70) + 3 * cfg.data_w + 1500
    bram = (n * _bram(word, cfg.sdepth, read_ports=2)
            + _bram(cfg.data_w, 2 * cfg.pdepth))
    return {"LUT": lut, "FF": ff, "DSP": dsp, "BRAM": bram}
