"""The engine's helper multipliers: the roles and pools the C++ defines, the pool instances the
generated top allocates and the ones the resource model prices are the same, and on-chip
memories that are not block RAM are priced as LUTs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ivit_hls.hls import HlsOptions, render_project
from ivit_hls.hls.kernels import KERNELS
from ivit_hls.hls.lanes import POOLS, ROLES, allocation, ln_norm_split
from ivit_hls.hls.lower import lower
from ivit_hls.perf.cycles import resources
from ivit_hls.perf.onchip import lutram_luts, memories_with_blocks, mux_luts
from ivit_hls.resources import source_dir

ZCU102 = "xczu9eg-ffvb1156-2-e"


def _library() -> str:
    return "".join(h.read_text() for h in sorted(source_dir("hw", "hls", "ivit").glob("*.h")))


def test_every_lane_function_is_a_role_of_a_defined_pool():
    """A multiplier the C++ routes through a function the model does not know would be built
    but never priced (and the other way round): every ``lane_*`` role is known and calls its
    pool, every pool is a non-inlined function of the library."""
    text = _library()
    lanes = set(re.findall(r"^inline int64_t (lane_\w+)\(", text, re.M))
    assert lanes == {r.function for r in ROLES}
    for role in ROLES:
        body = re.search(r"^inline int64_t " + role.function + r"\(.*?^\}", text, re.M | re.S)
        assert f"return {role.pool}(" in body.group(0), role.function
        assert "INLINE off" not in body.group(0)
    for pool in POOLS:
        body = re.search(r"^inline int64_t " + pool.function + r"\(.*?^\}", text, re.M | re.S)
        assert "#pragma HLS INLINE off" in body.group(0) and pool.macro + "_A" in body.group(0)
    used = {name for k in KERNELS.values() for name in k.lanes if name not in ("gelu", "ln_norm")}
    assert used <= {r.function for r in ROLES}


def test_every_engine_step_is_a_registered_kernel(small_int_model):
    """The lowering only emits engine steps whose kernel the registry describes (a step the
    registry missed would be priced with no lanes and no row unit), fused or not (unfused,
    a step's kernel is its layer's kind), and each registered kernel names a unit that
    units_*.h defines."""
    from ivit_hls.hls.fusion import ENGINE_KINDS

    engine = {st.kernel for st in lower(small_int_model, 6, 4).steps if st.engine}
    assert engine and engine <= set(KERNELS)
    assert ENGINE_KINDS <= set(KERNELS)
    units = "".join(p.read_text() for p in source_dir("hw", "hls", "ivit").glob("units_*.h"))
    defined = set(re.findall(r"^void (\w+)\(", units, re.M))
    assert set(KERNELS) <= defined


def test_top_allocates_what_the_model_prices(small_int_model):
    """The generated top holds each pool to the count reports/estimate.json prices, at the
    widths it prices, and the PE array and the row unit's divider to one instance each."""
    files = render_project(small_int_model, HlsOptions(rows=5, cols=4, lanes=8, drain=2))
    top = files["src/ivit_top.cpp"].decode()
    params = files["src/ivit_params.h"].decode()
    pragmas = dict(re.findall(r"#pragma HLS ALLOCATION function instances=ivit::(\w+) "
                              r"limit=(\d+)", top))
    import json

    priced = json.loads(files["reports/estimate.json"])["resources"]["helper_multipliers"]
    assert {h["function"]: str(h["count"]) for h in priced} == \
        {k: v for k, v in pragmas.items() if k.startswith("pool_")}
    macros = {p.function: p.macro for p in POOLS}
    for h in priced:
        a, b = h["bits"]
        assert f"#define {macros[h['function']]}_A {a}\n" in params
        assert f"#define {macros[h['function']]}_B {b}\n" in params
    assert pragmas.get("row_div") == pragmas.get("row_isqrt") == "1"
    plan = lower(small_int_model, 5, 4, 8, drain=2)
    assert f"#define IVIT_LN_SPLIT {int(ln_norm_split(plan))}\n" in params
    assert re.search(r"instances=ivit::eng::pe_step<5, 4> limit=1", top)


def test_allocation_counts_follow_the_busiest_unit(small_int_model):
    """A pool's instances: the most any one unit calls at once, summed over the pool's roles
    in that unit. epi_wide: the attention drain's rows (6) against a GEMM epilogue's requant
    + residual or GELU requant (2 + 2), and with the LayerNorm normalize split, its two
    halves on each vector lane (8 asked, 6 rows); vec_wide: LayerNorm's requant against the
    Shiftmax lanes (the attention lanes, at most the tokens); vec_long: the row unit's one
    product, and the whole normalize product on each vector lane when it is not split;
    epi_narrow: GELU's three short products on each of the E epilogue lanes, against the E
    squares of the LayerNorm statistics a drain gathers (every LayerNorm of this model reads
    those, so no vector lane squares and there is no vec_square pool)."""
    plan = lower(small_int_model, 4, 4).with_engine(6, 4, 8, 64, 2)
    assert (plan.lanes, plan.att_lanes, plan.drain) == (6, 6, 2)
    tokens = next(st.layers[0].out.shape[-1] for st in plan.steps if st.kernel == "attention")
    split = {p["function"]: p for p in allocation(plan, True)}
    whole = {p["function"]: p for p in allocation(plan, False)}
    assert split["pool_epi_wide"]["count"] == max(6, 2 + 2, 2 * 6)
    assert whole["pool_epi_wide"]["count"] == max(6, 2 + 2)
    for pools in (split, whole):
        assert pools["pool_vec_wide"]["count"] == max(6, min(6, tokens))
        assert "pool_vec_square" not in pools
        assert pools["pool_epi_narrow"]["count"] == max(3 * 2, 2)
        assert set(pools["pool_epi_narrow"]["roles"]) == {
            "lane_gelu_abs_r", "lane_gelu_yy", "lane_gelu_x_sigma", "lane_epi_square"}
    assert split["pool_vec_long"]["count"] == 1 and whole["pool_vec_long"]["count"] == 6 + 1
    assert "lane_ln_norm_hi" in split["pool_epi_wide"]["roles"]
    assert "lane_ln_norm" in whole["pool_vec_long"]["roles"]
    # the pool's widths: the widest operands of its roles
    from ivit_hls.perf.cycles import operand_widths

    w = operand_widths(plan)
    roles = {r.function: r for r in ROLES}
    for p in [*split.values(), *whole.values()]:
        assert p["bits"] == [max(roles[n].bits(w)[0] for n in p["roles"]),
                             max(roles[n].bits(w)[1] for n in p["roles"])]
    # attention lanes of their own
    pools = {p["function"]: p["count"]
             for p in allocation(plan.with_engine(6, 4, 4, 64, 2, att_lanes=3), True)}
    assert pools["pool_epi_wide"] == max(3, 2 + 2, 2 * 4) and pools["pool_vec_wide"] == 4
    assert pools["pool_vec_long"] == 1


@pytest.mark.parametrize("lanes,drain,att,split", [
    (2, 2, 6, True),     # 2 x 2 halves fit the attention drain's 6 epilogue instances
    (6, 1, 1, False),    # 12 halves add 10 two-slice instances to the epilogue's 2;
                         # 6 three-slice long products cost 18
])
def test_layernorm_normalize_split_where_it_costs_fewer_dsps(small_int_model, lanes, drain,
                                                             att, split):
    """The normalize product goes to the epilogue pool in halves when that allocation takes
    fewer DSPs (here: when the attention drain leaves the instances idle), and the default
    allocation is that one."""
    from ivit_hls.perf.cycles import mul_dsp

    plan = lower(small_int_model, 4, 4).with_engine(6, 4, lanes, 64, drain, att_lanes=att)

    def dsps(s):
        return sum(p["count"] * mul_dsp(*p["bits"]) for p in allocation(plan, s))

    assert (dsps(True) <= dsps(False)) == split
    assert plan.ln_product == "auto" and ln_norm_split(plan) == split
    assert allocation(plan) == allocation(plan, split)
    # a plan that names its product keeps it
    for product, value in (("split", True), ("whole", False)):
        named = plan.with_engine(6, 4, lanes, 64, drain, att_lanes=att, ln_product=product)
        assert ln_norm_split(named) is value


def test_auto_layernorm_product_takes_the_form_that_fits_the_part(small_int_model, monkeypatch):
    """``auto`` resolved against a part: the one form that fits where only one does (the split
    of fewer DSPs and more LUTs missing the LUT budget, or the whole product missing the
    DSPs); the default rule where both fit; a named form stays named."""
    import dataclasses

    from ivit_hls.hls.lanes import ln_product_for_part
    from ivit_hls.perf.cycles import LUT_BUDGET
    from ivit_hls.perf.parts import PARTS

    plan = lower(small_int_model, 4, 4).with_engine(6, 4, 3, 64, 2, att_lanes=3)
    cost = {f: resources(dataclasses.replace(plan, ln_product=f), "xczu9eg")
            for f in ("split", "whole")}
    dsp = {f: r["dsp"] for f, r in cost.items()}
    lut = {f: r["luts"] for f, r in cost.items()}
    assert dsp["split"] != dsp["whole"] and lut["split"] != lut["whole"]
    few_dsp, few_lut = min(dsp, key=dsp.get), min(lut, key=lut.get)
    assert few_dsp != few_lut                   # each form is the cheaper in one resource

    def part(dsps: int, luts: float) -> str:
        name = f"xctest{dsps}x{int(luts)}"
        monkeypatch.setitem(PARTS, name, (dsps, 912, 0, int(luts / LUT_BUDGET) + 1, 19.2, 19.2))
        return name + "-x"

    roomy = 10 * max(lut.values())
    assert ln_product_for_part(plan, part(max(dsp.values()), min(lut.values()))) == few_lut
    assert ln_product_for_part(plan, part(min(dsp.values()), roomy)) == few_dsp
    assert ln_product_for_part(plan, part(max(dsp.values()), roomy)) == "auto"
    assert ln_product_for_part(plan, "xcfoo") == "auto"
    named = dataclasses.replace(plan, ln_product="split")
    assert ln_product_for_part(named, part(min(dsp.values()), min(lut.values()))) == "split"
    # the generated project builds and reports the form that fits

    for form, where in ((few_lut, part(max(dsp.values()), min(lut.values()))),
                        (few_dsp, part(min(dsp.values()), roomy))):
        files = render_project(small_int_model, HlsOptions(rows=6, cols=4, lanes=3, drain=2,
                                                           att_lanes=3, part=where,
                                                           tb_images=1))
        params = next(v for k, v in files.items() if k.endswith("ivit_params.h")).decode()
        report = json.loads(next(v for k, v in files.items() if k.endswith("estimate.json")))
        assert f"#define IVIT_LN_SPLIT {int(form == 'split')}\n" in params
        assert report["array"]["layernorm_product"] == form and report["resources"]["fits"]


def test_shared_pool_inputs_are_priced_as_multiplexers():
    """k call sites sharing an instance: a k:1 multiplexer per operand bit, 4:1 per LUT6."""
    assert mux_luts(1, 57) == 0
    assert mux_luts(4, 57) == 57 and mux_luts(5, 57) == 2 * 57 and mux_luts(10, 10) == 30


@pytest.mark.parametrize("depth,width,luts", [
    (9, 352, 4 * 59),        # 32 deep or less: RAM32M, 6 bits per 4 LUTs
    (64, 24, 4 * 8),         # 64 deep: RAM64M, 3 bits per 4 LUTs
    (128, 16, 4 * 6 * 2),    # 2 Kb: two RAM64M columns
    (512, 72, 0),            # block RAM
])
def test_lutram_priced(depth, width, luts):
    assert lutram_luts(depth, width) == luts


def test_shallow_banks_count_as_luts(small_int_model):
    """Banks the BRAM count leaves out are LUTs in the total, and the accumulators are
    flip-flops the fit test checks."""
    plan = lower(small_int_model, 4, 4).with_engine(6, 4, 8, 64, 2)
    res = resources(plan, ZCU102)
    mems = memories_with_blocks(plan, None)
    assert res["luts_lutram"] == sum(m["lutram_luts"] for m in mems) > 0
    assert all(m["lutram_luts"] == 0 for m in mems if m["bram36"])
    helpers = sum(h["luts"] * h["count"] for h in res["helper_multipliers"])
    assert res["luts_pool_mux"] == sum(h["mux_luts"] * h["count"]
                                       for h in res["helper_multipliers"]) > 0
    assert res["luts_row_select"] == sum(p["luts"] for p in res["row_select_ports"])
    assert res["luts"] == (res["luts_array"] + res["luts_lutram"] + res["luts_pool_mux"]
                           + res["luts_row_select"] + helpers)
    assert res["ffs_accumulators"] == 2 * 6 * 4 * res["datapath_widths"]["IVIT_W_ACC"]


def test_row_select_ports_by_hand(small_int_model):
    """Lanes whose rows move across the R row banks: k banks a lane reaches, a k:1
    multiplexer per lane and bit. 6 rows: E = 4 drains rows g*4 + e (ceil(6/4) = 2 banks),
    L = 4 vector lanes rows g*4 + l (6 / gcd(6, 4) = 3 banks; LayerNorm's read and write, its
    statistics coming from the drain before), q.k^T's 4 k lanes tokens j0 + c (6 / gcd(6, 4) = 3 banks), the attention's 3 lanes
    ceil(6/3) = 2 banks, the v copy's 6 lanes (the largest divisor of 6 at most the head
    dimension, 64) one bank each, its 64 column banks written from any of the 6 lanes; with
    L = 3, a divisor of 6, 2 banks."""
    from ivit_hls.perf.onchip import row_select_ports

    plan = lower(small_int_model, 4, 4).with_engine(6, 4, 4, 64, 4, att_lanes=3)
    ports = {p["port"]: (p["lanes"], p["banks"]) for p in row_select_ports(plan)}
    assert plan.head_dim == 64
    assert ports["gemm drain write + residual read"] == (8, 2)
    assert ports["vector unit reads + write"] == (8, 3)
    assert ports["attention k operand"] == (4, 3)
    assert ports["attention context write"] == (3, 2)
    assert ports["attention v copy read"] == (6, 1)
    assert ports["attention v copy column write"] == (64, 6)
    plan = plan.with_engine(6, 4, 3, 64, 4, att_lanes=3)
    assert {p["port"]: p["banks"] for p in row_select_ports(plan)}[
        "vector unit reads + write"] == 2


_LN_SPLIT_SOURCE = r"""
#include <cstdio>
#include "ivit/layernorm.h"

// Reads pairs (d, recip) and prints ivit::ln_norm_product(d, recip) for each.
int main() {
    long long d, r;
    while (std::scanf("%lld %lld", &d, &r) == 2)
        std::printf("%lld\n", static_cast<long long>(ivit::ln_norm_product(d, r)));
    return 0;
}
"""


@pytest.mark.parametrize("split", [True, False])
def test_layernorm_normalize_halves_give_the_whole_product(tmp_path, split):
    """The LayerNorm normalize product taken as two products of the reciprocal's halves on
    the epilogue pool (IVIT_LN_SPLIT = 1), or as one on the long pool, equals (16x - mean) *
    recip, with every operand within the widths the model prices its role at (a
    -DIVIT_CHECK_WIDTHS build stops on a value that does not fit):
    recip = 2^46 // sd for sd from 1 (recip = 2^46, the widest high half) to 2^31, and |d|
    up to sd and up to the 22-bit LayerNorm difference."""
    import subprocess

    from hls_helpers import CXXFLAGS, HLS_DIR
    from ivit_hls.hls.lanes import LN_RECIP_HI_BITS, LN_RECIP_LO_BITS

    # the model's widths of the halves are the header's (LN_RECIP_W - split, split + 1)
    header = (HLS_DIR / "ivit" / "layernorm.h").read_text()
    recip_w = int(re.search(r"LN_RECIP_SHIFT = (\d+);", header).group(1)) + 2
    split_at = int(re.search(r"LN_RECIP_SPLIT = (\d+);", header).group(1))
    assert "LN_RECIP_W = LN_RECIP_SHIFT + 2;" in header
    assert (LN_RECIP_HI_BITS, LN_RECIP_LO_BITS) == (recip_w - split_at, split_at + 1)
    assert (1 << 46) >> split_at < 1 << (LN_RECIP_HI_BITS - 1)
    src = tmp_path / "ln_split.cpp"
    src.write_text(_LN_SPLIT_SOURCE)
    exe = tmp_path / "ln_split"
    proc = subprocess.run(["g++", *CXXFLAGS, "-DIVIT_CHECK_WIDTHS", "-DIVIT_W_LN_DIFF=22",
                           f"-DIVIT_LN_SPLIT={int(split)}", f"-I{HLS_DIR}", str(src), "-o",
                           str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    rng = np.random.default_rng(7)
    sds = [1, 2, 3, (1 << 23) - 1, 1 << 23, (1 << 23) + 1, 1 << 31]
    sds += [int(v) for v in rng.integers(1, 1 << 31, 200)]
    pairs = []
    for sd in sds:
        recip = (1 << 46) // sd
        lim = min(sd, (1 << 21) - 1)
        ds = {0, 1, -1, lim, -lim} | {int(v) for v in rng.integers(-lim, lim + 1, 5)}
        pairs += [(d, recip) for d in sorted(ds)]
    pairs += [(d, r) for d in (-(1 << 21), (1 << 21) - 1) for r in (0, 1, (1 << 23) - 1)]
    run = subprocess.run([str(exe)], input="".join(f"{d} {r}\n" for d, r in pairs),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got = [int(v) for v in run.stdout.split()]
    assert got == [d * r for d, r in pairs]


def test_im2col_half_row_words_take_block_ram(small_int_model):
    """One token row per bank: whole-row words (16 bytes for P = 16) leave each bank 48 words
    deep, distributed RAM; half-row words (im2col_words="half") make it 96 words of 64 bits,
    one BRAM36, and the load one patch-row run a cycle (C*H*W / P steps) instead of two.
    Banks of two rows or more (96 whole-row words) keep whole-row words either way."""
    from ivit_hls.ops.common import (IM2COL_LUTRAM_BITS, IM2COL_LUTRAM_DEPTH, im2col_word,
                                     patch_load_steps)
    from ivit_hls.perf.onchip import LUTRAM_BITS, LUTRAM_DEPTH

    def im2col(plan):
        return next(m for m in memories_with_blocks(plan, None) if m["name"] == "im2col")

    base = lower(small_int_model, 4, 4)
    row = im2col(base.with_engine(6, 4, 8, 64, 2))
    assert (row["banks"], row["depth"], row["width"], row["bram36"]) == (5, 48, 128, 0)
    assert row["lutram_luts"] == 5 * lutram_luts(48, 128) > 0
    half = im2col(base.with_engine(6, 4, 8, 64, 2, im2col_words="half"))
    assert (half["banks"], half["depth"], half["width"]) == (5, 3 * 16 * 16 // 8, 64)
    assert half["bram36"] == 5 and half["lutram_luts"] == 0     # one BRAM36 a bank
    # 5 tokens on 4 rows: two rows a bank, 96 whole-row words deep, block RAM already
    two = im2col(base.with_engine(4, 4, 4, 64, 2, im2col_words="half"))
    assert (two["banks"], two["depth"], two["width"]) == (4, 2 * 48, 128)
    k = 3 * 16 * 16
    assert [im2col_word(16, k, 1, True, 8), im2col_word(16, k, 2, True, 8),
            im2col_word(16, k, 1, False, 8), im2col_word(7, 3 * 49, 1, True, 8)] == [8, 16, 16, 7]
    # half words that would still be distributed RAM are not taken: 12 whole-row words of a
    # 4 x 4 x 3 patch (24 halved: at most 64 deep)
    assert im2col_word(4, 48, 1, True, 8) == 4
    assert patch_load_steps(3 * 32 * 32, 16, 8, 1) == 3 * 32 * 32 // 16
    assert patch_load_steps(3 * 32 * 32, 16, 16, 1) == 3 * 32 * 32 // 32
    assert patch_load_steps(3 * 28 * 28, 7, 7, 1) == 3 * 28 * 28 // 14
    # the C++ decides the word by the same depth as the model's distributed-RAM rule
    units = source_dir("hw", "hls", "ivit").joinpath("units_gemm.h").read_text()
    assert f"constexpr int IM2COL_LUTRAM_DEPTH = {IM2COL_LUTRAM_DEPTH};" in units
    assert f"constexpr int IM2COL_LUTRAM_BITS = {IM2COL_LUTRAM_BITS};" in units
    assert (LUTRAM_DEPTH, LUTRAM_BITS) == (IM2COL_LUTRAM_DEPTH, IM2COL_LUTRAM_BITS)
