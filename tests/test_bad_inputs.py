"""A corpus of bad inputs to every command of both command lines, generated here (no
checked-in binaries): each must end with exit code 2, exactly one line on stderr naming the
cause, no traceback, and no new (or changed) file or folder in the folder it ran in. Valid
inputs beside them must still work.

Classes: the integer model file's structure, range analysis before running a model, projects
that no longer match their manifest, checkpoints, seeds, image files, label files, xclbins,
output folders and plain bad options.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from ivit_hls import ir
from ivit_hls.cli import main as hls_main
from ivit_hls.hls import HlsOptions, generate
from ivit_host.cli import main as host_main

from test_host_xclbin import make_xclbin


# --- generated inputs ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One small valid model, its file, a generated project and an image file."""
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_model("deit_tiny", depth=1, img_size=32, calib_random=1)
    root = tmp_path_factory.mktemp("corpus")
    path = ir.save(model, root / "m.ivit")
    project = generate(model, root / "proj", HlsOptions(rows=2, cols=2, tb_images=2))
    image = root / "cat.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(image)
    return SimpleNamespace(model=model, ivit=path, project=project, image=image, root=root)


def rewrite_ivit(src: Path, dst: Path, edit: Callable[[dict, dict], object]) -> Path:
    """Copy an .ivit archive, letting ``edit(manifest, blobs)`` change its JSON and arrays
    (it may return a replacement manifest of any JSON type)."""
    with zipfile.ZipFile(src) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        blobs = {n: zf.read(n) for n in zf.namelist() if n != "manifest.json"}
    replaced = edit(manifest, blobs)
    manifest = manifest if replaced is None else replaced
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in blobs.items():
            zf.writestr(name, data)
    return dst


def _reshaped_weight(manifest: dict, blobs: dict) -> None:
    """A linear layer's weight one row short, its checksum, dtype and shape updated to match."""
    layer = next(l for l in manifest["layers"] if l["kind"] == "linear")
    rec = layer["params"]["weight"]
    arr = np.lib.format.read_array(io.BytesIO(blobs[rec["file"]]))[:-1]
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr))
    blobs[rec["file"]] = buf.getvalue()
    rec.update(shape=list(arr.shape), sha256=hashlib.sha256(buf.getvalue()).hexdigest())


def _wrong_attr_type(manifest: dict, _blobs: dict) -> None:
    layer = next(l for l in manifest["layers"] if isinstance(l["attrs"].get("out_bits"), int))
    layer["attrs"]["out_bits"] = "eight"


MODEL_FILE_EDITS = {
    "manifest-json-list": lambda m, b: [m],
    "empty-config": lambda m, b: m.update(config={}),
    "empty-layers": lambda m, b: m.update(layers=[]),
    "attr-wrong-type": _wrong_attr_type,
    "array-shape-vs-graph": _reshaped_weight,
    "format-version-0": lambda m, b: m.update(version=0),
    "format-version-negative": lambda m, b: m.update(version=-3),
}


def overflowing_model(base, work: Path) -> Path:
    """A well-formed model file whose biases overflow the int32 accumulators."""
    import copy

    bad = copy.deepcopy(base.model)
    layer = next(l for l in bad.layers if l.kind == "linear")
    layer.params["bias"] = np.full_like(layer.params["bias"], 2**31 - 1)
    return ir.save(bad, work / "overflow.ivit")


def copy_project(base, work: Path, name: str = "p") -> Path:
    out = work / name
    shutil.copytree(base.project, out, ignore=shutil.ignore_patterns("build"))
    return out


def edit_manifest(project: Path, edit: Callable[[dict], None]) -> None:
    """Change a project's manifest.json (keeping its seal: the edit must be detected)."""
    data = json.loads((project / "manifest.json").read_text())
    edit(data)
    (project / "manifest.json").write_text(json.dumps(data, indent=1, sort_keys=True))


def bomb_png(path: Path, side: int = 30000) -> Path:
    """A tiny PNG whose header claims ``side`` x ``side`` pixels (a decompression bomb)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    struct.pack_into(">II", data, ihdr + 4, side, side)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF
    struct.pack_into(">I", data, ihdr + 17, crc)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """deit_tiny state dicts: good, NaN, all zeros, another model's; and non-dicts."""
    import timm
    import torch

    d = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    state = timm.create_model("deit_tiny_patch16_224").state_dict()
    paths = {}

    def save(name, obj):
        paths[name] = d / f"{name}.pt"
        torch.save(obj, paths[name])

    save("good", state)
    nan = {k: v.clone() for k, v in state.items()}
    nan["blocks.0.attn.qkv.weight"][0, 0] = float("nan")
    save("nan", nan)
    inf = {k: v.clone() for k, v in state.items()}
    inf["head.bias"][3] = float("inf")
    save("inf", inf)
    save("zeros", {k: torch.zeros_like(v) for k, v in state.items()})
    other = {k: v for k, v in state.items() if not k.startswith("head.")}
    other["head.weight"], other["head.bias"] = torch.zeros(10, 192), torch.zeros(10)
    save("other-model", other)
    save("tensor", torch.zeros(3))
    save("list", [torch.zeros(3)])
    save("empty-dict", {})
    paths["empty-file"] = d / "empty.pt"
    paths["empty-file"].write_bytes(b"")
    paths["garbage"] = d / "garbage.pt"
    paths["garbage"].write_bytes(b"\x00not a checkpoint" * 10)
    return paths


# --- the corpus ------------------------------------------------------------------------------
@dataclass
class Case:
    """``make(base, work, ckpt) -> argv``; ``cli``: "hls" or "host"; ``message``: a piece of
    the one error line; ``env``: variables set for the run."""

    id: str
    make: Callable
    message: str
    cli: str = "hls"
    env: dict | None = None
    known_bug: str | None = None  # strict xfail: passes again the day the bug is fixed


def _cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    # integer model file structure: every command that reads one
    for name, edit in MODEL_FILE_EDITS.items():
        def ivit(b, w, _c, edit=edit, name=name):
            return str(rewrite_ivit(b.ivit, w / f"{name}.ivit", edit))
        add(Case(f"info-{name}", lambda b, w, k, f=ivit: ["info", f(b, w, k)], ".ivit"))
        add(Case(f"predict-{name}", lambda b, w, k, f=ivit: ["predict", f(b, w, k),
                                                             "--random-image", "0"], ".ivit"))
        add(Case(f"generate-{name}", lambda b, w, k, f=ivit: ["generate", "--ivit", f(b, w, k),
                                                              "--out", "o"], ".ivit"))
    for cmd in (["info"], ["predict", "--random-image", "0"]):
        add(Case(f"{cmd[0]}-empty-file", lambda b, w, k, cmd=cmd: [
            cmd[0], _write(w / "e.ivit", b""), *cmd[1:]], "e.ivit"))
        add(Case(f"{cmd[0]}-random-bytes", lambda b, w, k, cmd=cmd: [
            cmd[0], _write(w / "r.ivit", os.urandom(300)), *cmd[1:]], "r.ivit"))
        add(Case(f"{cmd[0]}-a-directory", lambda b, w, k, cmd=cmd: [cmd[0], str(w), *cmd[1:]],
                 "no such file"))
        add(Case(f"{cmd[0]}-missing", lambda b, w, k, cmd=cmd: [cmd[0], "none.ivit", *cmd[1:]],
                 "none.ivit"))
    # range analysis before running a model
    add(Case("predict-overflowing-model", lambda b, w, k: [
        "predict", str(overflowing_model(b, w)), "--random-image", "0"], "accumulator"))
    add(Case("predict-top-0", lambda b, w, k: ["predict", str(b.ivit), "--random-image", "0",
                                               "--top", "0"], "--top"))
    add(Case("predict-negative-image-seed", lambda b, w, k: [
        "predict", str(b.ivit), "--random-image", "-1"], "seed"))
    # images
    for name, make in (("bomb", lambda w: bomb_png(w / "bomb.png")),
                       ("truncated", lambda w: _write(w / "t.png", b"\x89PNG\r\n\x1a\n\0\0")),
                       ("directory", lambda w: str(w))):
        add(Case(f"predict-image-{name}", lambda b, w, k, make=make: [
            "predict", str(b.ivit), "--image", str(make(w))], "image"))
        add(Case(f"host-run-image-{name}", lambda b, w, k, make=make: [
            "run", "--project", str(b.project), "--images", str(make(w))], "image", cli="host"))
    add(Case("quantize-calib-dir-bomb", lambda b, w, k: [
        "quantize", "--model", "deit_tiny", "--calib-dir", _bomb_dir(w), "--out", "m.ivit"],
        "bomb.png"))
    add(Case("quantize-calib-dir-empty", lambda b, w, k: [
        "quantize", "--model", "deit_tiny", "--calib-dir", _mkdir(w / "none"), "--out", "m.ivit"],
        "no image files"))
    # checkpoints, for quantize and generate
    for name, message in (("empty-file", "empty"), ("garbage", "unreadable"),
                          ("tensor", "holds a Tensor"), ("list", "holds a list"),
                          ("empty-dict", "empty state dict"), ("nan", "NaN or Inf"),
                          ("inf", "NaN or Inf"), ("zeros", "all zeros"),
                          ("other-model", "head.weight is [10, 192]")):
        add(Case(f"quantize-checkpoint-{name}", lambda b, w, k, name=name: [
            "quantize", "--model", "deit_tiny", "--checkpoint", str(k[name]), "--out", "m.ivit"],
            message))
        add(Case(f"generate-checkpoint-{name}", lambda b, w, k, name=name: [
            "generate", "--model", "deit_tiny", "--checkpoint", str(k[name]), "--out", "o"],
            message))
    add(Case("quantize-checkpoint-directory", lambda b, w, k: [
        "quantize", "--model", "deit_tiny", "--checkpoint", str(w), "--out", "m.ivit"],
        "no such file"))
    # seeds and counts
    add(Case("quantize-huge-seed", lambda b, w, k: [
        "quantize", "--model", "deit_tiny", "--seed", str(10**30), "--out", "m.ivit"], "--seed"))
    add(Case("generate-negative-seed", lambda b, w, k: [
        "generate", "--model", "deit_tiny", "--seed", "-1", "--out", "o"], "--seed"))
    add(Case("generate-seed-with-ivit", lambda b, w, k: [
        "generate", "--ivit", str(b.ivit), "--seed", "5", "--out", "o"], "--seed"))
    add(Case("quantize-calib-random-0", lambda b, w, k: [
        "quantize", "--model", "deit_tiny", "--calib-random", "0", "--out", "m.ivit"], "N >= 1"))
    add(Case("quantize-calib-random-huge", lambda b, w, k: [
        "quantize", "--model", "deit_tiny", "--calib-random", "100000000", "--out", "m.ivit"],
        "at most"))
    add(Case("quantize-unknown-model", lambda b, w, k: [
        "quantize", "--model", "resnet50", "--out", "m.ivit"], "unknown model"))
    add(Case("quantize-out-is-a-directory", lambda b, w, k: [
        "quantize", "--model", "deit_tiny", "--out", _mkdir(w / "d")], "is a directory"))
    for n in ("0", "-2", "100000"):
        add(Case(f"generate-tb-images-{n}", lambda b, w, k, n=n: [
            "generate", "--ivit", str(b.ivit), "--tb-images", n, "--out", "o"], "--tb-images"))
    for arg, value in (("--array", "0x4"), ("--array", "4"), ("--clock", "fast"),
                       ("--clock", "0MHz"), ("--part", "nope")):
        add(Case(f"generate-{arg[2:]}-{value}", lambda b, w, k, arg=arg, value=value: [
            "generate", "--ivit", str(b.ivit), arg, value, "--out", "o"], arg))
    add(Case("generate-unknown-model", lambda b, w, k: [
        "generate", "--model", "resnet50", "--out", "o"], "unknown model"))
    add(Case("generate-missing-ivit", lambda b, w, k: [
        "generate", "--ivit", "none.ivit", "--out", "o"], "none.ivit"))
    # output folders
    add(Case("generate-out-dot-force", lambda b, w, k: [
        "generate", "--ivit", _keep(b.ivit, w), "--out", ".", "--force"], "current directory"))
    add(Case("generate-out-nonempty", lambda b, w, k: [
        "generate", "--ivit", _keep(b.ivit, w), "--out", "."], "--force"))
    add(Case("generate-out-is-a-file", lambda b, w, k: [
        "generate", "--ivit", str(b.ivit), "--out", _write(w / "f", b"x")], "not a directory"))
    add(Case("generate-out-under-a-file", lambda b, w, k: [
        "generate", "--ivit", str(b.ivit), "--out", str(Path(_write(w / "f", b"x")) / "o")],
        "not a directory"))
    # projects that no longer match their manifest: csim, hls, host run/check
    proj_edits = {
        "weights-appended": (lambda p: _append(p / "data" / "weights.bin", b"\0" * 8),
                             "weights.bin has 8 bytes more"),
        "weights-truncated": (lambda p: _truncate(p / "data" / "weights.bin", 100),
                              "weights.bin is truncated"),
        "weights-missing": (lambda p: (p / "data" / "weights.bin").unlink(),
                            "weights.bin listed in manifest.json is missing"),
        "weights-flipped": (lambda p: _flip(p / "data" / "weights.bin"),
                            "weights.bin does not match"),
        "tb-images-truncated": (lambda p: _truncate(p / "data" / "tb_images.bin", 10),
                                "tb_images.bin is truncated"),
        "source-edited": (lambda p: _append(p / "src" / "ivit_top.cpp", b"// x\n"),
                          "ivit_top.cpp does not match"),
        "manifest-hash-edited": (lambda p: edit_manifest(p, lambda d: d["files"].update(
            {"data/weights.bin": "0" * 64})), "edited after generation"),
        "manifest-size-edited": (lambda p: edit_manifest(p, lambda d: d["weights"].update(
            bytes=d["weights"]["bytes"] + 8)), "edited after generation"),
        "manifest-scale-edited": (lambda p: edit_manifest(p, lambda d: d["model"]["config"][
            "input"].update(scale=d["model"]["config"]["input"]["scale"] * 2)),
            "edited after generation"),
        "manifest-mean-edited": (lambda p: edit_manifest(p, lambda d: d["model"]["config"][
            "input"].update(mean=[0.5, 0.5, 0.5])), "edited after generation"),
        "manifest-unsealed": (lambda p: edit_manifest(p, lambda d: d.pop("manifest_sha256")),
                              "no seal"),
        "manifest-json-list": (lambda p: (p / "manifest.json").write_text("[1, 2]"),
                               "not an ivit-hls manifest"),
        "manifest-not-json": (lambda p: (p / "manifest.json").write_text("{nope"),
                              "not valid JSON"),
        "manifest-missing": (lambda p: (p / "manifest.json").unlink(), "no manifest.json"),
    }
    for name, (edit, message) in proj_edits.items():
        def proj(b, w, edit=edit):
            p = copy_project(b, w)
            edit(p)
            return str(p)
        add(Case(f"csim-{name}", lambda b, w, k, f=proj: ["csim", f(b, w)], message))
        add(Case(f"host-run-{name}", lambda b, w, k, f=proj: [
            "run", "--project", f(b, w), "--images", str(b.image)], message, cli="host"))
        if name.startswith("manifest") or name == "weights-flipped":
            add(Case(f"host-check-{name}", lambda b, w, k, f=proj: [
                "check", "--project", f(b, w)], message, cli="host"))
    add(Case("hls-edited-source", lambda b, w, k: [
        "hls", _edited_source(b, w), "--step", "csynth"], "does not match"))
    add(Case("hls-not-a-project", lambda b, w, k: ["hls", str(w), "--dry-run"],
             "no manifest.json"))
    for n in ("0", "-1", "3"):
        add(Case(f"csim-images-{n}", lambda b, w, k, n=n: [
            "csim", copy_project(b, w).as_posix(), "--images", n], "--images"))
    add(Case("csim-compiler-missing", lambda b, w, k: ["csim", copy_project(b, w).as_posix()],
             "not found on PATH", env={"CXX": "no-such-compiler-ivit"}))
    add(Case("csim-compiler-fails", lambda b, w, k: [
        "csim", copy_project(b, w).as_posix()], "error: the compiler said no",
        env={"CXX": "@stub"}))
    add(Case("host-run-compiler-fails", lambda b, w, k: [
        "run", "--project", copy_project(b, w).as_posix(), "--images", str(b.image)],
        "error: the compiler said no", cli="host", env={"CXX": "@stub"}))
    # labels and host options
    add(Case("host-run-labels-not-utf8", lambda b, w, k: [
        "run", "--project", str(b.project), "--images", str(b.image), "--labels",
        _write(w / "l.txt", b"\xff\xfe\xfa cat\n" * 1000)], "not UTF-8", cli="host"))
    add(Case("hls-run-labels-not-utf8", lambda b, w, k: [
        "run", "--project", str(b.project), "--images", str(b.image), "--labels",
        _write(w / "l.txt", b"\xff\xfe\xfa cat\n" * 1000)], "not UTF-8"))
    add(Case("host-run-labels-too-few", lambda b, w, k: [
        "run", "--project", str(b.project), "--images", str(b.image), "--labels",
        _write(w / "l.txt", b"cat\ndog\n")], "2 names", cli="host"))
    add(Case("host-run-labels-directory", lambda b, w, k: [
        "run", "--project", str(b.project), "--images", str(b.image), "--labels", str(w)],
        "labels", cli="host"))
    for opt, value in (("--top", "0"), ("--batch", "0"), ("--device", "-1")):
        add(Case(f"host-run{opt}-{value}", lambda b, w, k, opt=opt, value=value: [
            "run", "--project", str(b.project), "--images", str(b.image), opt, value], opt,
            cli="host"))
    add(Case("host-run-missing-project", lambda b, w, k: [
        "run", "--project", "nowhere", "--images", str(b.image)], "no such directory",
        cli="host"))
    # xclbins
    for name, body in (("empty", b""), ("short", b"\x01\x00\x00"),
                       ("count-past-end", struct.pack("<i4x", 5))):
        add(Case(f"host-check-ip-layout-{name}", lambda b, w, k, body=body: [
            "check", "--project", str(b.project), "--xclbin",
            str(make_xclbin(w / "k.xclbin", ip_layout=body, metadata=False))], "IP_LAYOUT",
            cli="host"))
        add(Case(f"host-run-ip-layout-{name}", lambda b, w, k, body=body: [
            "run", "--project", str(b.project), "--backend", "xrt", "--images", str(b.image),
            "--xclbin", str(make_xclbin(w / "k.xclbin", ip_layout=body, metadata=False))],
            "IP_LAYOUT", cli="host"))
    add(Case("host-check-not-an-xclbin", lambda b, w, k: [
        "check", "--project", str(b.project), "--xclbin", _write(w / "k.xclbin", b"x" * 600)],
        "bad magic", cli="host"))
    # the other commands: a missing or malformed input each
    for cmd in (["rtl-sim"], ["explore", "--ivit"], ["eval", "--data", ".", "--ivit"]):
        add(Case(f"{cmd[0]}-missing-ivit", lambda b, w, k, cmd=cmd: [*cmd, "none.ivit"],
                 "none.ivit"))
        add(Case(f"{cmd[0]}-manifest-json-list", lambda b, w, k, cmd=cmd: [
            *cmd, str(rewrite_ivit(b.ivit, w / "l.ivit", lambda m, _b: [m]))], "l.ivit"))
    add(Case("rtl-sim-array-0", lambda b, w, k: ["rtl-sim", str(b.ivit), "--array", "0"], "N"))
    add(Case("explore-huge-seed", lambda b, w, k: [
        "explore", "--model", "deit_tiny", "--seed", str(10**30)], "--seed"))
    add(Case("rtl-sim-negative-seed", lambda b, w, k: ["rtl-sim", str(b.ivit), "--seed", "-5"],
             "--seed"))
    add(Case("explore-unknown-model", lambda b, w, k: ["explore", "--model", "resnet50"],
             "unknown model"))
    add(Case("train-no-data", lambda b, w, k: [
        "train", "--model", "deit_tiny", "--data", "nowhere", "--out-dir", "o"], "nowhere"))
    add(Case("train-negative-epochs", lambda b, w, k: [
        "train", "--model", "deit_tiny", "--data", _mkdir(w / "data"), "--out-dir", "o",
        "--epochs", "-1"], "--epochs"))
    # plain usage errors (argparse): one line, exit 2
    add(Case("hls-no-command", lambda b, w, k: [], "required"))
    add(Case("hls-unknown-command", lambda b, w, k: ["frobnicate"], "invalid choice"))
    add(Case("hls-bad-int", lambda b, w, k: ["csim", "x", "--images", "many"], "invalid int"))
    add(Case("host-no-command", lambda b, w, k: [], "required", cli="host"))
    add(Case("synth-report-bad-param", lambda b, w, k: [
        "synth-report", "--unit", "ivit_requant", "--param", "nonsense", "--out",
        str(w / "s.md")], "--param"))
    return c


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _mkdir(path: Path) -> str:
    path.mkdir()
    return str(path)


def _keep(ivit: Path, work: Path) -> str:
    """A model file inside the work folder (so that it is not empty)."""
    dst = work / "m.ivit"
    shutil.copy(ivit, dst)
    return str(dst)


def _bomb_dir(work: Path) -> str:
    d = work / "calib"
    d.mkdir()
    bomb_png(d / "bomb.png")
    return str(d)


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def _truncate(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def _flip(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x10
    path.write_bytes(bytes(blob))


def _edited_source(base, work: Path) -> str:
    p = copy_project(base, work)
    _append(p / "src" / "ivit_top.cpp", b"// x\n")
    return str(p)


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``root`` (hidden ones too) with the files' contents."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).digest()
    return out


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, base, checkpoints, tmp_path, monkeypatch, capsys, request):
    if case.known_bug:
        request.applymarker(pytest.mark.xfail(strict=True, reason=case.known_bug))
    work = tmp_path / "work"
    work.mkdir()
    for key, value in (case.env or {}).items():
        if value == "@stub":  # a compiler that fails with a message of its own
            stub = tmp_path / "bin" / "fake-cxx"
            stub.parent.mkdir()
            stub.write_text("#!/bin/sh\necho 'x.cpp:1:1: error: the compiler said no' >&2\n"
                            "exit 1\n")
            stub.chmod(0o755)
            value = str(stub)
        monkeypatch.setenv(key, value)
    argv = case.make(base, work, checkpoints)
    before = _snapshot(work)
    monkeypatch.chdir(work)
    main = hls_main if case.cli == "hls" else host_main
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert case.message in lines[0], lines[0]
    assert _snapshot(work) == before, "the command left files behind or changed some"


# --- valid controls beside them --------------------------------------------------------------
def test_valid_inputs_still_work(base, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert hls_main(["info", str(base.ivit)]) == 0
    assert hls_main(["predict", str(base.ivit), "--image", str(base.image), "--top", "2"]) == 0
    assert "  2. class" in capsys.readouterr().out
    project = copy_project(base, tmp_path)
    assert hls_main(["csim", str(project)]) == 0
    out = capsys.readouterr().out
    assert "PASS 2 image(s)" in out and "bit-exact with the golden model (2 image(s))" in out
    assert hls_main(["csim", str(project), "--images", "1"]) == 0
    assert "PASS 1 image(s)" in capsys.readouterr().out
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"name {i}\n" for i in range(1000)), encoding="utf-8")
    assert host_main(["run", "--project", str(project), "--images", str(base.image),
                      "--labels", str(labels), "--top", "1"]) == 0
    assert "  1. class" in capsys.readouterr().out
    assert host_main(["check", "--project", str(project)]) == 0
    assert "manifest OK" in capsys.readouterr().out


def test_hls_dry_run_prints_the_command_without_vitis(base, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no Vitis, no compiler
    assert hls_main(["hls", str(base.project), "--step", "cosim", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == (
        "$ vitis-run --mode hls --cosim --config hls_config.cfg --work_dir ivit_hls_work")
    assert hls_main(["hls", str(base.project), "--step", "csynth"]) == 2
    assert "no Vitis HLS tool" in capsys.readouterr().err


def test_bomb_png_really_claims_the_size(tmp_path):
    """The generated bomb is what it says: a valid PNG header of 30000 x 30000 pixels."""
    path = bomb_png(tmp_path / "b.png")
    assert path.stat().st_size < 200
    Image.MAX_IMAGE_PIXELS, saved = None, Image.MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as im:
            assert im.size == (30000, 30000)
    finally:
        Image.MAX_IMAGE_PIXELS = saved
