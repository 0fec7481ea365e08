"""The engine's helper multipliers: the roles the C++ defines, the instances the generated top
allocates and the ones the resource model prices are the same, and on-chip memories that are
not block RAM are priced as LUTs."""

from __future__ import annotations

import re

import pytest

from ivit_hls.hls import HlsOptions, render_project
from ivit_hls.hls.lanes import KERNEL_LANES, ROLES, allocation
from ivit_hls.hls.lower import lower
from ivit_hls.perf.cycles import lutram_luts, memories_with_blocks, resources
from ivit_hls.resources import source_dir

ZCU102 = "xczu9eg-ffvb1156-2-e"


def _lane_functions() -> set[str]:
    """Every ``lane_*`` function the kernel library defines."""
    found = set()
    for header in sorted(source_dir("hw", "hls", "ivit").glob("*.h")):
        found |= set(re.findall(r"^inline int64_t (lane_\w+)\(", header.read_text(), re.M))
    return found


def test_every_lane_function_is_a_priced_role():
    """A multiplier the C++ routes through a role function the model does not know would be
    built but never priced (and the other way round)."""
    assert _lane_functions() == {r.function for r in ROLES}
    used = {name for lanes in KERNEL_LANES.values() for name in lanes if name != "gelu"}
    assert used <= {r.function for r in ROLES}


def test_top_allocates_what_the_model_prices(small_int_model):
    """The generated top holds each role to the count reports/estimate.json prices, and the
    PE array and the row unit's divider to one instance each."""
    files = render_project(small_int_model, HlsOptions(rows=5, cols=4, lanes=8, drain=2))
    top = files["src/ivit_top.cpp"].decode()
    pragmas = dict(re.findall(r"#pragma HLS ALLOCATION function instances=ivit::(\w+) "
                              r"limit=(\d+)", top))
    import json

    priced = json.loads(files["reports/estimate.json"])["resources"]["helper_multipliers"]
    assert {h["function"]: str(h["count"]) for h in priced} == \
        {k: v for k, v in pragmas.items() if k.startswith("lane_")}
    assert pragmas.get("row_div") == pragmas.get("row_isqrt") == "1"
    assert re.search(r"instances=ivit::eng::pe_step<5, 4> limit=1", top)


def test_allocation_counts_follow_the_busiest_unit(small_int_model):
    """Requant: the attention drain's rows (more than a GEMM epilogue's E); LayerNorm roles:
    the vector lanes (8 asked, 6 rows: a vector step takes L rows of one column); Shiftmax:
    the attention lanes, at most the tokens; GELU (shift form): the epilogue lanes."""
    plan = lower(small_int_model, 4, 4).with_engine(6, 4, 8, 64, 2)
    assert (plan.lanes, plan.att_lanes, plan.drain) == (6, 6, 2)
    tokens = next(st.layers[0].out.shape[-1] for st in plan.steps if st.kernel == "attention")
    roles = {r["function"]: r["count"] for r in allocation(plan)}
    assert roles["lane_epi_requant"] == 6
    assert roles["lane_epi_residual"] == 2
    for name in ("lane_ln_square", "lane_ln_norm", "lane_ln_requant"):
        assert roles[name] == 6
    assert roles["lane_sm_factor"] == min(6, tokens) < 6
    assert roles["lane_row_ln_var"] == 1      # the row unit: one row at a time
    assert {n for n in roles if n.startswith("lane_gelu")} == {
        "lane_gelu_abs_r", "lane_gelu_yy", "lane_gelu_x_sigma", "lane_gelu_requant"}
    assert all(roles[n] == 2 for n in roles if n.startswith("lane_gelu"))
    # attention lanes of their own
    roles = {r["function"]: r["count"]
             for r in allocation(plan.with_engine(6, 4, 4, 64, 2, att_lanes=3))}
    assert roles["lane_epi_requant"] == roles["lane_sm_factor"] == 3
    assert roles["lane_ln_norm"] == 4


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
    assert res["luts"] == res["luts_array"] + res["luts_lutram"] + helpers
    assert res["ffs_accumulators"] == 2 * 6 * 4 * res["datapath_widths"]["IVIT_W_ACC"]
