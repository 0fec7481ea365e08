"""Bad input to the HLS commands (one line, exit 2, nothing written) and Vitis command lines."""

from __future__ import annotations

import os
import stat
import warnings

import pytest

from ivit_hls import ir
from ivit_hls.cli import main
from ivit_hls.errors import IvitError
from ivit_hls.hls import HlsOptions, generate
from ivit_hls.hls.vitis import vitis_command


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_model("deit_tiny", depth=1, img_size=32, calib_random=1)
    base = tmp_path_factory.mktemp("cli")
    path = ir.save(model, base / "m.ivit")
    project = generate(model, base / "proj", HlsOptions(rows=2, cols=2))
    return model, path, project


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error" in line]
    assert len(errors) == 1, err
    return errors[0]


def test_unknown_model_lists_supported(tmp_path, capsys):
    assert main(["generate", "--model", "resnet50", "--out", str(tmp_path / "o")]) == 2
    line = _one_error_line(capsys)
    assert "resnet50" in line and "deit_s" in line and "deit_tiny" in line
    assert not (tmp_path / "o").exists()


def test_nonempty_out_without_force(small, tmp_path, capsys):
    _model, path, _project = small
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["generate", "--ivit", str(path), "--out", str(out), "--array", "2x2"]) == 2
    assert "--force" in _one_error_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine"
    assert main(["generate", "--ivit", str(path), "--out", str(out), "--array", "2x2",
                 "--force"]) == 0
    assert (out / "manifest.json").is_file() and not (out / "keep.txt").exists()


@pytest.mark.parametrize("array", ["64x2", "2x512", "0x4", "16", "axb"])
def test_unusable_array(small, tmp_path, capsys, array):
    _model, path, _project = small
    out = tmp_path / "o"
    assert main(["generate", "--ivit", str(path), "--out", str(out), "--array", array]) == 2
    assert "--array" in _one_error_line(capsys)
    assert not out.exists()
    assert [p for p in tmp_path.iterdir()] == []  # no temporary directory left either


def test_bad_clock_and_part(small, tmp_path, capsys):
    _model, path, _project = small
    assert main(["generate", "--ivit", str(path), "--out", str(tmp_path / "o"),
                 "--clock", "fast"]) == 2
    assert "--clock" in _one_error_line(capsys)
    assert main(["generate", "--ivit", str(path), "--out", str(tmp_path / "o"),
                 "--part", "not a part"]) == 2
    assert "--part" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_generate_batch(small, tmp_path, capsys):
    """--batch N sizes the buffers for N images and prices a batch; a bad N is one error line."""
    import json

    _model, path, _project = small
    assert main(["generate", "--ivit", str(path), "--out", str(tmp_path / "o"), "--array",
                 "2x2", "--batch", "0"]) == 2
    assert "--batch" in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()
    assert main(["generate", "--ivit", str(path), "--out", str(tmp_path / "o"), "--array",
                 "2x2", "--batch", "4"]) == 0
    assert "batch 4:" in capsys.readouterr().out
    assert "#define IVIT_MAX_BATCH 4" in (tmp_path / "o" / "src" / "ivit_top.h").read_text()
    est = json.loads((tmp_path / "o" / "reports" / "estimate.json").read_text())
    assert est["batch"]["images"] == 4
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["options"]["batch"] == 4


@pytest.mark.parametrize("args,flag", [
    (["--array", "4x4", "--lanes", "-1"], "--lanes"),
    (["--array", "4x4", "--attention-lanes", "-2"], "--attention-lanes"),
    (["--array", "4x4", "--drain", "0"], "--drain"),
    (["--array", "4x4", "--drain", "5"], "--drain"),
    (["--array", "4x6", "--lanes", "6"], "--lanes"),
    (["--array", "auto", "--drain", "2"], "--drain"),
    (["--array", "auto", "--helpers", "fabric"], "--helpers"),
    (["--array", "auto", "--im2col-words", "half"], "--im2col-words"),
    (["--array", "auto", "--ln-product", "whole"], "--ln-product"),
])
def test_generate_lane_flags_refused(small, tmp_path, capsys, args, flag):
    """A lane count outside 1..rows (a lane takes one row of a column), or lanes with --array
    auto (which picks its own): one error line naming the flag, nothing written."""
    _model, path, _project = small
    assert main(["generate", "--ivit", str(path), "--out", str(tmp_path / "o"), *args]) == 2
    assert flag in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_explore_prints_the_chosen_design_of_its_json(small, tmp_path, capsys):
    """explore writes explore.json (and the plot) and prints the Pareto rows with the helper
    binding, the im2col words and counted LUTs; its "chosen" line is the JSON's best design,
    and the sweep prices half-row im2col words only where they change the buffer."""
    import json

    _model, path, _project = small
    out = tmp_path / "x"
    assert main(["explore", "--ivit", str(path), "--part", "KV260", "--out", str(out),
                 "--top", "3"]) == 0
    text = capsys.readouterr().out.splitlines()
    data = json.loads((out / "explore.json").read_text())
    best = data["best"]
    header = text[1].split()
    assert header[:7] == ["array", "lanes", "epi", "att", "helpers", "im2col", "LN"]
    assert "LUT" in header
    assert len(text) == 2 + min(3, len(data["pareto"])) + 1
    chosen = (f"--array {best['rows']}x{best['cols']} --lanes {best['lanes']} --drain "
              f"{best['drain']} --attention-lanes {best['att_lanes']} --helpers "
              f"{best['helpers']} --im2col-words {best['im2col_words']} --ln-product "
              f"{best['ln_product']}")
    assert text[-1].startswith(f"chosen: {chosen}: {best['ms']:.3f} ms/image")
    row = text[2].split()
    assert row[4] in ("dsp", "vector-fabric", "fabric") and row[5] in ("row", "half")
    assert row[6] in ("split", "whole") and "." not in row[7]   # whole cycles
    assert {p["ln_product"] for p in data["points"]} == {"split", "whole"}
    tall = {p["rows"] for p in data["points"] if p["im2col_words"] == "half"}
    assert tall and all(r >= 5 for r in tall)     # 5 tokens: one token row a bank
    # the printed flags generate exactly that design
    project = tmp_path / "p"
    assert main(["generate", "--ivit", str(path), "--out", str(project), "--tb-images", "1",
                 "--part", "KV260", *chosen.split()]) == 0
    arr = json.loads((project / "reports" / "estimate.json").read_text())["array"]
    assert (arr["rows"], arr["cols"], arr["vector_lanes"], arr["epilogue_lanes"],
            arr["attention_lanes"]) == (best["rows"], best["cols"], best["lanes"],
                                        best["drain"], best["att_lanes"])
    params = (project / "src" / "ivit_params.h").read_text()
    assert f"#define IVIT_LN_SPLIT {int(best['ln_product'] == 'split')}\n" in params
    assert f"#define IVIT_IM2COL_HALF {int(best['im2col_words'] == 'half')}\n" in params
    est = json.loads((project / "reports" / "estimate.json").read_text())
    assert est["batch"]["cycles_per_image"] == best["cycles"]
    assert est["resources"]["dsp"] == best["dsp"] and est["resources"]["luts"] == best["luts"]


def test_range_analysis_failure(small, tmp_path, capsys):
    model, _path, _project = small
    import copy

    import numpy as np

    bad = copy.deepcopy(model)
    layer = next(l for l in bad.layers if l.kind == "linear")
    layer.params["bias"] = np.full_like(layer.params["bias"], 2**31 - 1)
    path = ir.save(bad, tmp_path / "bad.ivit")
    out = tmp_path / "o"
    assert main(["generate", "--ivit", str(path), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert layer.name in line or "overflow" in line.lower() or "exceed" in line.lower(), line
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ivit"]


def _stub(bindir, name):
    log = bindir / "calls.log"
    script = bindir / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\necho "$(pwd)" >> "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


@pytest.mark.parametrize("tools", [("v++", "vitis-run"), ("vitis_hls",)])
def test_vitis_commands_with_stub_tools(small, tmp_path, monkeypatch, capsys, tools):
    _model, _path, project = small
    for tool in tools:
        log = _stub(tmp_path, tool)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    for step in ("csim", "csynth", "cosim", "package"):
        assert main(["hls", str(project), "--step", step]) == 0
    calls = log.read_text().splitlines()
    cmds, cwds = calls[0::2], calls[1::2]
    assert all(os.path.samefile(c, project) for c in cwds)
    if tools[0] == "v++":
        config = "--config hls_config.cfg --work_dir ivit_hls_work"
        assert cmds == [f"vitis-run --mode hls --csim {config}", f"v++ -c --mode hls {config}",
                        f"vitis-run --mode hls --cosim {config}",
                        f"vitis-run --mode hls --package {config}"]
    else:
        assert cmds == [f"vitis_hls -f run_hls.tcl -tclargs {s}"
                        for s in ("csim", "csynth", "cosim", "package")]


def test_vitis_missing_tools(small, tmp_path, monkeypatch, capsys):
    _model, _path, project = small
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["hls", str(project), "--step", "csynth"]) == 2
    assert "no Vitis HLS tool" in _one_error_line(capsys)
    with pytest.raises(IvitError, match="no Vitis HLS tool"):
        vitis_command(project, "csynth")


def test_real_vitis_csim(small):
    import shutil

    if not (shutil.which("vitis-run") or shutil.which("vitis_hls")):
        pytest.skip("AMD Vitis is not installed on this machine")
    _model, _path, project = small
    assert main(["hls", str(project), "--step", "csim"]) == 0
