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


def test_count_cells_groups_by_family():
    cells = {"LUT6": 3, "LUT2": 2, "FDRE": 5, "DSP48E2": 1, "RAMB36E2": 2, "CARRY8": 1}
    assert synth.count_cells(cells, "xcup") == {"LUT": 5, "FF": 5, "DSP": 1, "BRAM": 2,
                                                "LUTRAM": 0, "CARRY": 1}
    assert synth.count_cells({"LUT4": 7, "TRELLIS_FF": 4, "MULT18X18D": 2}, "ecp5")["DSP"] == 2


def test_bad_arguments_exit_2(capsys):
    assert cli.main(["synth-report", "--unit", "nope"]) == 2
    assert "unknown unit" in capsys.readouterr().err
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
