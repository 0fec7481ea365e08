"""The per-layer constant tables the engine's lanes read several of per cycle, and their banks.

Every drain writes E rows of one column per cycle, and every vector unit steps L rows of one
column, so a per-channel table (bias, m, e, m_a, e_a, LayerNorm's) is one scalar read a cycle
and needs no banks. The one table read at several entries per cycle is the patch embedding's
position table: a drain step adds pos[p][j] for E consecutive patches p of one channel j. It
is stored transposed (channel-major), so those are E consecutive entries, and split
cyclically into E banks. The iteration dimension stays an address. The generated
``ivit_params.h`` turns this list into ARRAY_PARTITION pragmas (``IVIT_TABLE_PARTITIONS``), and
the resource model prices the same banks.
"""

from __future__ import annotations

import numpy as np

from .kernels import kernel

def table_banks(plan) -> list[dict]:
    """``{slot, name, ctype, iterations, size, factor}`` of every banked table (``factor``:
    banks on the flattened table; ``factor >= size`` means one bank per entry)."""
    out = []
    for st in plan.steps:
        for slot in st.slots:
            if not slot.engine:
                continue
            for ctype, name, values in slot.first.arrays:
                if name not in kernel(st.kernel).lane_tables:
                    continue
                if plan.drain > 1:
                    out.append({"slot": slot.cname, "name": name, "ctype": ctype,
                                "iterations": slot.n, "size": int(np.asarray(values).size),
                                "factor": int(plan.drain)})
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
