"""``ivit-hls train`` and ``ivit-hls eval`` end to end on a tiny generated ImageFolder.

A one-block DeiT-tiny at 32x32: PTQ at the start, a 2-epoch QAT job stopped after epoch 1 and
resumed equals the uninterrupted job byte for byte; eval scores the QAT checkpoint (torch)
and the exported file (numpy golden) identically, and PTQ from float weights; bad input exits
2 with one line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ivit_hls import golden, ir
from ivit_hls.cli import main

SMALL = ["--model", "deit_tiny", "--depth", "1", "--img-size", "32", "--workers", "0",
         "--quiet"]
TRAIN = ["--batch-size", "4", "--calib", "4", "--lr", "1e-4", "--epochs", "2"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """3 classes x 4 images (40x48 PNG, a class colour plus noise)."""
    root = tmp_path_factory.mktemp("data") / "train"
    rng = np.random.default_rng(0)
    for c, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        d = root / f"class_{c}"
        d.mkdir(parents=True)
        for i in range(4):
            px = np.clip(np.array(colour) + rng.normal(0, 40, (40, 48, 3)), 0, 255)
            Image.fromarray(px.astype(np.uint8)).save(d / f"img{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory):
    """(sliced-and-resumed out dir, uninterrupted out dir)."""
    base = tmp_path_factory.mktemp("runs")
    sliced, straight = base / "sliced", base / "straight"
    common = ["train", *SMALL, *TRAIN, "--data", str(folder), "--val", str(folder)]
    assert main([*common, "--out-dir", str(sliced), "--stop-after-epoch", "1"]) == 0
    assert torch.load(sliced / "qat.pt", weights_only=False)["epoch"] == 1
    assert (sliced / "ptq.ivit").is_file() and not (sliced / "model.ivit").exists()
    assert main([*common, "--out-dir", str(sliced)]) == 0           # resumes: epoch 2
    assert main([*common, "--out-dir", str(straight)]) == 0
    return sliced, straight


def test_train_resume_equals_uninterrupted_and_reports_fp32_ptq_qat(trained):
    sliced, straight = trained
    assert torch.load(sliced / "qat.pt", weights_only=False)["epoch"] == 2
    assert (sliced / "model.ivit").read_bytes() == (straight / "model.ivit").read_bytes()
    assert (sliced / "model.ivit").read_bytes() != (sliced / "ptq.ivit").read_bytes()
    result = json.loads((sliced / "result.json").read_text())
    assert set(result["val"]) == {"fp32", "integer (PTQ)", "fp32 (QAT weights)",
                                  "integer (QAT)"}
    assert all(r["images"] == 12 for r in result["val"].values())
    assert [r["done"] for r in result["epochs_run"]] == [1, 2]
    assert result["recipe"]["weight_decay"] == 1e-4 and result["recipe"]["smoothing"] == 0.1


def _golden_top1(model, folder) -> float:
    """Top-1 of the integer file computed here: timm's eval transform, golden numpy model."""
    from ivit_hls.qat.evaluate import InputSpec, image_folder

    c = model.config
    ds = image_folder(folder, InputSpec.of(c["img_size"], c["in_chans"], c["input"]))
    images = np.stack([ds[i][0].numpy() for i in range(len(ds))])
    labels = np.array([ds[i][1] for i in range(len(ds))])
    res = golden.run(model, golden.quantize_image(model, images))
    return 100.0 * float(np.mean(res.topk(1)[:, 0] == labels))


def test_eval_qat_checkpoint_and_file_agree(trained, folder, tmp_path):
    sliced, _ = trained
    out = tmp_path / "eval.json"
    assert main(["eval", *SMALL, "--checkpoint", str(sliced / "qat.pt"), "--ivit",
                 str(sliced / "model.ivit"), "--data", str(folder), "--batch-size", "5",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    models = res["models"]
    assert set(models) == {"fp32", "integer (QAT)", "integer (file, golden)"}
    # the torch QAT module and the numpy golden model compute the same integers
    assert res["agreement"]["integer (QAT) vs integer (file, golden)"] == 100.0
    assert models["integer (QAT)"] == models["integer (file, golden)"]
    want = _golden_top1(ir.load(sliced / "model.ivit"), folder)
    assert models["integer (file, golden)"]["top1"] == pytest.approx(want, abs=1e-9)
    assert models["fp32"]["images"] == 12


def test_eval_ptq_from_float_weights(folder, tmp_path, capsys):
    import timm

    torch.manual_seed(5)
    fp = timm.create_model("deit_tiny_patch16_224", pretrained=False, depth=1, img_size=32)
    torch.save(fp.state_dict(), tmp_path / "float.pth")
    assert main(["eval", *SMALL, "--checkpoint", str(tmp_path / "float.pth"), "--data",
                 str(folder), "--calib", "3", "--limit", "7"]) == 0
    text = capsys.readouterr().out
    assert "integer (PTQ)" in text and "argmax agreement fp32 vs integer (PTQ)" in text
    assert text.count("      7") == 2  # both rows scored the 7 images


@pytest.mark.parametrize("argv, message", [
    (["eval", "--data", "."], "give --checkpoint"),
    (["eval", "--ivit", "x.ivit", "--data", "/nonexistent-dir"], "x.ivit"),
    (["train", "--model", "deit_tiny", "--data", "d", "--out-dir", "o", "--smoothing", "1"],
     "--smoothing 1"),
    (["train", "--model", "nope", "--data", "d", "--out-dir", "o"], "unknown model"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_eval_refuses_a_folder_with_too_many_classes(trained, tmp_path, capsys):
    sliced, _ = trained
    for c in range(1001):
        (tmp_path / f"c{c:04d}").mkdir()
    assert main(["eval", "--ivit", str(sliced / "model.ivit"), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "a class folder holds no image" in err and err.count("\n") == 1
    for c in range(1001):
        Image.new("RGB", (8, 8)).save(tmp_path / f"c{c:04d}" / "a.png")
    assert main(["eval", "--ivit", str(sliced / "model.ivit"), "--data", str(tmp_path)]) == 2
    assert "1001 class folders" in capsys.readouterr().err
