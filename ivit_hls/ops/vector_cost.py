"""Cycle model of the vector units and the row unit (``hw/hls/ivit/units_vector.h``): the same
loops, trip count by trip count, that the cycle-accounting C-simulation counts
(``ivit::layer::layernorm_cycles`` and its neighbours).

Every activation buffer is split into R row banks of one element per word, so a vector unit
steps ``lanes`` consecutive rows of one column per cycle: a group loop runs ``ceil(rows /
lanes)`` groups of ``length`` steps plus the vector pipeline's depth; the row unit handles one
row per cycle (``rows`` iterations plus its depth), with its one divider (``ivit::row_div``)
used once per row.
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


def group_loop_cycles(rows: int, length: int, lanes: int) -> int:
    """One flat pipelined loop over ``rows`` rows of ``length`` columns, ``lanes`` rows of one
    column per cycle."""
    return ceil_div(rows, lanes) * length + VEC_DEPTH


#: The row unit's first step in a LayerNorm window (the group before's last statistics are
#: written VEC_DEPTH cycles after its window ends).
LN_ROW_AT = VEC_DEPTH


def ln_window(cols: int, lanes: int) -> int:
    """Steps of a LayerNorm window: a group's ``cols``-step sweep, or long enough that the row
    unit's ``lanes`` rows (from LN_ROW_AT on) clear its pipeline and the vector pipeline."""
    return max(cols, LN_ROW_AT + lanes + LN_ROW_DEPTH + VEC_DEPTH)


def ln_first_window(lanes: int) -> int:
    """The first window of a LayerNorm whose statistics its producer gathered: only the row
    unit for group 0, long enough for its rows to clear the row unit and the vector pipeline."""
    return LN_ROW_AT + lanes + LN_ROW_DEPTH + VEC_DEPTH


def layernorm_cycles(rows: int, cols: int, lanes: int, merged: bool = True,
                     stats: bool = False) -> int:
    """I-LayerNorm. ``merged`` (every token): one loop of G + 2 windows over groups of
    ``lanes`` rows (window w: statistics of group w, the row unit for group w - 1, normalize
    of group w - 2; the last window stops after its sweep); its deepest path a statistics
    step and the row unit. ``stats``: the producer's drain gathered each row's sums, so a
    short first window (the row unit for group 0), G - 1 windows (row unit for group w,
    normalize of group w - 1) and the last sweep. Otherwise (the class tokens only, each in
    one row bank): statistics (none with ``stats``) and normalize one element per cycle, the
    row unit between them."""
    sweep = rows * cols + VEC_DEPTH
    if merged and stats:
        return (ln_first_window(lanes) + (ceil_div(rows, lanes) - 1) * ln_window(cols, lanes)
                + cols + VEC_DEPTH + LN_ROW_DEPTH)
    if merged:
        return ((ceil_div(rows, lanes) + 1) * ln_window(cols, lanes) + cols + VEC_DEPTH
                + LN_ROW_DEPTH)
    return (1 if stats else 2) * sweep + rows + LN_ROW_DEPTH


def shiftmax_cycles(rows: int, length: int, lanes: int) -> int:
    """Shiftmax not fused: row maxima, exponentials and sums, the divisions (one row per
    cycle), exponentials again and normalize."""
    return 3 * group_loop_cycles(rows, length, lanes) + rows + ROW_DIV_DEPTH


def gelu_cycles(rows: int, cols: int, lanes: int, rowmax: bool = False) -> int:
    """GELU not fused: the element-wise forms ``lanes`` rows of one column per cycle; the paper's row-max form
    one element per cycle in two loops per row, the second with a divider in its pipeline."""
    if rowmax:
        return rows * (2 * (cols + VEC_DEPTH) + ROW_DIV_DEPTH)
    return group_loop_cycles(rows, cols, lanes)


def residual_cycles(rows: int, cols: int, lanes: int) -> int:
    """Residual add not fused: ``lanes`` rows of one column per cycle."""
    return group_loop_cycles(rows, cols, lanes)
