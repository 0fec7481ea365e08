"""``ivit-hls synth-report``: script construction always, a real Yosys run on one small unit."""

from __future__ import annotations

import pytest

from ivit_hls import cli
from ivit_hls.rtl import synth

def test_script_names_top_params_and_family():
    s = synth.yosys_script("ivit_requant", {"LANES": 2}, "xc7")
    assert "hierarchy -top ivit_requant -chparam LANES 2" in s
    assert "synth_xilinx -family xc7 -flatten -top ivit_requant" in s
    assert "synth_ecp5 -top ivit_shiftexp" in synth.yosys_script("ivit_shiftexp", {}, "ecp5")


def test_script_nodsp_and_only_the_needed_files():
    s = synth.yosys_script("ivit_gelu_shift", {}, "xcup", nodsp=True)
    assert "synth_xilinx -family xcup -flatten -nodsp -top ivit_gelu_shift" in s
    assert "-nodsp" not in synth.yosys_script("ivit_gelu_shift", {}, "xcup")
    names = [p.stem for p in synth.unit_sources("ivit_shiftmax")]
    assert names == ["ivit_delay", "ivit_divseq", "ivit_pipe_ctrl", "ivit_shiftexp_lane",
                     "ivit_shiftmax"]
    assert [p.stem for p in synth.unit_sources("ivit_gelu_table")] == ["ivit_gelu_table",
                                                                       "ivit_pipe_ctrl"]
    with pytest.raises(Exception, match="no RTL file"):
        synth.unit_sources("ivit_nope")


def test_report_pairs_every_shift_unit_with_its_ibert_counterpart():
    labels = {label for label, _, _ in synth.REPORT_UNITS}
    for label in synth.NODSP_UNITS:
        assert label in labels
    reports = [synth.UnitReport(label, top, p, "xcup", {c: i + 1 for i, c in enumerate(
        ["LUT", "FF", "DSP", "BRAM", "LUTRAM", "CARRY"])}) for label, top, p in synth.REPORT_UNITS]
    nodsp = [synth.UnitReport(r.label, r.top, r.params, "xcup", dict(r.counts, DSP=0), nodsp=True)
             for r in reports if r.label in synth.NODSP_UNITS]
    md = synth.markdown(reports, [], "xcup", "cmd", nodsp)
    assert "## With DSPs disabled" in md
    assert "ShiftGELU x4 (shift) vs I-BERT i-GELU x4" in md and "without DSPs LUT" in md


def test_count_cells_groups_by_family():
    cells = {"LUT6": 3, "LUT2": 2, "FDRE": 5, "DSP48E2": 1, "RAMB36E2": 2, "CARRY8": 1}
    assert synth.count_cells(cells, "xcup") == {"LUT": 5, "FF": 5, "DSP": 1, "BRAM": 2,
                                                "LUTRAM": 0, "CARRY": 1}
    assert synth.count_cells({"LUT4": 7, "TRELLIS_FF": 4, "MULT18X18D": 2}, "ecp5")["DSP"] == 2


def test_bad_arguments_exit_2(capsys):
    assert cli.main(["synth-report", "--unit", "nope"]) == 2
    assert "unknown unit" in capsys.readouterr().err
    assert cli.main(["synth-report", "--family", "ecp5", "--nodsp"]) == 2
    assert "--nodsp" in capsys.readouterr().err
    assert cli.main(["synth-report", "--unit", "ivit_requant", "--param", "LANES"]) == 2


@pytest.mark.usefixtures("require_yosys")
def test_synth_report_runs_on_requant(tmp_path):
    out = tmp_path / "synth.md"
    rc = cli.main(["synth-report", "--unit", "ivit_requant", "--param", "LANES=1",
                   "--out", str(out)])
    assert rc == 0
    rows = [ln for ln in out.read_text().splitlines() if ln.startswith("| requant")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    lut, ff, dsp = int(cells[3]), int(cells[4]), int(cells[5])
    assert lut > 0 and ff > 0 and dsp > 0   # a 32x32 multiplier maps to DSP blocks
