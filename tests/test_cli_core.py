"""quantize / info / predict from the command line, and their one-line errors."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ivit_hls import golden, ir
from ivit_hls.cli import main


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ivit_hls.cli", *args], capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "deit_tiny.ivit"
    assert main(["quantize", "--model", "deit_tiny", "--calib-random", "1", "--quiet",
                 "--out", str(out)]) == 0
    return out


def test_quantize_writes_a_checked_model_and_says_it_is_random(tmp_path):
    out = tmp_path / "m.ivit"
    res = _cli("quantize", "--model", "deit_tiny", "--calib-random", "1", "--quiet",
               "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "deterministic random init" in res.stderr
    model = ir.load(out)
    assert model.config["name"] == "deit_tiny" and model.config["depth"] == 12
    ir.ranges.check(model)
    # deterministic: a second run gives the same bytes
    again = tmp_path / "again.ivit"
    assert main(["quantize", "--model", "deit_tiny", "--calib-random", "1", "--quiet",
                 "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_info_lists_layers_widths_and_range_headroom(tiny_file, capsys):
    assert main(["info", str(tiny_file)]) == 0
    text = capsys.readouterr().out
    assert "blocks.11.mlp.gelu" in text and "shiftmax" in text
    assert "residual 16" in text and "all widths proven" in text
    # the tightest real margin, not the dyadic multiplier's fixed 0.0 bits
    headroom = float(text.split("least headroom ")[1].split(" bits")[0])
    assert headroom > 0


def test_predict_on_an_image_file_matches_the_golden_executor(tiny_file, tmp_path, capsys):
    rng = np.random.default_rng(0)
    img = tmp_path / "cat.png"
    Image.fromarray(rng.integers(0, 255, (300, 240, 3), dtype=np.uint8)).save(img)
    assert main(["predict", str(tiny_file), "--image", str(img), "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    from ivit_hls.preprocess import load_image

    model = ir.load(tiny_file)
    x = load_image(img, model.config["input"], 224, 3)[None]
    res = golden.run(model, golden.quantize_image(model, x))
    want = [int(c) for c in res.topk(3)[0]]
    got = [int(line.split("class")[1].split()[0]) for line in lines[1:4]]
    assert got == want


@pytest.mark.parametrize("args, message", [
    (["quantize", "--model", "resnet50", "--out", "x.ivit"], "unknown model 'resnet50'; supported: deit_tiny"),
    (["quantize", "--model", "deit_tiny", "--checkpoint", "missing.pt", "--out", "x.ivit"],
     "checkpoint missing.pt: no such file"),
    (["quantize", "--model", "deit_tiny", "--calib-random", "0", "--out", "x.ivit"], "N >= 1"),
    (["info", "missing.ivit"], "missing.ivit: no such file"),
    (["predict", "missing.ivit", "--random-image", "0"], "no such file"),
    (["quantize", "--model"], "expected one argument"),
])
def test_bad_input_is_one_line_with_exit_code_2(args, message, tmp_path):
    res = subprocess.run([sys.executable, "-m", "ivit_hls.cli", *args], capture_output=True,
                         text=True, cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.ivit").exists()


def test_existing_output_needs_force(tiny_file, tmp_path):
    out = tmp_path / "m.ivit"
    out.write_bytes(b"keep me")
    res = _cli("quantize", "--model", "deit_tiny", "--out", str(out))
    assert res.returncode == 2 and "--force" in res.stderr
    assert out.read_bytes() == b"keep me"


def test_unreadable_image_is_a_clear_error(tiny_file, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    res = _cli("predict", str(tiny_file), "--image", str(bad))
    assert res.returncode == 2 and "broken.png" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
