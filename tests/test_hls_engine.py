"""The engine's model pieces: constant division, unit cycle formulas, memories, exploration."""

from __future__ import annotations

import numpy as np
import pytest

from ivit_hls.errors import IvitError
from ivit_hls.hls.recip import const_divisor
from ivit_hls.ops.base import GemmShape
from ivit_hls.ops.common import gemm_ddr, onchip_gemm_cycles
from ivit_hls.perf.cycles import EngineSpec, attention_cycles, mul_dsp, mul_luts, resources
from ivit_hls.perf.onchip import bram_blocks, uram_blocks


@pytest.mark.parametrize("d", [1, 3, 7, 192, 197, 384, 768, 1000, 1024, 1536])
def test_const_divisor_is_floor_division(d):
    bound = 16 * d * (1 << 15)          # 16 * sum of d int16 values
    div = const_divisor(d, bound)
    rng = np.random.default_rng(d)
    edge = np.r_[np.arange(-bound, -bound + 4 * d), np.arange(bound - 4 * d, bound + 1),
                 np.arange(-4 * d, 4 * d)]
    for n in [*edge.tolist(), *rng.integers(-bound, bound + 1, 20000).tolist()]:
        assert div.apply(n) == n // d, (d, n)
    assert (bound + div.offset) * div.mul < 1 << 63


def test_const_divisor_refuses_what_int64_cannot_hold():
    with pytest.raises(IvitError):
        const_divisor(3, 1 << 62)


def test_gemm_formula_by_hand():
    """M=197, N=384, K=384 on 66x32, 64 B/cycle: 12 panels of 384x32 bytes, 3 row tiles; the
    default min(66, 32) = 32 epilogue lanes drain a tile column by column, 32 rows of a column
    per cycle: 32 columns x ceil(66 / 32) = 96 steps."""
    eng = EngineSpec(66, 32, 32, 64)
    cycles, wbytes = gemm_ddr(197, 384, 384, eng)
    load = max(384 // 2, 384 * 32 // 64)        # 2 panel rows per cycle, 192 words
    comp = 3 * max(384, 96)                     # drains hidden under the next tile
    assert cycles == 64 + load + 11 * max(comp, load) + comp + 96 + 6 + 8
    assert wbytes == 12 * 384 * 32 == 384 * 384
    # one row: a panel load (96 steps of 2 rows > 48 words) hides under K = 192 steps; the
    # first beat's latency is paid once (the panels are one sequential stream)
    cycles, _ = gemm_ddr(1, 1000, 192, EngineSpec(16, 16, 16, 64))
    assert cycles == 64 + 96 + 62 * 192 + 192 + 16 + 14
    # a load-bound one: at 8 bytes per cycle a panel takes 384 steps, over one tile's 192
    cycles, _ = gemm_ddr(16, 64, 192, EngineSpec(16, 16, 16, 8))
    assert cycles == 64 + 384 + 3 * 384 + 192 + 16 + 14


def test_drain_bound_tiles_and_attention():
    eng = EngineSpec(99, 32, 32, 64, 8)             # 8 epilogue lanes: 13 chunks per column
    d = 32 * 13
    # one flat loop per head: 2 x 7 tiles, drains overlapped across the row strips too
    assert onchip_gemm_cycles(GemmShape(197, 197, 64, 6), eng) == 6 * (2 * 7 * d + d + 14)
    # the attention unit: per strip two merged loops plus one pair before the first,
    # A = q.k^T of the next strip | normalize pass of this one (depth 6 + 8),
    # B = P.v of this strip | exp pass of the next with its row divisions | the copy of its
    # v (depth 68, the divider). 99 x 32, attention lanes = L = 32: the drain takes 32 rows
    # of a column per cycle, D = 32 x ceil(99 / 32) = 128; q.k^T 7 x max(64, 128) + 128,
    # P.v 2 x max(2 x 197, 128) + 128; exp and normalize passes ceil(rows / 32) = 4 groups
    # x 197; a group's 32 divisions start 8 cycles after its exp pass, so the last ends
    # 8 + (rows - 96) after the pass; the v copy (64 lanes): 197 + 63 steps
    eng = EngineSpec(99, 32, 32, 64)
    qk, pv, exp = 7 * 128 + 128, 2 * 394 + 128, 4 * 197
    a = [qk] * 12 + [exp]                                # q.k^T (1024) > normalize (788)
    b = [exp + 8 + 3] + [pv] * 12                        # P.v (916) > exp + divisions (799)
    assert attention_cycles(197, 6, 64, 2, eng) == sum(a) + 13 * 14 + sum(b) + 13 * 68 == 25933
    # 33 x 16, attention lanes 16: D = 16 x ceil(33 / 16) = 48; strips 5 x 33 + 32; the
    # copy's 33 lanes take 2 groups of 197 + 32 steps
    eng = EngineSpec(33, 16, 16, 64, 8)
    qk, pv = 13 * 64 + 48, 4 * 197 + 48                  # 880, 836
    a = [qk] * 6 + [2 * 197]                             # q.k^T > normalize (591)
    b = [3 * 197 + 8 + 1] + [pv] * 6                     # P.v > exp + divisions (600), copy (458)
    assert attention_cycles(197, 1, 64, 1, eng) == sum(a) + 7 * 14 + sum(b) + 7 * 68 == 11864


def test_multiplier_costs_from_operand_widths():
    """DSP48E2: 27 x 18 signed; wider operands split into a signed top and unsigned pieces."""
    assert mul_dsp(8, 8) == 1 and mul_dsp(27, 18) == 1 and mul_dsp(18, 27) == 1
    assert mul_dsp(22, 32) == 2          # 32 = 17 unsigned + 15 signed on the 18-bit port
    assert mul_dsp(32, 32) == 4          # 2 pieces on each port
    assert mul_dsp(15, 47) == 2          # 47 = 26 + 21 on the 27-bit port
    # fabric: the fit to Yosys's counts (tests/test_fabric_mul.py checks it against them)
    from ivit_hls.perf.fabric_mul import calibrated_mul_luts
    assert mul_luts(8, 8) == calibrated_mul_luts(8, 8) == 136
    assert mul_luts(22, 32) == calibrated_mul_luts(22, 32) > mul_luts(16, 32) > mul_luts(8, 8)


def test_memory_blocks_use_the_best_aspect_ratio():
    assert bram_blocks(1024, 36) == 1 and bram_blocks(512, 72) == 1
    assert bram_blocks(4096, 8) == 1            # 4K x 9
    assert bram_blocks(4096, 16) == 2           # 2K x 18, twice
    assert bram_blocks(300, 512) == 7.5         # 15 RAMB18 halves of 512 x 36 (8 BRAM36 wide)
    assert bram_blocks(144, 32) == 0.5          # one RAMB18 half (512 x 36)
    assert bram_blocks(32, 512) == 0            # 32 words deep: LUTRAM
    assert bram_blocks(200, 8) == 0             # 1,600 bits: LUTRAM
    assert uram_blocks(4096, 72) == 1 and uram_blocks(8192, 128) == 4


def test_explore_chooses_a_fitting_pareto_design(small_int_model):
    from ivit_hls.hls.lower import lower
    from ivit_hls.perf.explore import MAX_RATIO, evaluate, explore, pareto

    res = explore(small_int_model, "xczu9eg-ffvb1156-2-e", 300.0)
    front, best = res["pareto"], res["best"]
    assert front and best in front and best.fits
    assert all(p.fits for p in front) and front == pareto(res["points"])
    key = lambda p: (p.cycles, p.dsp, p.luts, p.bram36, p.uram, p.ddr_gbps)  # noqa: E731
    for p in front:     # nothing fitting dominates a Pareto point
        assert not any(q.fits and all(a <= b for a, b in zip(key(q), key(p))) and key(q) != key(p)
                       for q in res["points"])
    efficient = [p for p in front if p.ratio <= MAX_RATIO]
    if efficient:
        assert best.ratio <= MAX_RATIO and best.cycles == min(p.cycles for p in efficient)
    assert best.helpers in ("dsp", "vector-fabric", "fabric")
    # the sweep shares cycles, memories and pools between designs of one geometry: each point
    # is what pricing its design alone gives
    for p in res["points"][::7] + [best]:      # 7: every helper / LayerNorm choice of a group
        alone = evaluate(lower(small_int_model, 4, 4), p.rows, p.cols, p.lanes, p.drain,
                         "xczu9eg-ffvb1156-2-e", 300.0, 1, p.helpers, None, p.att_lanes,
                         p.im2col_words, p.ln_product)
        assert alone == p
    memo: dict = {}
    resources(lower(small_int_model, 4, 4).with_engine(6, 4, 4, 64), "xczu9eg", memo)
    with pytest.raises(ValueError):     # a memo serves one geometry only
        resources(lower(small_int_model, 4, 4).with_engine(6, 4, 2, 64), "xczu9eg", memo)
    with pytest.raises(IvitError):
        explore(small_int_model, "xcfoo-bar", 300.0)


@pytest.mark.parametrize("block", [3, 256])
def test_pareto_is_exactly_the_undominated_fitting_designs(block):
    """The blocked front equals the definition, checked pair by pair: ties on every figure
    stay together, a figure every design shares and designs that do not fit change nothing,
    and blocks smaller than the front give the same set."""
    import dataclasses

    import numpy as np

    from ivit_hls.perf.explore import Point, pareto

    rng = np.random.default_rng(7)
    base = Point(4, 4, 4, 4, 4, "dsp", 1, "row", "auto", 0, 0.0, 1.0, 0, 0, 0.0, 0, 0.0,
                 19.2, True)
    points = []
    for i in range(300):
        c, d, lut, b, g = (int(v) for v in rng.integers(0, 6, 5))
        points.append(dataclasses.replace(base, rows=i, cycles=c, dsp=d, luts=lut, bram36=b,
                                          ddr_gbps=float(g), fits=bool(rng.random() < 0.8)))
    points += [dataclasses.replace(points[0], rows=1000), dataclasses.replace(points[5], rows=1001)]
    key = lambda p: (p.cycles, p.dsp, p.luts, p.bram36, p.uram, p.ddr_gbps)  # noqa: E731
    fitting = [p for p in points if p.fits]
    expected = {p.rows for p in fitting
                if not any(all(a <= b for a, b in zip(key(q), key(p))) and key(q) != key(p)
                           for q in fitting)}
    front = pareto(points, block)
    assert {p.rows for p in front} == expected and len(front) == len(expected)
    assert [(p.cycles, p.dsp) for p in front] == sorted((p.cycles, p.dsp) for p in front)
    assert pareto([dataclasses.replace(p, fits=False) for p in points]) == []
    # one design, or designs alike in every figure: all of them
    assert pareto(points[:1]) == points[:1]
    alike = [dataclasses.replace(points[0], rows=i, fits=True) for i in range(3)]
    assert pareto(alike) == alike


@pytest.mark.parametrize("mode", ["dsp", "vector-fabric", "fabric"])
def test_helper_multipliers_priced_where_they_are_bound(small_int_model, mode):
    """Each helper multiplier costs DSP48E2 slices from its operand widths, or LUTs in fabric;
    the array's LUTs are one accumulator adder of the range-analysis width per PE."""
    from ivit_hls.hls.lower import lower
    from ivit_hls.perf.cycles import operand_widths, resources

    plan = lower(small_int_model, 4, 4).with_engine(6, 4, 8, 64, 2, mode)
    res = resources(plan, "xczu9eg-ffvb1156-2-e")
    assert res["luts_array"] == 6 * 4 * operand_widths(plan)["acc"] <= 6 * 4 * 32
    for h in res["helper_multipliers"]:
        fabric = mode == "fabric" or (mode == "vector-fabric" and h["group"] == "vec")
        assert h["impl"] == ("fabric" if fabric else "dsp")
        assert (h["dsp"], h["luts"]) == ((0, mul_luts(*h["bits"])) if fabric
                                         else (mul_dsp(*h["bits"]), 0))
        assert h["count"] >= 1       # the counts themselves: tests/test_hls_lanes.py
    assert res["dsp"] == 12 + 4 + sum(h["dsp"] * h["count"] for h in res["helper_multipliers"])
    assert res["luts"] == (res["luts_array"] + res["luts_lutram"] + res["luts_pool_mux"]
                           + res["luts_row_select"]
                           + sum(h["luts"] * h["count"] for h in res["helper_multipliers"]))


def test_batch_reads_each_weight_panel_once(small_int_model):
    """A batch of B images: the token-wise GEMMs run over B x T rows (one pass over the weight
    panels), attention over B x heads, the memories hold B images; a partial batch of one
    costs what the batch-1 program costs."""
    from ivit_hls.hls.lower import lower
    from ivit_hls.perf.cycles import estimate_plan
    from ivit_hls.perf.explore import evaluate

    part = "xczu9eg-ffvb1156-2-e"
    one = lower(small_int_model, 4, 4)
    four = one.with_engine(4, 4, 4, 64, batch=4)
    e1, e4 = estimate_plan(one, part, 300.0), estimate_plan(four, part, 300.0)
    eng = EngineSpec(4, 4, 4, 64)
    for a, b in zip(e1["layers"], e4["layers"]):
        assert b["ddr_weight_bytes"] == a["ddr_weight_bytes"]     # once per batch
        assert b["ddr_activation_bytes"] == 4 * a["ddr_activation_bytes"]
    layers = {ly["name"]: ly for ly in e4["layers"]}
    fc2 = next(ly for ly in one.layers if ly.layer.name.endswith("blocks.0.mlp.fc2"))
    k, n = np.asarray(fc2.layer.params["weight"]).shape[::-1]
    # fc2 finds its first panel on chip and loads block 1's qkv panel (the panel chain)
    assert fc2.pre and fc2.next_k == k // 4
    assert layers[fc2.layer.name]["cycles"] == gemm_ddr(4 * 5, n, k, eng, 1, True, k // 4)[0]
    qk = next(ly for ly in one.layers if ly.layer.kind == "qk_matmul")
    a = qk.layer.attrs
    pv = next(ly for ly in one.layers if ly.layer.kind == "pv_matmul")
    slices = 1 if one.types[pv.layer.inputs[0]].dtype.bits <= 8 else 2
    assert layers[qk.layer.name]["cycles"] == attention_cycles(5, 4 * a.heads, a.head_dim,
                                                               slices, eng)
    assert e4["ddr"]["weight_bytes_per_batch"] == e1["ddr"]["weight_bytes_per_image"]
    assert e4["total_cycles"] < 4 * e1["total_cycles"]
    assert e4["resources"]["onchip_buffer_bytes"] == 4 * e1["resources"]["onchip_buffer_bytes"]
    assert estimate_plan(four, part, 300.0, images=1)["layers"] == e1["layers"]
    p = evaluate(one, 4, 4, 4, 4, part, 300.0, batch=4)
    assert p.cycles == pytest.approx(e4["total_cycles"] / 4, abs=0.1)
    assert p.ms == e4["batch"]["ms_per_image"]
