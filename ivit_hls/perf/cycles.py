"""Cycle, DDR and resource model of the generated engine, from the lowered program itself.

``estimate_plan(plan, part, clock)`` walks the same steps the generated top runs: each engine
step's cycles come from the unit formulas in ``ivit_hls.ops.common``, which mirror the loops
of ``hw/hls/ivit/engine.h`` and ``layers.h`` line for line (the cycle-accounting C-simulation,
``-DIVIT_CYCLES``, must and does produce the same numbers; a test checks it). Fused layers
cost nothing of their own (their work is in the step's epilogue or overlapped unit).
"""

from __future__ import annotations

import dataclasses
import functools

from ..ops.base import Engine
from ..ops.common import (DDR_LATENCY, VEC_DEPTH, WORD_BYTES,  # noqa: F401
                          drain_lanes, gemm_cycles, gemm_ddr, patch_load_steps, slices_of)
from ..ops.attention_cost import attention_cycles
from .fabric_mul import calibrated_mul_luts
from .onchip import (ctype_bits as _width, im2col_shape, in_halves, memories_with_blocks,
                     mux_luts, row_select_ports)
from .parts import bytes_per_cycle, part_info

#: The DSP48E2 multiplier is 27 x 18 bits, signed; a wider operand is split into a signed top
#: piece and unsigned lower pieces of 26 / 17 bits, one slice per pair of pieces.
DSP_A, DSP_B = 27, 18
#: The row unit's multiplier (the LayerNorm mean by a constant reciprocal, 64 x 64 bits would
#: be 9 slices; the divider and isqrt are iterative): kept at its former count.
DSP_ROW_UNIT = 4
#: LUTs of the PE array: one fabric accumulator adder per PE, as wide as its accumulator
#: (IVIT_W_ACC): the two int8 products packed in a DSP48E2 cannot both accumulate in its P
#: register.
#: Share of the part's LUTs the counted logic may take; the rest is left to what the model
#: does not count (control, address generation, AXI adapters, operand and drain muxes).
LUT_BUDGET = 0.7
#: The LayerNorm normalized value: |16x_c - mean| <= sd = isqrt(sum of squares), so
#: |nv| <= 2^16 (one guard bit more). (The helper multipliers' spec widths: hls/lanes.py.)
LN_NORM_BITS = 19


def mul_dsp(a: int, b: int) -> int:
    """DSP48E2 slices of a signed ``a``-bit by ``b``-bit multiplier (the better orientation)."""
    def pieces(w: int, port: int) -> int:
        return 1 + max(0, -(-(w - port) // (port - 1)))
    return min(pieces(a, DSP_A) * pieces(b, DSP_B), pieces(b, DSP_A) * pieces(a, DSP_B))


def mul_luts(a: int, b: int) -> int:
    """LUTs of a signed ``a``-bit by ``b``-bit multiplier in fabric: the fit to Yosys
    ``synth_xilinx -family xcup -nodsp`` counts (``perf/fabric_mul.py``,
    docs/results/fabric-mul.md; within 5.1 % of every measured point)."""
    return calibrated_mul_luts(a, b)


def operand_widths(plan) -> dict:
    """Signed datapath widths of the engine (the ``IVIT_W_*`` macros of the generated
    ``ivit_params.h``): the PE accumulator and the dyadic multipliers from range analysis
    (accumulator and ``|m|`` bounds), the Shiftmax exponential and factor from its constants,
    the other operands from the tensor types. Computed once per model (the dict is shared by
    ``with_engine``)."""
    if "acc" in plan.widths:
        return plan.widths
    from ..ir.ranges import analyze

    def bits(v: int) -> int:
        return int(v).bit_length() + 1

    top = {"acc": 1, "m": 1}
    for b in analyze(plan.model):
        for key, prefix in (("acc", "int32 accumulator"), ("m", "dyadic multiplier")):
            if b.quantity.startswith(prefix):
                top[key] = max(top[key], b.bound)
    types = plan.types or plan.model.tensor_types()
    need = {"res": 8, "gelu_in": 8, "ln_in": 8, "ln_diff": 14, "exp": 2, "factor": 2,
            "gelu": False}
    for ly in plan.layers:
        layer = ly.layer
        for key, v in layer.op.datapath_widths(layer, [types[n] for n in layer.inputs]).items():
            need[key] = max(need[key], v)
    w = plan.widths
    w["acc"] = min(32, bits(top["acc"]))
    w["m"] = min(64, bits(top["m"]))
    w["res"] = need["res"]
    w["gelu_in"] = min(63, need["gelu_in"])
    w["ln_in"] = min(64, need["ln_in"])
    w["ln_diff"] = min(64, need["ln_diff"])
    w["ln_norm"] = LN_NORM_BITS
    w["exp"], w["factor"] = need["exp"], need["factor"]
    w["gelu"] = need["gelu"]
    return w


def width_macros(plan) -> list[tuple[str, int]]:
    """``(macro, bits)`` of the datapath widths as ``ivit_params.h`` defines them."""
    w = operand_widths(plan)
    return [("IVIT_W_ACC", w["acc"]), ("IVIT_W_M", w["m"]), ("IVIT_W_RES", w["res"]),
            ("IVIT_W_GELU_IN", w["gelu_in"]), ("IVIT_W_LN_IN", w["ln_in"]),
            ("IVIT_W_LN_DIFF", w["ln_diff"]),
            ("IVIT_W_LN_NORM", w["ln_norm"]), ("IVIT_W_EXP", w["exp"]),
            ("IVIT_W_FACTOR", w["factor"])]


@dataclasses.dataclass(frozen=True)
class EngineSpec(Engine):
    """The engine with its weight port: ``ddr_bytes_per_cycle`` (64 = 512 bits per cycle)."""

    ddr_bytes_per_cycle: int = 64
    drain_lanes: int = 0
    attention_lanes: int = 0


def engine_of(plan) -> EngineSpec:
    """The engine a plan describes, as the cycle formulas take it."""
    return EngineSpec(plan.rows, plan.cols, plan.lanes, plan.bpc, plan.drain, plan.att_lanes)


def mac_bound_cycles(macs: int, rows: int, cols: int) -> float:
    """The ideal: every PE busy every cycle."""
    return macs / (rows * cols)


@functools.lru_cache(maxsize=4096)    # a sweep asks for the same few types again and again
def _stacked(t, images: int):
    """The tensor type of ``images`` images' rows stacked (what a token-wise unit runs over)."""
    return dataclasses.replace(t, shape=(t.shape[0] * images, *t.shape[1:]))


def step_costs(plan, engine: EngineSpec, images: int | None = None) -> dict:
    """``{layer index: (cycles, DDR weight bytes, DDR activation bytes)}`` of one batch of
    ``images`` images (default: the plan's batch) through the program, as the generated
    top runs it: token-wise units over the batch's stacked rows (weights read once),
    attention over images and heads, plain layer kernels once per image."""
    nb = int(images or plan.batch)
    types = plan.types or plan.model.tensor_types()
    cost = {ly.index: [0, 0, 0] for ly in plan.layers}
    for st in plan.steps:
        group = st.iterations or [st]
        for s in group:
            first = s.layers[0]
            layer = first.layer
            ins = [types[n] for n in layer.inputs]
            out = types[layer.name]
            if st.kernel == "attention":
                a = layer.attrs
                pv = s.layers[2].layer
                slices = slices_of(types[pv.inputs[0]].dtype)
                cost[first.index][0] += attention_cycles(ins[0].shape[0], nb * a.heads,
                                                         a.head_dim, slices, engine)
                continue
            shape = layer.op.gemm(layer, ins)
            if layer.kind == "patch_embed":
                image_bytes = ins[0].size * _width(plan.image.ctype) // 8
                load = patch_load_steps(ins[0].size, layer.attrs.patch,      # each image, once
                                        im2col_shape(plan)["word"],
                                        _width(plan.image.ctype) // 8) + DDR_LATENCY
                # one GEMM row per token: the class token comes out of the drain too
                cost[first.index][0] += nb * load + gemm_ddr(nb * (shape.m + 1), shape.n,
                                                             shape.k, engine, 1, first.pre,
                                                             first.next_k)[0]
                cost[first.index][2] += nb * image_bytes
            elif not st.engine or layer.op.per_image:
                cost[first.index][0] += nb * int(layer.op.cycles(layer, ins, out, engine))
            else:
                # a LayerNorm whose statistics the step before gathered has no sweep of its own
                kw = {"row_stats": True} if st.row_stats == "in" else {}
                cost[first.index][0] += int(layer.op.cycles(
                    layer, [_stacked(t, nb) for t in ins], _stacked(out, nb), engine, **kw))
                if st.weighted and shape is not None:
                    # the weight-panel chain: no first load when the GEMM before did it, the
                    # last panel's window stretched to the next GEMM's first load
                    m = nb * shape.m
                    cost[first.index][0] += (
                        gemm_ddr(m, shape.n, shape.k, engine, 1, first.pre, first.next_k)[0]
                        - gemm_ddr(m, shape.n, shape.k, engine)[0])
            if first.weighted and st.engine and shape is not None:
                cost[first.index][1] += gemm_ddr(shape.m, shape.n, shape.k, engine)[1]
    last = plan.layers[-1].index
    cost[last][0] += logits_cycles(nb * plan.num_classes)
    cost[last][2] += nb * plan.num_classes * 4
    return cost


def logits_cycles(num_classes: int) -> int:
    """Cycles of writing ``num_classes`` int32 logits (a batch's) back over the 32-bit
    activation port, as one burst of one logit a cycle (``ivit::copy_logits_cycles``)."""
    return num_classes + DDR_LATENCY


def resources(plan, part: str, memo: dict | None = None) -> dict:
    """DSP and on-chip memory (BRAM36 / URAM) of the engine, and whether ``part`` holds it.
    Every array starts in BRAM; while BRAM is over the part's count, the array that frees
    the most BRAM36 moves to URAM if URAM has room. ``memo``: a dict shared by calls for
    plans that differ only in the helpers' binding and the LayerNorm product (``explore``),
    which keeps the memories, row ports and pool allocations they have in common."""
    info = part_info(part)
    memo = {} if memo is None else memo
    geometry = (plan.rows, plan.cols, plan.lanes, plan.drain, plan.att_lanes, plan.batch,
                plan.bpc, plan.im2col_words, part)
    if memo.setdefault("geometry", geometry) != geometry:
        raise ValueError(f"resources: a memo of {memo['geometry']} used for {geometry}")
    if "mems" not in memo:
        memo["mems"] = memories_with_blocks(plan, info)
        memo["row_select"] = row_select_ports(plan)
    mems = memo["mems"]
    bram = in_halves(sum(m.get("bram36", 0) for m in mems))
    uram = sum(m.get("uram", 0) for m in mems)
    r, c = plan.rows, plan.cols
    dsp_array = -(-r * c // 2)
    from ..hls.lanes import allocation, ln_norm_split
    from ..hls.lower import HELPER_MODES

    epi_fabric, vec_fabric = HELPER_MODES[plan.helpers]
    split = ln_norm_split(plan)
    if ("pools", split) not in memo:
        memo["pools", split] = allocation(plan, split)
    helpers = []
    for pool in memo["pools", split]:
        a, b = pool["bits"]
        fabric = vec_fabric if pool["group"] == "vec" else epi_fabric
        helpers.append({"function": pool["function"], "roles": pool["roles"],
                        "multiplier": pool["what"], "group": pool["group"], "bits": [a, b],
                        "count": pool["count"], "sources": pool["sources"],
                        "impl": "fabric" if fabric else "dsp",
                        "dsp": 0 if fabric else mul_dsp(a, b),
                        "luts": mul_luts(a, b) if fabric else 0,
                        "mux_luts": mux_luts(pool["sources"], a + b)})
    dsp = dsp_array + DSP_ROW_UNIT + sum(h["dsp"] * h["count"] for h in helpers)
    lut_array = r * c * operand_widths(plan)["acc"]
    lutram = sum(m.get("lutram_luts", 0) for m in mems)
    lut_mux = sum(h["mux_luts"] * h["count"] for h in helpers)
    row_select = memo["row_select"]
    lut_rows = sum(p["luts"] for p in row_select)
    luts = (lut_array + lutram + lut_mux + lut_rows
            + sum(h["luts"] * h["count"] for h in helpers))
    # the ping-pong accumulators are registers: two R x C arrays of IVIT_W_ACC bits; with
    # row statistics, their ring: two ceil(R / E) * E arrays of int64 (engine.h), local to
    # the GEMM, so one per call site that gathers statistics
    ffs_acc = 2 * r * c * operand_widths(plan)["acc"]
    ffs_ring = (2 * -(-r // plan.drain) * plan.drain * 64
                * sum(st.row_stats == "out" for st in plan.steps))
    ffs = ffs_acc + ffs_ring
    out = {"dsp": dsp, "dsp_array": dsp_array, "luts": luts, "luts_array": lut_array,
           "luts_lutram": lutram, "luts_pool_mux": lut_mux, "luts_row_select": lut_rows,
           "row_select_ports": row_select, "ffs": ffs, "ffs_accumulators": ffs_acc,
           "ffs_row_sums": ffs_ring,
           "helper_multipliers": helpers, "helpers": plan.helpers,
           "datapath_widths": dict(width_macros(plan)), "bram36": bram, "uram": uram,
           "onchip_buffer_bytes": plan.buffer_bytes(), "constant_bytes": plan.constant_bytes(),
           "memories": mems, "part": part,
           "part_capacity": info}
    if info:
        out["fits"] = (dsp <= info["dsp"] and bram <= info["bram36"] and uram <= info["uram"]
                       and luts <= LUT_BUDGET * info["luts"]
                       and ffs <= LUT_BUDGET * info["ffs"])
        out["dsp_fraction"] = round(dsp / info["dsp"], 4)
        out["lut_fraction"] = round(luts / info["luts"], 4)
        out["bram_fraction"] = round(bram / info["bram36"], 4)
        out["uram_fraction"] = round(uram / info["uram"], 4) if info["uram"] else None
    return out


def estimate_plan(plan, part: str, clock_mhz: float, images: int | None = None,
                  with_resources: bool = True) -> dict:
    """Per-layer and total cycles, DDR traffic and bandwidth, MAC utilisation and resources
    of one call with ``images`` images (default: a full batch, ``plan.batch``); the
    per-image figures are the call's divided by ``images``. ``with_resources=False`` leaves
    ``resources`` and the LayerNorm product out (what a sweep prices separately)."""
    nb = int(images or plan.batch)
    engine = engine_of(plan)
    costs = step_costs(plan, engine, nb)
    types = plan.types or plan.model.tensor_types()
    fused = {ly.index: st.layers[0].layer.name
             for step in plan.steps for st in (step.iterations or [step])
             for ly in st.layers[1:]}
    layers = []
    macs_total = 0
    for ly in plan.layers:
        layer = ly.layer
        shape = layer.op.gemm(layer, [types[s] for s in layer.inputs])
        macs = nb * shape.macs if shape else 0
        macs_total += macs
        cyc, wbytes, abytes = costs[ly.index]
        entry = {"name": layer.name, "kind": layer.kind, "cycles": cyc, "macs": macs,
                 "ddr_weight_bytes": wbytes, "ddr_activation_bytes": abytes}
        if ly.index in fused:
            entry["fused_into"] = fused[ly.index]
        layers.append(entry)
    total = sum(x["cycles"] for x in layers)
    wbytes = sum(x["ddr_weight_bytes"] for x in layers)
    abytes = sum(x["ddr_activation_bytes"] for x in layers)
    ideal = mac_bound_cycles(macs_total, plan.rows, plan.cols)
    seconds = total / (clock_mhz * 1e6)
    info = part_info(part)
    need = (wbytes + abytes) / seconds / 1e9 if seconds else 0.0
    from ..hls.lanes import ln_norm_split

    out = {
        "model": ("engine program: GEMM array (panels from DDR, double-buffered), fused "
                  "epilogues and attention, vector lanes, shared row unit; cycles as the "
                  "cycle-accounting C-simulation counts them"),
        "array": {"rows": plan.rows, "cols": plan.cols, "vector_lanes": plan.lanes,
                  "epilogue_lanes": plan.drain, "attention_lanes": plan.att_lanes,
                  "layernorm_product": (("split" if ln_norm_split(plan) else "whole")
                                        if with_resources else None),
                  "im2col_word": (im2col_shape(plan) or {}).get("word")},
        "clock_mhz": clock_mhz,
        "ddr": {"port_bytes_per_cycle": plan.bpc,
                "port_gbps": round(plan.bpc * clock_mhz / 1e3, 3),
                "available_gbps": info["ddr_gbps"] if info else None,
                "weight_bytes_per_batch": wbytes, "activation_bytes_per_batch": abytes,
                "weight_bytes_per_image": _per(wbytes, nb),
                "activation_bytes_per_image": _per(abytes, nb),
                "weight_blob_bytes": plan.blob_bytes(),
                "weight_matrix_bytes": plan.plain_weight_bytes(),
                "needed_gbps": round(need, 3)},
        "program": {"prologue_steps": len(plan.prologue), "block_steps": len(plan.body),
                    "block_iterations": plan.iterations, "epilogue_steps": len(plan.epilogue)},
        "batch": {"images": nb, "max_batch": plan.batch,
                  "cycles_per_image": _per(total, nb),
                  "ms_per_image": round(total / nb / (clock_mhz * 1e3), 4)},
        "layers": layers,
        "total_cycles": total,
        "total_macs": macs_total,
        "mac_bound_cycles": round(ideal, 1),
        "ratio_to_mac_bound": round(total / ideal, 4) if ideal else None,
        "mac_utilisation": round(ideal / total, 4) if total else None,
        "latency_ms": round(total / (clock_mhz * 1e3), 4),
    }
    if with_resources:
        out["resources"] = resources(plan, part)
    return out


def _per(total: int, images: int):
    """``total`` per image: an int when it divides evenly."""
    return total // images if total % images == 0 else round(total / images, 1)


def estimate(model, engine: Engine, part: str, clock_mhz: float, **_ignored) -> dict:
    """The estimate of ``model`` on an ``engine`` (lowers the model first)."""
    from ..hls.lower import lower

    plan = lower(model, engine.rows, engine.cols, engine.lanes,
                 bytes_per_cycle(part, clock_mhz))
    return estimate_plan(plan, part, clock_mhz)


def layer_cycles(model, engine: Engine) -> list[dict]:
    """``{name, kind, unit, cycles, macs}`` of every layer run on its own (no fusion)."""
    types = model.tensor_types()
    out = []
    for layer in model.layers:
        ins = [types[s] for s in layer.inputs]
        shape = layer.op.gemm(layer, ins)
        out.append({"name": layer.name, "kind": layer.kind, "unit": layer.op.unit,
                    "cycles": int(layer.op.cycles(layer, ins, types[layer.name], engine)),
                    "macs": shape.macs if shape else 0})
    return out
