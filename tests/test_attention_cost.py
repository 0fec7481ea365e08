"""The fused attention unit's model (ivit_hls/ops/attention_cost.py) by hand."""

from __future__ import annotations

from ivit_hls.ops.attention_cost import DEPTH_A, DEPTH_B, attention_loops, attention_memories
from ivit_hls.perf.cycles import EngineSpec


def test_deit_s_attention_loops_by_hand():
    """DeiT-S on 197 x 22, L = 44, E = 22: one strip per head (197 rows), DR = ceil(197 / 64)
    = 4 drain rows, D = 50 drain steps per tile. q.k^T 9 x 64 + 50, P.v 3 x 2 x 197 + 50
    (probabilities in two byte slices); exp and normalize passes 5 row groups x 197 columns;
    197 row divisions 8 cycles after the exp pass."""
    eng = EngineSpec(197, 22, 44, 64, 22)
    qk, pv, vec = 9 * 64 + 50, 3 * 394 + 50, 5 * 197
    loops = attention_loops(197, 6, 64, 2, eng)
    assert loops == [(qk, vec + 8 + 197)] + [(vec, pv)] * 6
    assert (DEPTH_A, DEPTH_B) == (14, 68)
    assert sum(a + b for a, b in loops) + 7 * (14 + 68) == 15692


def test_attention_memories_follow_the_partitions():
    eng = EngineSpec(197, 22, 44, 64, 22)
    mems = {m["name"]: (m["banks"], m["depth"], m["width"])
            for m in attention_memories(197, 64, 8, 16, 25, 32, eng)}
    assert mems == {"scores_strip": (44 * 22, 5 * 9, 8), "row_max": (44, 5, 8),
                    "exp_strip": (44, 5 * 197, 25), "row_sum": (44, 5, 64),
                    "row_factor": (44, 5, 32), "probs_strip": (197, 197, 16)}
    # fewer rows than lanes: no more row banks than rows
    mems = {m["name"]: m["banks"] for m in attention_memories(5, 16, 8, 16, 25, 32,
                                                              EngineSpec(8, 16, 32, 64, 16))}
    assert mems["exp_strip"] == mems["row_max"] == 8 and mems["scores_strip"] == 8 * 5
