"""LUT cost of fabric multipliers: the generated Verilog and Yosys script, the calibrated
formula against the recorded Yosys runs, and one real Yosys run (8 x 8)."""

from __future__ import annotations

import re

import pytest

from ivit_hls.perf import fabric_mul as fm


@pytest.fixture(scope="module")
def data():
    return fm.load()


def test_verilog_has_registered_ports_of_the_right_widths():
    text = fm.verilog(9, 22)
    assert text.startswith("module fabric_mul_9x22 (")
    ports = dict((name, (kind, width)) for kind, width, name in re.findall(
        r"(input|output)\s+(?:wire|reg)\s+(?:signed\s+)?(?:\[(\d+):0\]\s*)?(\w+)", text))
    assert ports == {"clk": ("input", ""), "a": ("input", "8"), "b": ("input", "21"),
                     "p": ("output", "30")}
    assert "output reg  signed [30:0] p" in text          # the full a + b-bit product
    assert "p <= ra * rb;" in text and "ra <= a;" in text and "rb <= b;" in text
    with pytest.raises(Exception, match="positive"):
        fm.verilog(0, 8)


def test_script_is_synth_xilinx_xcup_flat_without_dsp():
    s = fm.yosys_script(9, 22)
    assert s.startswith("read_verilog m.v; hierarchy -top fabric_mul_9x22; ")
    assert "synth_xilinx -family xcup -flatten -nodsp -noiopad -top fabric_mul_9x22" in s
    assert s.endswith("tee -q -o stat.json stat -json")
    assert "booth" not in s
    assert "; proc; booth; synth_xilinx" in fm.yosys_script(9, 22, flow="booth")
    with pytest.raises(Exception, match="unknown flow"):
        fm.yosys_script(8, 8, flow="abc")


def test_count_groups_luts_carries_and_flops():
    cells = {"LUT2": 3, "LUT6": 4, "LUT1": 1, "CARRY4": 2, "CARRY8": 1, "FDRE": 16, "BUFG": 1,
             "MUXF7": 2}
    assert fm.count(cells) == {"LUT": 8, "CARRY": 3, "FF": 16}


def test_record_covers_every_engine_width_in_both_flows(data):
    have = {(p["a"], p["b"], p["flow"]) for p in data["points"]}
    for flow in fm.FLOWS:
        for a, b in fm.WIDTHS:
            assert (a, b, flow) in have
    for p in data["points"]:
        assert p["FF"] == 2 * (p["a"] + p["b"])   # operands and product registered, no more
        assert p["LUT"] > 0 and p["CARRY"] > 0
    assert data["yosys"].startswith("Yosys ")
    assert "synth_xilinx -family xcup -flatten -nodsp" in data["script"]


def test_module_coefficients_are_the_recorded_fit(data):
    f = data["fit"]["default"]
    assert f["form"] == fm.FORM
    assert (fm.ALPHA, fm.BETA_MIN, fm.BETA_MAX, fm.GAMMA) == (
        f["alpha"], f["beta_min"], f["beta_max"], f["gamma"])
    points = [p for p in data["points"] if p["flow"] == "default"]
    assert fm.fit(points) == f   # the recorded fit is the fit of the recorded points


def test_calibrated_luts_reproduce_every_recorded_point(data):
    for p in data["points"]:
        if p["flow"] != "default":
            continue
        got = fm.calibrated_mul_luts(p["a"], p["b"])
        assert abs(got - p["LUT"]) <= fm.TOLERANCE * p["LUT"], (p["a"], p["b"], got, p["LUT"])
    assert fm.calibrated_mul_luts(24, 32) == fm.calibrated_mul_luts(32, 24)
    with pytest.raises(Exception, match="positive"):
        fm.calibrated_mul_luts(0, 8)


def test_results_page_is_rendered_from_the_record(data):
    assert fm.DOC_FILE.read_text() == fm.markdown(data)


def test_yosys_counts_the_recorded_8x8(data, require_yosys, tmp_path):
    got = fm.measure(8, 8, workdir=tmp_path)
    rec = next(p for p in data["points"] if (p["a"], p["b"], p["flow"]) == (8, 8, "default"))
    assert (got["LUT"], got["CARRY"], got["FF"]) == (rec["LUT"], rec["CARRY"], rec["FF"])
