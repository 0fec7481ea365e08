"""Analytic cycle model of the RTL units (free-running streams, no stalls).

Each formula follows the unit's structure (pipeline latencies, FSM phases, divider steps);
the cocotb tests compare it with the cycles the simulation measures.
"""

from __future__ import annotations

#: Pipeline latencies of the II=1 stream units.
REQUANT_LATENCY = 3
RESIDUAL_LATENCY = 3


def shiftexp_latency(qb: int = 5) -> int:
    """ShiftExp: clamp stage, ``qb`` quotient stages, line selection, mantissa, shift stage."""
    return qb + 3


def shiftgelu_latency(qb: int = 5) -> int:
    """ShiftGELU: z stage, ShiftExp, sigmoid operands, 16 divider stages, product."""
    return 1 + shiftexp_latency(qb) + 1 + 16 + 1


IBERT_EXP_LATENCY = 9
IBERT_GELU_LATENCY = 4
#: ShiftGELU "shift" form: |x|·R, y, y², h, mantissa, sigma, x·sigma.
GELU_SHIFT_LATENCY = 7
#: GELU "table" form: index register, table read.
GELU_TABLE_LATENCY = 2


def stream_cycles(beats: int, latency: int) -> int:
    """An II=1 pipeline: first beat in to last beat out."""
    return beats + latency


def _beats(length: int, lanes: int) -> int:
    return -(-length // lanes)


def shiftmax_row_cycles(length: int, lanes: int, qb: int = 5) -> int:
    """One Shiftmax row: load, exp pass (read + subtract + ShiftExp), 32-step division, output."""
    return 3 * _beats(length, lanes) + qb + 41


def ilayernorm_row_cycles(length: int, lanes: int, in_w: int = 16) -> int:
    """One I-LayerNorm row: load, mean division (in_w + 5 steps: 4 fractional bits), variance pass, 6 Newton
    divisions of 32 steps, the 47-step reciprocal, output."""
    return 3 * _beats(length, lanes) + (in_w + 5) + 6 * 32 + 47 + 20


def systolic_cycles(ks: list[int], rows: int, cols: int) -> int:
    """Tiles of the output-stationary array with K steps each, back to back.

    A tile's last step may enter R + C cycles after the previous one (one tile in its result
    phase at a time); the last tile then needs the skew (R + C - 1), R drain beats and the
    requant latency.
    """
    if not ks:
        return 0
    steps = ks[0] + sum(max(k, rows + cols) for k in ks[1:])
    return steps + (rows + cols - 1) + rows + REQUANT_LATENCY
