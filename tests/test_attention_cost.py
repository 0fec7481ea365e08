"""The fused attention unit's model (ivit_hls/ops/attention_cost.py) by hand."""

from __future__ import annotations

from ivit_hls.ops.attention_cost import DEPTH_A, DEPTH_B, attention_loops, attention_memories
from ivit_hls.perf.cycles import EngineSpec


def test_deit_s_attention_loops_by_hand():
    """DeiT-S on 198 x 22, L = 44 (the attention lanes too), E = 22: one strip per head (197
    rows); the drain takes 44 rows of one column per cycle, D = 22 x ceil(198 / 44) = 110
    steps per tile. q.k^T 9 x max(64, 110) + 110, P.v 3 x 2 x 197 + 110 (probabilities in
    two byte slices); exp and normalize passes 5 row groups x 197 columns; each group's 44
    row divisions 8 cycles after its pass, the last group's 21 after the whole pass; the copy
    of v, 33 lanes (the largest divisor of 198 at most 64): 6 blocks x 64 steps."""
    eng = EngineSpec(198, 22, 44, 64, 22)
    qk, pv, vec = 9 * 110 + 110, 3 * 394 + 110, 5 * 197
    loops = attention_loops(197, 6, 64, 2, eng)
    assert loops == [(qk, vec + 8 + 21)] + [(qk, pv)] * 5 + [(vec, pv)]
    assert (DEPTH_A, DEPTH_B) == (14, 68)
    assert sum(a + b for a, b in loops) + 7 * (14 + 68) == 16925


def test_fewer_attention_lanes_make_the_passes_longer():
    """Attention lanes 22 (not the vector lanes): D = 22 x 9 = 198, passes of 9 groups."""
    eng = EngineSpec(198, 22, 44, 64, 22, 22)
    qk, pv, vec = 9 * 198 + 198, 3 * 394 + 198, 9 * 197
    loops = attention_loops(197, 1, 64, 2, eng)
    assert loops == [(qk, vec + 8 + 21), (vec, pv)]


def test_a_prime_row_count_copies_v_one_lane_at_a_time():
    """197 rows: no divisor of 197 but 1 is at most 64, so the v copy runs one lane, 197 x 64
    steps, and loop B waits for it."""
    eng = EngineSpec(197, 22, 44, 64, 22)
    loops = attention_loops(197, 1, 64, 2, eng)
    assert loops[0][1] == 197 * 64 and loops[1][1] == 3 * 394 + 110


def test_attention_memories_follow_the_partitions():
    eng = EngineSpec(198, 22, 44, 64, 22)
    mems = {m["name"]: (m["banks"], m["depth"], m["width"])
            for m in attention_memories(197, 64, 8, 16, 25, 32, eng)}
    assert mems == {"scores_strip": (44, 5 * 197, 8), "row_max": (44, 5, 8),
                    "exp_strip": (44, 5 * 197, 25), "row_sum": (44, 5, 64),
                    "row_factor": (44, 5, 32), "probs_strip": (198, 197, 16),
                    "v_local": (2 * 64, 197, 8)}
    # fewer rows than lanes: no more row banks than rows; Shiftmax lanes no more than tokens
    mems = {m["name"]: m["banks"] for m in attention_memories(5, 16, 8, 16, 25, 32,
                                                              EngineSpec(8, 16, 32, 64, 16))}
    assert mems["row_max"] == mems["scores_strip"] == 8 and mems["exp_strip"] == 5
    assert mems["v_local"] == 2 * 16
