"""Cycle model of the vector units and the row unit (``hw/hls/ivit/units_vector.h``): the same
loops, trip count by trip count, that the cycle-accounting C-simulation counts
(``ivit::layer::layernorm_cycles`` and its neighbours).

Every unit is a few flat pipelined loops over all rows of the batch: a chunk loop handles
``lanes`` elements of one row per cycle (``rows * ceil(len / lanes)`` iterations plus the
vector pipeline's depth); the row unit handles one row per cycle (``rows`` iterations plus
its depth), with its one divider (``ivit::row_div``) used once per row.
"""

from __future__ import annotations

from .base import ceil_div
from .common import ROW_DIV_DEPTH, VEC_DEPTH

#: The row unit's multipliers (the mean by a constant reciprocal, the variance product) and
#: the square root of the variance sum (< 2^62), one root digit per cycle (layernorm.h).
ROW_MUL_DEPTH = 4
LN_ISQRT_DEPTH = 31
#: The row unit's LayerNorm pipeline: mean, variance product, square root, 2^46 // sd.
LN_ROW_DEPTH = 2 * ROW_MUL_DEPTH + LN_ISQRT_DEPTH + ROW_DIV_DEPTH


def chunk_loop_cycles(rows: int, length: int, lanes: int) -> int:
    """One flat pipelined loop over ``rows`` rows of ``length`` elements, ``lanes`` per cycle."""
    return rows * ceil_div(length, lanes) + VEC_DEPTH


def ln_lag(chunks: int) -> int:
    """Rows between the statistics and the normalize of the merged LayerNorm loop: a row's
    mean and reciprocal (written ``VEC_DEPTH + LN_ROW_DEPTH`` cycles into its last statistics
    iteration) are read ``(lag - 1) * chunks + 1`` iterations later, with a vector pipeline's
    margin."""
    return ceil_div(2 * VEC_DEPTH + LN_ROW_DEPTH, chunks) + 1


def layernorm_cycles(rows: int, cols: int, lanes: int, merged: bool = True) -> int:
    """I-LayerNorm. ``merged`` (every token): one loop of ``(rows + lag) * chunks`` iterations,
    each a statistics chunk of row t (and at its last chunk the row unit for row t) and a
    normalize chunk of row t - lag; its deepest path a statistics chunk and the row unit.
    Otherwise (the class token only): statistics (L lanes), the row unit (one row per cycle),
    normalize (L lanes), one loop after the other."""
    chunks = ceil_div(cols, lanes)
    if merged:
        return (rows + ln_lag(chunks)) * chunks + VEC_DEPTH + LN_ROW_DEPTH
    return 2 * chunk_loop_cycles(rows, cols, lanes) + rows + LN_ROW_DEPTH


def shiftmax_cycles(rows: int, length: int, lanes: int) -> int:
    """Shiftmax not fused: row maxima, exponentials and sums, the divisions (one row per
    cycle), exponentials again and normalize."""
    return 3 * chunk_loop_cycles(rows, length, lanes) + rows + ROW_DIV_DEPTH


def gelu_cycles(rows: int, cols: int, lanes: int, rowmax: bool = False) -> int:
    """GELU not fused: the element-wise forms ``lanes`` per cycle; the paper's row-max form
    one element per cycle in two loops per row, the second with a divider in its pipeline."""
    if rowmax:
        return rows * (2 * (cols + VEC_DEPTH) + ROW_DIV_DEPTH)
    return chunk_loop_cycles(rows, cols, lanes)


def residual_cycles(rows: int, cols: int, lanes: int) -> int:
    """Residual add not fused: ``lanes`` elements per cycle."""
    return chunk_loop_cycles(rows, cols, lanes)
