"""Cycle and resource model of the engine, per layer from the op table.

Each layer's cost is its op's ``cycles`` hook over the engine (an R x C GEMM array and a
vector unit of ``lanes`` elements per cycle; the unit formulas are in ``ivit_hls.ops.common``).
Layers run one after another; the MAC-bound ideal is ``MACs / (R*C)``. On-chip memory figures
are passed in by the generator that allocated the buffers.
"""

from __future__ import annotations

import math

from ..ops.base import Engine
from ..ops.common import gemm_cycles  # noqa: F401  (re-exported: the array's unit model)
from .parts import part_info

#: Bytes of one BRAM36 block.
BRAM36_BYTES = 4608
#: DSP48E2 slices per 32x32-bit requant multiplier (one per array column).
DSP_PER_REQUANT = 4


def mac_bound_cycles(macs: int, rows: int, cols: int) -> float:
    """The ideal: every PE busy every cycle."""
    return macs / (rows * cols)


def layer_cycles(model, engine: Engine) -> list[dict]:
    """``{name, kind, unit, cycles, macs}`` of every layer, from the op table."""
    types = model.tensor_types()
    out = []
    for layer in model.layers:
        ins = [types[s] for s in layer.inputs]
        shape = layer.op.gemm(layer, ins)
        out.append({"name": layer.name, "kind": layer.kind, "unit": layer.op.unit,
                    "cycles": int(layer.op.cycles(layer, ins, types[layer.name], engine)),
                    "macs": shape.macs if shape else 0})
    return out


def estimate(model, engine: Engine, part: str, clock_mhz: float, buffer_bytes: int = 0,
             constant_bytes: int = 0, weight_bytes: int = 0) -> dict:
    """Per-layer and total cycles, MAC utilisation and DSP/BRAM estimates of ``model``."""
    layers = layer_cycles(model, engine)
    total = sum(ly["cycles"] for ly in layers)
    macs_total = sum(ly["macs"] for ly in layers)
    rows, cols = engine.rows, engine.cols
    ideal = mac_bound_cycles(macs_total, rows, cols)
    dsp = math.ceil(rows * cols / 2) + cols * DSP_PER_REQUANT
    bram = math.ceil(buffer_bytes / BRAM36_BYTES) + math.ceil(constant_bytes / BRAM36_BYTES)
    info = part_info(part)
    resources = {"dsp": dsp, "bram36": bram, "onchip_buffer_bytes": buffer_bytes,
                 "constant_bytes": constant_bytes, "weights_bytes_offchip": weight_bytes,
                 "part": part, "part_capacity": info}
    if info:
        resources["dsp_fraction"] = round(dsp / info["dsp"], 4)
        resources["bram_fraction"] = round(bram / (info["bram36"] + 8 * info["uram"]), 4)
        resources["fits"] = dsp <= info["dsp"] and bram <= info["bram36"] + 8 * info["uram"]
    return {
        "model": "output-stationary array, drain overlapped; vector unit lanes = columns",
        "array": {"rows": rows, "cols": cols, "vector_lanes": engine.lanes},
        "clock_mhz": clock_mhz,
        "layers": layers,
        "total_cycles": total,
        "total_macs": macs_total,
        "mac_bound_cycles": round(ideal, 1),
        "ratio_to_mac_bound": round(total / ideal, 4) if ideal else None,
        "mac_utilisation": round(ideal / total, 4) if total else None,
        "latency_ms": round(total / (clock_mhz * 1e3), 4),
        "resources": resources,
    }
