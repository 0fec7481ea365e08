"""Cycle model of the fused attention unit (``ivit::layer::attention``, units_attention.h):
the same loops, trip count by trip count, that the cycle-accounting C-simulation counts."""

from __future__ import annotations

from .base import Engine
from .common import EPI_DEPTH, GEMM_DEPTH, ROW_DIV_DEPTH, VEC_DEPTH, drain_lanes

#: Pipeline depth of loop A (q.k^T on the array | normalize pass): the array's MAC + drain.
#: Loop B (P.v | exp pass + row divisions): the row divider is its longest path.
DEPTH_A = max(GEMM_DEPTH + EPI_DEPTH, VEC_DEPTH)
DEPTH_B = max(GEMM_DEPTH + EPI_DEPTH, ROW_DIV_DEPTH, VEC_DEPTH)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def attention_drain_rows(rows: int, cols: int, lanes: int, head_dim: int) -> int:
    """Rows the attention unit drains per cycle (``DR`` in units_attention.h), each in
    ceil(C / E) chunks of its E epilogue lanes: enough that an R-row q.k^T tile (K = the head
    dimension) drains within its own array steps."""
    return min(rows, _cdiv(rows * _cdiv(cols, lanes), head_dim))


def attention_loops(tokens: int, heads: int, head_dim: int, slices: int,
                    engine: Engine) -> list[tuple[int, int]]:
    """Trip counts (loop A, loop B) of the unit's two merged pipelined loops, strip by strip
    (``heads`` = images x heads of the call; the strips of one head: R rows each, the last
    one the rest). Strip n's loop A runs q.k^T of strip n+1 (``tiles * max(HD, D) + D``
    steps: MAC steps of tile t beside drain steps of tile t-1, D = ceil(R/DR) * ceil(C/E))
    beside strip n's normalize pass (``ceil(rows/L) * T``: L rows of one column per cycle);
    loop B runs P.v of strip n (``ceil(HD/C) * max(T * slices, D) + D``) beside the exp pass
    of strip n+1 (``ceil(rows/L) * T``) and, VEC_DEPTH cycles after it, its ``rows`` row
    divisions (one per cycle)."""
    r, c, lanes = engine.rows, engine.cols, engine.lanes
    e = drain_lanes(engine)
    d = _cdiv(r, attention_drain_rows(r, c, e, head_dim)) * _cdiv(c, e)
    qk = _cdiv(tokens, c) * max(head_dim, d) + d
    pv = _cdiv(head_dim, c) * max(tokens * slices, d) + d
    rows = [min(r, tokens - i0) for _ in range(heads) for i0 in range(0, tokens, r)]

    def exp_pass(n: int) -> int:
        return _cdiv(n, lanes) * tokens

    loops = []
    for i in range(-1, len(rows)):
        cur = rows[i] if i >= 0 else 0
        nxt = rows[i + 1] if i + 1 < len(rows) else 0
        a = max(qk if nxt else 0, exp_pass(cur))
        b = max(pv if cur else 0, exp_pass(nxt) + VEC_DEPTH + nxt if nxt else 0)
        loops.append((a, b))
    return loops


def attention_cycles(tokens: int, heads: int, head_dim: int, slices: int,
                     engine: Engine) -> int:
    """The fused attention unit (``ivit::layer::attention``): two merged pipelined loops per
    strip (and one pair before the first), each its larger trip count plus its depth."""
    return sum(a + DEPTH_A + b + DEPTH_B
               for a, b in attention_loops(tokens, heads, head_dim, slices, engine))


def attention_memories(tokens: int, head_dim: int, score_bits: int, prob_bits: int,
                       exp_bits: int, factor_bits: int, engine: Engine) -> list[dict]:
    """The unit's own arrays (units_attention.h) as banks x depth x width bits, from their
    partition pragmas: ``F = max(L, DR)`` row banks where the drain writes DR rows and the
    lanes read L rows per cycle, L row banks where only the lanes touch them, every row its
    own bank in the probabilities strip (P.v reads all R rows of one column per step)."""
    r, c, lanes = engine.rows, engine.cols, engine.lanes
    e = drain_lanes(engine)
    dr = attention_drain_rows(r, c, e, head_dim)
    f = max(lanes, dr)
    fr, lr = min(f, r), min(lanes, r)
    return [
        {"name": "scores_strip", "banks": fr * min(e, tokens),
         "depth": _cdiv(r, fr) * _cdiv(tokens, e), "width": score_bits},
        {"name": "row_max", "banks": fr, "depth": _cdiv(r, fr), "width": score_bits},
        {"name": "exp_strip", "banks": lr, "depth": _cdiv(r, lr) * tokens, "width": exp_bits},
        {"name": "row_sum", "banks": lr, "depth": _cdiv(r, lr), "width": 64},
        {"name": "row_factor", "banks": lr, "depth": _cdiv(r, lr), "width": factor_bits},
        {"name": "probs_strip", "banks": r, "depth": tokens, "width": prob_bits},
    ]
