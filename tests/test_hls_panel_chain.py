"""The weight-panel chain: every engine GEMM loads the next one's first panel while its last
panel computes, so only the program's first GEMM waits for its first load. Which GEMMs chain,
the tables the generated slots carry, the cycle formula by hand, and C-simulations whose
panel counts are odd (the next first panel then lands in the other half)."""

from __future__ import annotations

from ivit_hls.hls import HlsOptions, generate, render_project
from ivit_hls.hls.fusion import program_runs
from ivit_hls.hls.lower import lower
from ivit_hls.hls.project import tb_images
from ivit_hls.ops.common import gemm_ddr
from ivit_hls.perf.cycles import EngineSpec

from test_hls_row_stats import _check


def _gemms(plan):
    runs = program_runs(plan.prologue, plan.body, plan.epilogue, plan.iterations)
    return [inst.layers[0] for st, inst in runs if st.engine and st.weighted and st.array]


def test_every_gemm_loads_the_next_ones_first_panel(small_int_model):
    """Two DeiT blocks: patch embedding, 2 x (qkv, proj, fc1, fc2), head, in that order; each
    points at the next one's weights and K, every one but the first finds its first panel on
    chip, the head loads nothing after it. The block loop's tables hold both iterations."""
    plan = lower(small_int_model, 6, 4)
    gemms = _gemms(plan)
    names = [ly.layer.name for ly in gemms]
    assert names[0] == "patch_embed" and names[-1] == "head" and len(names) == 10
    assert [ly.pre for ly in gemms] == [False] + [True] * 9
    k = {name: kk for name, _o, kk, _n, panels, _b in plan.weight_layout if panels}
    for a, b in zip(gemms, gemms[1:]):
        assert (a.next_w_off, a.next_k) == (b.w_off, k[b.layer.name])
    assert (gemms[-1].next_w_off, gemms[-1].next_k) == (0, 0)
    params = render_project(small_int_model, HlsOptions(rows=6, cols=4))[
        "src/ivit_params.h"].decode()
    fc2 = [ly for ly in gemms if ly.layer.name.endswith("mlp.fc2")]
    # block 0's fc2 loads block 1's qkv panel, block 1's the head's
    assert f"::NEXT_W_OFF[2] = {{ {fc2[0].next_w_off}, {fc2[1].next_w_off} }};" in params
    assert fc2[1].next_w_off == gemms[-1].w_off


def test_chained_gemm_cycles_by_hand():
    """197 x 384 x 384 on 16 x 16 with 16 epilogue lanes, 64 bytes a cycle: 24 panels, each
    13 tiles of max(384, 16) steps (comp = 4,992), a panel load of max(192, 96) = 192 steps,
    a drain of 16. Alone: 192 + 23 * 4,992 + 4,992 + 16 + 64 + 14 = 120,094. Chained, its
    first panel loaded before and a next first panel of K = 1,536 (768 steps) under its last
    window: 0 + 23 * 4,992 + max(4,992, 768) + 16 + 78 = 119,902. A 1-row GEMM (the head,
    1 tile of 384) whose next load is longer than its window takes the load's steps."""
    eng = EngineSpec(16, 16, 16, 64)
    assert gemm_ddr(197, 384, 384, eng)[0] == 120_094
    assert gemm_ddr(197, 384, 384, eng, 1, True, 1536)[0] == 119_902
    # 1 x 32 x 384: 2 panels of 1 tile (384 steps); next K = 1,536: 768 load steps
    assert gemm_ddr(1, 32, 384, eng, 1, False, 1536)[0] == 192 + 384 + 768 + 16 + 78


def test_odd_panel_counts_alternate_the_halves(tmp_path, small_int_model):
    """5 columns: 192 channels are 39 panels, 576 are 116, 768 are 154, so the next first
    panel goes to the half that panel parity leaves free (eng_half changes between GEMMs):
    bit-exact per layer, cycles as estimated, for one image and a batch of two."""
    plan = lower(small_int_model, 6, 5)
    counts = {name: panels for name, _o, _k, _n, panels, _b in plan.weight_layout if panels}
    assert any(n % 2 for n in counts.values())
    out = generate(small_int_model, tmp_path / "odd",
                   HlsOptions(rows=6, cols=5, drain=3, lanes=3, batch=2, tb_images=1))
    _check(small_int_model, out, tb_images(small_int_model, 2, seed=9))
