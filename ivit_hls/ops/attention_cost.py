"""Cycle model of the fused attention unit (``ivit::layer::attention``, units_attention.h):
the same loops, trip count by trip count, that the cycle-accounting C-simulation counts."""

from __future__ import annotations

import functools

from .base import Engine
from .common import EPI_DEPTH, GEMM_DEPTH, ROW_DIV_DEPTH, VEC_DEPTH

#: Pipeline depth of loop A (q.k^T on the array | normalize pass): the array's MAC + drain.
#: Loop B (P.v | exp pass + row divisions + v copy): the row divider is its longest path.
DEPTH_A = max(GEMM_DEPTH + EPI_DEPTH, VEC_DEPTH)
DEPTH_B = max(GEMM_DEPTH + EPI_DEPTH, ROW_DIV_DEPTH, VEC_DEPTH)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def attention_lanes(engine: Engine) -> int:
    """The unit's lanes (``LA``): rows of one column its drain takes per cycle, and Shiftmax
    lanes (default: the vector lanes; at most the rows)."""
    return min(int(getattr(engine, "attention_lanes", 0) or engine.lanes), engine.rows)


def shiftmax_lanes(engine: Engine, tokens: int) -> int:
    """The unit's Shiftmax lanes (``LS``): LA rows of one column per step, never more than
    the T columns (a group's row divisions end before the next group's begin)."""
    return min(attention_lanes(engine), tokens)


def copy_v_lanes(rows: int, head_dim: int) -> int:
    """Lanes of the copy of a head's v into the unit's local array (``X``, layers_common.h
    ``copy_v_lanes``): the largest divisor of R that is at most HD, so that a lane's tokens
    sit in R / X row banks of the qkv buffer."""
    return max(x for x in range(1, min(rows, head_dim) + 1) if rows % x == 0)


def copy_v_steps(tokens: int, head_dim: int, lanes: int) -> int:
    """Steps of that copy: ceil(T / X) blocks of X tokens, HD steps each (lane c copies token
    q X + c, column (c + s) mod HD in step s)."""
    return _cdiv(tokens, lanes) * head_dim


def attention_loops(tokens: int, heads: int, head_dim: int, slices: int,
                    engine: Engine) -> list[tuple[int, int]]:
    """Trip counts (loop A, loop B) of the unit's two merged pipelined loops, strip by strip
    (``heads`` = images x heads of the call; the strips of one head: R rows each, the last
    one the rest). Strip n's loop A runs q.k^T of strip n+1 (``tiles * max(HD, D) + D``
    steps: MAC steps of tile t beside drain steps of tile t-1, D = C * ceil(R/LA)) beside
    strip n's normalize pass (``ceil(rows/LS) * T``: LS rows of one column per cycle); loop B
    runs P.v of strip n (``ceil(HD/C) * max(T * slices, D) + D``) beside the exp pass of
    strip n+1 (``G = ceil(rows/LS)`` groups of T steps), its row divisions (group g's LS rows
    one per cycle from ``(g+1) T + VEC_DEPTH``) and the copy of its head's v."""
    r, c = engine.rows, engine.cols
    ls = shiftmax_lanes(engine, tokens)
    d = c * _cdiv(r, attention_lanes(engine))
    qk = _cdiv(tokens, c) * max(head_dim, d) + d
    pv = _cdiv(head_dim, c) * max(tokens * slices, d) + d
    copy = copy_v_steps(tokens, head_dim, copy_v_lanes(r, head_dim))
    rows = [min(r, tokens - i0) for _ in range(heads) for i0 in range(0, tokens, r)]

    def exp_pass(n: int) -> int:
        return _cdiv(n, ls) * tokens

    def divisions_end(n: int) -> int:
        groups = _cdiv(n, ls)
        return groups * tokens + VEC_DEPTH + n - (groups - 1) * ls

    loops = []
    for i in range(-1, len(rows)):
        cur = rows[i] if i >= 0 else 0
        nxt = rows[i + 1] if i + 1 < len(rows) else 0
        a = max(qk if nxt else 0, exp_pass(cur))
        b = max(pv if cur else 0, max(divisions_end(nxt), copy) if nxt else 0)
        loops.append((a, b))
    return loops


@functools.lru_cache(maxsize=4096)
def attention_cycles(tokens: int, heads: int, head_dim: int, slices: int,
                     engine: Engine) -> int:
    """The fused attention unit (``ivit::layer::attention``): two merged pipelined loops per
    strip (and one pair before the first), each its larger trip count plus its depth."""
    return sum(a + DEPTH_A + b + DEPTH_B
               for a, b in attention_loops(tokens, heads, head_dim, slices, engine))


def attention_memories(tokens: int, head_dim: int, score_bits: int, prob_bits: int,
                       exp_bits: int, factor_bits: int, engine: Engine,
                       v_bits: int = 8) -> list[dict]:
    """The unit's own arrays (units_attention.h) as banks x depth x width bits, from their
    partition pragmas: ``F = max(LS, LA)`` row banks where the drain writes LA rows and the
    lanes read LS rows per cycle, LS row banks where only the lanes touch them, every row its
    own bank in the probabilities strip (P.v reads all R rows of one column per step), and
    the two halves of the local v, every column a bank."""
    r = engine.rows
    ls = shiftmax_lanes(engine, tokens)
    fr = min(max(ls, attention_lanes(engine)), r)
    x = copy_v_lanes(r, head_dim)
    return [
        {"name": "scores_strip", "banks": fr, "depth": _cdiv(r, fr) * tokens,
         "width": score_bits},
        {"name": "row_max", "banks": fr, "depth": _cdiv(r, fr), "width": score_bits},
        {"name": "exp_strip", "banks": ls, "depth": _cdiv(r, ls) * tokens, "width": exp_bits},
        {"name": "row_sum", "banks": ls, "depth": _cdiv(r, ls), "width": 64},
        {"name": "row_factor", "banks": ls, "depth": _cdiv(r, ls), "width": factor_bits},
        {"name": "probs_strip", "banks": r, "depth": tokens, "width": prob_bits},
        {"name": "v_local", "banks": 2 * head_dim, "depth": tokens, "width": v_bits},
    ]
