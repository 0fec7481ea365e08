"""LayerNorm statistics gathered in the producer's GEMM drain: which steps take part, what the
generated top declares and passes, the LayerNorm cycle formula with and without its own
statistics sweep, and C-simulations (one-tile and multi-tile drains, a ring longer than the
array) that stay bit-exact and count their estimate."""

from __future__ import annotations

import numpy as np
import pytest

from ivit_hls.golden import assert_traces_equal
from ivit_hls.golden import run as golden_run
from ivit_hls.hls import CsimLibrary, HlsOptions, generate, render_project
from ivit_hls.hls.lower import lower
from ivit_hls.hls.project import tb_images
from ivit_hls.ops.vector_cost import layernorm_cycles

from test_hls_project import _modelled, _run_cycles


def test_every_deit_layernorm_reads_its_producers_sums(small_int_model):
    """DeiT: block 0's first LayerNorm follows the patch embedding, every other one a fused
    residual add (the last block's feeds the final norm), so every LayerNorm reads the sums
    and both producers gather them; the top declares the sums once, banked by the drain."""
    plan = lower(small_int_model, 6, 4, drain=2)
    ln = [st for st in plan.steps if st.kernel == "layernorm"]
    assert ln and all(st.row_stats == "in" for st in ln)
    producers = {st.kernel for st in plan.steps if st.row_stats == "out"}
    assert producers == {"patch_embed", "linear_residual"}
    for st in plan.steps:
        marked = bool(st.row_stats)
        assert st.template_args().endswith(", true") == marked
        assert (st.args("it")[-2:] == ["eng_sx", "eng_sxx"]) == marked
    assert plan.row_stats_rows == 5
    # 5 rows fit one 6-row tile of 3 chunks of 2 lanes: 3 slot rows of 2, a bank per lane
    assert plan.row_stats_slots == 3
    top = render_project(small_int_model, HlsOptions(rows=6, cols=4, drain=2))[
        "src/ivit_top.cpp"].decode()
    assert "static int64_t eng_sx[3][2], eng_sxx[3][2];" in top
    assert "#pragma HLS ARRAY_PARTITION variable=eng_sx complete dim=2" in top
    assert "ivit::layer::layernorm<L1, true>(" in top
    # a batch of 3 (15 rows) on 4 rows with 3 lanes: 4 tiles of 2 chunks
    assert lower(small_int_model, 4, 4, drain=3, batch=3).row_stats_slots == 8


def test_layernorm_cycles_by_hand():
    """197 x 384, 50 lanes: the row unit's pipeline is 2*4 + 31 + 68 = 107 deep, a window
    max(384, 8 + 50 + 107 + 8) = 384 steps. Own sweep: 4 groups + 1 windows, the last sweep
    and the depth (8 + 107): 5*384 + 384 + 115 = 2419. From the drain: a first window of 173
    steps, 3 windows, the last sweep: 173 + 3*384 + 384 + 115 = 1824. The class token only:
    two sweeps of 384 + 8, 1 row, 107 deep = 892; from the drain one sweep: 500."""
    assert layernorm_cycles(197, 384, 50) == 2419
    assert layernorm_cycles(197, 384, 50, stats=True) == 1824
    assert layernorm_cycles(1, 384, 50, merged=False) == 892
    assert layernorm_cycles(1, 384, 50, merged=False, stats=True) == 500


def test_estimate_prices_the_drain_squares_instead_of_vector_squares(small_int_model):
    """The LayerNorm after a producer that does not gather sums keeps its sweep (and the
    vector lanes' squares); here every one reads them, so no vec_square pool, the squares
    on the epilogue lanes, and the sums' ring in flip-flops."""
    from ivit_hls.perf.cycles import resources

    plan = lower(small_int_model, 4, 4).with_engine(6, 4, 4, 64, 2)
    res = resources(plan, "xczu9eg")
    pools = {h["function"]: h for h in res["helper_multipliers"]}
    assert "pool_vec_square" not in pools
    assert "lane_epi_square" in pools["pool_epi_narrow"]["roles"]
    # a ring of ceil(6 / 2) * 2 = 6 int64 pairs in each of the 3 call sites that gather
    # sums: the patch embedding and the two fused residual adds of the block body
    sites = [st.kernel for st in plan.steps if st.row_stats == "out"]
    assert sorted(sites) == ["linear_residual", "linear_residual", "patch_embed"]
    assert res["ffs_row_sums"] == 3 * 2 * 6 * 64 and res["ffs"] == (res["ffs_accumulators"]
                                                                     + res["ffs_row_sums"])
    sums = [m for m in res["memories"] if m["name"] in ("row_sums", "row_sums_of_squares")]
    assert [(m["banks"], m["depth"]) for m in sums] == [(2, 3), (2, 3)]
    # the drain writes bank e from lane e (no port); the row unit reads any of the 2 banks;
    # lane e of chunk g, tile t reads position entry 1 + 4j + (6t + 2g + e - 1), bank e mod 2
    # for every channel j (the class token's lane too): gcd(2 lanes, 4 patches, 6 rows) = 2
    ports = {p["port"]: p for p in res["row_select_ports"]}
    assert (ports["LayerNorm row-sums read"]["lanes"],
            ports["LayerNorm row-sums read"]["banks"]) == (2, 2)
    assert ports["patch_embed position table read"]["banks"] == 1
    # a batch of two: image 1's tokens start 5 rows on, so the bank moves (gcd(2, 5) = 1)
    two = resources(lower(small_int_model, 4, 4).with_engine(6, 4, 4, 64, 2, batch=2),
                    "xczu9eg")
    ports = {p["port"]: p for p in two["row_select_ports"]}
    assert ports["patch_embed position table read"]["banks"] == 2


def _check(model, out, images):
    logits, trace = CsimLibrary(out).run_trace(images[0])
    golden = golden_run(model, images[:1], trace=True)
    assert_traces_equal(golden.trace, trace, [ly.name for ly in model.layers])
    np.testing.assert_array_equal(logits, golden.logits)
    _est, modelled = _modelled(out)
    counted, logits = _run_cycles(out, images)
    np.testing.assert_array_equal(logits, golden_run(model, images).logits)
    np.testing.assert_array_equal(counted, modelled)


def test_one_tile_keeps_the_sums_in_the_ring(tmp_path, small_int_model):
    """5 tokens on 6 rows: one tile holds every row, so the drain takes a row's sums from the
    ring at every panel (3 drain chunks of 2 rows; reading eng_sx back instead gives the same
    values, but a drain with one chunk would read it the cycle after writing it): bit-exact
    per layer, cycles as estimated."""
    out = generate(small_int_model, tmp_path / "one_tile",
                   HlsOptions(rows=6, cols=3, drain=2, lanes=3, tb_images=1))
    _check(small_int_model, out, tb_images(small_int_model, 1, seed=7))


def test_tiles_take_turns_through_the_row_arrays(tmp_path, small_int_model):
    """A batch of two (10 token rows; the patch embedding's GEMM runs over the same rows) on 4
    rows with 3 epilogue lanes: several tiles per panel, so the sums go through eng_sx /
    eng_sxx between panels, and the ring (2 chunks of 3) is longer than the array."""
    out = generate(small_int_model, tmp_path / "tiles",
                   HlsOptions(rows=4, cols=3, drain=3, lanes=2, batch=2, tb_images=1))
    _check(small_int_model, out, tb_images(small_int_model, 2, seed=8))


@pytest.mark.parametrize("rows,cols,drain,lanes,batch,images", [
    (6, 5, 6, 3, 3, 3),   # one chunk per column, tiles that span images
    (3, 3, 2, 3, 2, 3),   # a full batch, then a partial one (nb = 1 of 2)
])
def test_row_sums_across_images_and_partial_batches(tmp_path, small_int_model, rows, cols,
                                                    drain, lanes, batch, images):
    """The row sums' slots and the token-row patch embedding where image boundaries fall
    inside tiles and chunks, and where a call's last batch is partial: bit-exact per layer on
    the first image, logits of every image equal, cycles as estimated when the batch is full."""
    out = generate(small_int_model, tmp_path / "p",
                   HlsOptions(rows=rows, cols=cols, drain=drain, lanes=lanes, batch=batch,
                              tb_images=1))
    imgs = tb_images(small_int_model, images, seed=3)
    logits, trace = CsimLibrary(out).run_trace(imgs[0])
    golden = golden_run(small_int_model, imgs[:1], trace=True)
    assert_traces_equal(golden.trace, trace, [ly.name for ly in small_int_model.layers])
    np.testing.assert_array_equal(logits, golden.logits)
    counted, all_logits = _run_cycles(out, imgs)
    np.testing.assert_array_equal(all_logits, golden_run(small_int_model, imgs).logits)
    if images == batch:
        np.testing.assert_array_equal(counted, _modelled(out)[1])
