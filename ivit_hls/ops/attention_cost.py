"""Cycle model of the fused attention unit (``ivit::layer::attention``, units_attention.h):
the same loops, trip count by trip count, that the cycle-accounting C-simulation counts."""

from __future__ import annotations

from .base import Engine
from .common import ROW_LATENCY, VEC_DEPTH, drain_lanes, strip_cycles


def attention_drain_rows(rows: int, cols: int, lanes: int, head_dim: int) -> int:
    """Rows the attention unit drains per cycle (``DR`` in ``layers.h``), each in
    ceil(C / E) chunks of its E epilogue lanes: enough that an R-row q.k^T tile (K = the head
    dimension) drains within its own array steps."""
    return min(rows, -(-rows * -(-cols // lanes) // head_dim))


def attention_cycles(tokens: int, heads: int, head_dim: int, slices: int,
                     engine: Engine) -> int:
    """The fused attention unit (``ivit::layer::attention``): per head and R-row strip, q.k^T
    and P.v on the array, each tile drained ``DR`` rows x E lanes per cycle under the next
    tile, overlapped with the strip's Shiftmax on the vector unit (two passes; the max comes
    from the drain)."""
    r, c, lanes = engine.rows, engine.cols, engine.lanes
    e = drain_lanes(engine)
    d = -(-r // attention_drain_rows(r, c, e, head_dim)) * -(-c // e)
    array = (strip_cycles(-(-tokens // c), head_dim, 1, d)
             + strip_cycles(-(-head_dim // c), tokens, slices, d))
    total = ROW_LATENCY + VEC_DEPTH
    first = True
    for _h in range(heads):
        for i0 in range(0, tokens, r):
            vec = min(r, tokens - i0) * 2 * -(-tokens // lanes)
            total += (vec if first else 0) + max(array, vec)
            first = False
    return total
