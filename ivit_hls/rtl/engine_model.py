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
#
# The engine's cells by module. Every figure below is a module's own cells (LUT, FF, DSP;
# submodules apart) in the unflattened Yosys synthesis of the small engine (N = 2,
# `ivit-hls synth-report --engine-modules small`, recorded in docs/results/engine-synth.json,
# where a test compares them). The model multiplies each by how often the structure repeats
# it at N: once, N times (a lane), N^2 times (a processing element); and for the glue of the
# engine's own modules it adds the selection multiplexers by width and fan-in.

#: Cells repeated as whole instances: (count as a function of N, module, (LUT, FF, DSP)).
INSTANCE_COST = {
    "pe": ("n2", "ivit_pe", (66, 90, 1)),
    "array requant lane": ("n", "ivit_requant_lane", (514, 134, 4)),
    "vector requant lane": ("n", "ivit_requant_lane", (496, 134, 4)),
    "residual lane a": ("n", "ivit_requant_lane", (514, 134, 4)),
    "residual lane b": ("n", "ivit_requant_lane", (365, 119, 2)),
    "shiftexp lane": ("n", "ivit_shiftexp_lane", (482, 181, 1)),
    "layernorm divider": ("1", "ivit_divseq", (426, 200, 0)),
    "shiftmax divider": ("1", "ivit_divseq", (582, 200, 0)),
    "axi-lite control": ("1", "ivit_engine_axil", (458, 310, 0)),
    "read dma": ("2", "ivit_engine_rdma", (186, 201, 0)),
    "write dma": ("1", "ivit_engine_wdma", (235, 234, 0)),
    "fifos": ("2", "ivit_engine_fifo", (10, 9, 0)),
    "pipeline control": ("6", "ivit_pipe_ctrl", (1, 3, 0)),
    "array delay lines": ("1", "ivit_delay", (0, 26, 0)),
}
#: Lane-parallel modules whose own logic (outside their lane instances) is per lane: the
#: small engine's figure (2 lanes) halved.
LANE_OWN_COST = {
    "layernorm": ("ivit_ilayernorm", (1182, 394, 14)),
    "shiftmax": ("ivit_shiftmax", (1242, 338, 12)),
    "gelu (shift)": ("ivit_gelu_shift", (416, 268, 6)),
    "residual add": ("ivit_residual_add", (232, 32, 0)),
    "array requant": ("ivit_requant", (132, 64, 0)),
    "vector requant": ("ivit_requant", (132, 64, 0)),
    "array edges": ("ivit_systolic", (124, 411, 0)),
    "saturation x2": ("ivit_engine_sat", (2 * 228, 0, 0)),
}
SMALL_N = 2
#: The engine's own modules (controller, GEMM feed, vector stage): small-engine cells
#: (LUT, FF) before the structural multiplexers of ``_glue_muxes`` are taken out.
GLUE_COST = {"ivit_engine_core": (1975, 1007), "ivit_engine_gemm": (700, 385),
             "ivit_engine_vec": (557, 127)}
#: RAMB36 capacity in bits, its widest simple-dual-port shape (512 x 72) and a RAMB18's
BRAM36_BITS, BRAM36_WIDTH, BRAM36_DEPTH, BRAM18_WIDTH = 36864, 72, 512, 36


def mux_luts(k: int) -> int:
    """LUT6s per bit of a k:1 multiplexer (four inputs a LUT, MUXF7/F8 joining them)."""
    return 0 if k <= 1 else -(-k // 4)


def _glue_muxes(cfg) -> dict:
    """LUTs of the selection multiplexers in the engine's own modules, by their widths:
    core: the four constant fields (N*32 bits out of a DATA_W beat: 1 of DATA_W/(N*32)),
    the store word (1 of N banks) and the buffer write data (1 of 3);
    gemm: the A operand (17 bits, 1 of N words per lane) and B (8 bits per lane: 1 of N
    words in two orders or 1 of DATA_W/(8N) panel bytes, then 1 of 3);
    vec: the A and B words (N*32 bits each, 1 of N banks), the output word (1 of 3), the
    requant input (25 bits, 1 of 2) and offset (64 bits)."""
    n, word = cfg.n, cfg.n * 32
    cpb, kpb = max(1, cfg.data_w // word), max(1, cfg.data_w // (8 * n))
    return {
        "ivit_engine_core": 4 * word * mux_luts(cpb) + word * mux_luts(n) + word,
        "ivit_engine_gemm": n * 17 * mux_luts(n) + n * 8 * (2 * mux_luts(n) + mux_luts(kpb) + 1),
        "ivit_engine_vec": 2 * word * mux_luts(n) + n * (32 + 25 + 64),
    }


def _bram(width: int, depth: int, read_ports: int = 1) -> float:
    """RAMB36 count of a width x depth memory, one copy per read port; up to 512 deep a
    copy is 72-bit RAMB36s and a RAMB18 (half a RAMB36) for a rest of up to 36 bits."""
    if depth <= BRAM36_DEPTH:
        full, rest = divmod(width, BRAM36_WIDTH)
        per_copy = full + (0 if rest == 0 else 0.5 if rest <= BRAM18_WIDTH else 1)
    else:
        per_copy = -(-(width * depth) // BRAM36_BITS)
    return per_copy * read_ports


def resource_blocks(cfg) -> dict:
    """Modelled (LUT, FF, DSP) of each part of ``ivit_engine`` with ``cfg``."""
    if cfg.gelu_form != "shift":
        raise ValueError("the resource model knows the shift GELU unit (the engine default)")
    n = cfg.n
    mult = {"1": 1, "2": 2, "6": 6, "n": n, "n2": n * n}
    out = {}
    for name, (count, _, cost) in INSTANCE_COST.items():
        out[name] = tuple(mult[count] * c for c in cost)
    for name, (_, cost) in LANE_OWN_COST.items():
        out[name] = tuple(n * c / SMALL_N for c in cost)
    small = _glue_muxes(type(cfg)(n=SMALL_N, data_w=cfg.data_w))
    here = _glue_muxes(cfg)
    for mod, (lut, ff) in GLUE_COST.items():
        out[mod] = (lut - small[mod] + here[mod], ff, 0)
    # the GEMM feed registers its N lanes' bias, multiplier and shift (3 x 32 bits each)
    lut, ff, dsp = out["ivit_engine_gemm"]
    out["ivit_engine_gemm"] = (lut, ff + 96 * (n - SMALL_N), dsp)
    return out


def resources(cfg) -> dict:
    """Modelled LUT / FF / DSP / BRAM36 of ``ivit_engine`` with ``cfg`` (an EngineConfig):
    ``resource_blocks`` summed, the activation buffer (N banks of N*32-bit words, two read
    ports) and the double-buffered weight panel (DATA_W x 2*PDEPTH) as block RAM."""
    blocks = resource_blocks(cfg)
    lut, ff, dsp = (round(sum(b[i] for b in blocks.values())) for i in range(3))
    bram = cfg.n * _bram(cfg.n * 32, cfg.sdepth, read_ports=2) + _bram(cfg.data_w,
                                                                        2 * cfg.pdepth)
    return {"LUT": lut, "FF": ff, "DSP": dsp, "BRAM": bram}
