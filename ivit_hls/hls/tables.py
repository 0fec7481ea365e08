"""The per-layer constant tables the engine's lanes read several of per cycle, and their banks.

A unit that reads E channels of a table per cycle needs it split cyclically on the channel
dimension into E banks (lane c reads bank c): the epilogue lanes for the tables a GEMM drain
reads (m, e, m_a, e_a, pos), the array's columns for a GEMM's bias (every column's accumulator
starts at its bias on a tile's first step), the vector lanes for the tables of LayerNorm and
the other vector units. The iteration dimension stays an address. The generated
``ivit_params.h`` turns this list into ARRAY_PARTITION pragmas (``IVIT_TABLE_PARTITIONS``), and
the resource model prices the same banks.
"""

from __future__ import annotations

import numpy as np

#: Tables read per lane.
LANE_TABLES = ("bias", "m", "e", "m_a", "e_a", "pos")
#: Kernels whose tables the vector lanes read.
VECTOR_KERNELS = frozenset({"layernorm", "residual_add", "shiftmax", "gelu"})


def table_banks(plan) -> list[dict]:
    """``{slot, name, ctype, iterations, size, factor}`` of every banked table (``factor``:
    banks on the channel dimension; ``factor >= size`` means one bank per channel)."""
    out = []
    for st in plan.steps:
        vector = st.kernel in VECTOR_KERNELS
        for slot in st.slots:
            if not slot.engine:
                continue
            for ctype, name, values in slot.first.arrays:
                if name not in LANE_TABLES:
                    continue
                factor = plan.lanes if vector else (plan.cols if name == "bias" else plan.drain)
                if factor > 1:
                    out.append({"slot": slot.cname, "name": name, "ctype": ctype,
                                "iterations": slot.n, "size": int(np.asarray(values).size),
                                "factor": int(factor)})
    return out


def pragma_lines(plan) -> list[str]:
    """The ARRAY_PARTITION pragma of every banked table."""
    lines = []
    for t in table_banks(plan):
        if t["factor"] >= t["size"]:
            lines.append(f"HLS ARRAY_PARTITION variable={t['slot']}::{t['name']} complete dim=2")
        else:
            lines.append(f"HLS ARRAY_PARTITION variable={t['slot']}::{t['name']} cyclic "
                         f"factor={t['factor']} dim=2")
    return lines
