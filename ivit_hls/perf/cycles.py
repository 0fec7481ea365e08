"""Cycle and resource model of the generated engine.

GEMM: an output-stationary R x C array computes one R x C output tile in ``K`` cycles of
streaming plus ``R + C`` cycles of pipeline fill (operand skew); the drain of a finished tile
overlaps the next tile (double-buffered accumulators), so a layer costs
``repeats * ceil(M/R) * ceil(N/C) * (K + R + C)`` cycles.
Vector unit (Shiftmax, ShiftGELU, I-LayerNorm, residual add): ``lanes`` elements per cycle
per pass over the data (Shiftmax and I-LayerNorm take three passes, the others one).
Layers run one after another; the MAC-bound ideal is ``MACs / (R*C)``.
"""

from __future__ import annotations

import math

from .parts import part_info

#: Passes over the data of each vector-unit layer kind.
VECTOR_PASSES = {"shiftmax": 3, "layernorm": 3, "gelu": 1, "residual_add": 1}
#: Bytes of one BRAM36 block.
BRAM36_BYTES = 4608
#: DSP48E2 slices per 32x32-bit requant multiplier (one per array column).
DSP_PER_REQUANT = 4


def gemm_cycles(m: int, n: int, k: int, rows: int, cols: int, repeats: int = 1) -> int:
    """Cycles of an (M x K) * (K x N) product on a rows x cols array (see module doc)."""
    return repeats * math.ceil(m / rows) * math.ceil(n / cols) * (k + rows + cols)


def mac_bound_cycles(macs: int, rows: int, cols: int) -> float:
    """The ideal: every PE busy every cycle."""
    return macs / (rows * cols)


def estimate(plan, rows: int, cols: int, part: str, clock_mhz: float,
             lanes: int | None = None) -> dict:
    """Per-layer and total cycles, MAC utilisation and DSP/BRAM estimates of ``plan``."""
    from ..hls.lower import gemm_shapes

    lanes = lanes or cols
    layers = []
    gemms = {name: (m, n, k, rep) for name, _kind, m, n, k, rep in gemm_shapes(plan)}
    total = macs_total = 0
    for op in plan.ops:
        kind = op.layer.kind
        if op.layer.name in gemms:
            m, n, k, rep = gemms[op.layer.name]
            cyc = gemm_cycles(m, n, k, rows, cols, rep)
            macs = m * n * k * rep
            unit = "array"
        else:
            cyc = VECTOR_PASSES.get(kind, 1) * math.ceil(op.out.size / lanes)
            macs = 0
            unit = "vector"
        total += cyc
        macs_total += macs
        layers.append({"name": op.layer.name, "kind": kind, "unit": unit, "cycles": cyc,
                       "macs": macs})
    ideal = mac_bound_cycles(macs_total, rows, cols)
    buffer_bytes = sum(size * _bytes(ctype) for _n, ctype, size in plan.buffers)
    const_bytes = sum(arr.size * _bytes(ctype) for _n, ctype, arr in plan.arrays)
    dsp = math.ceil(rows * cols / 2) + cols * DSP_PER_REQUANT
    bram = math.ceil(buffer_bytes / BRAM36_BYTES) + math.ceil(const_bytes / BRAM36_BYTES)
    info = part_info(part)
    resources = {"dsp": dsp, "bram36": bram, "onchip_buffer_bytes": buffer_bytes,
                 "constant_bytes": const_bytes, "weights_bytes_offchip": len(plan.weights),
                 "part": part, "part_capacity": info}
    if info:
        resources["dsp_fraction"] = round(dsp / info["dsp"], 4)
        resources["bram_fraction"] = round(bram / (info["bram36"] + 8 * info["uram"]), 4)
        resources["fits"] = dsp <= info["dsp"] and bram <= info["bram36"] + 8 * info["uram"]
    return {
        "model": "output-stationary array, drain overlapped; vector unit lanes = columns",
        "array": {"rows": rows, "cols": cols, "vector_lanes": lanes},
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


def _bytes(ctype: str) -> int:
    return {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4,
            "uint32_t": 4, "int64_t": 8}[ctype]
