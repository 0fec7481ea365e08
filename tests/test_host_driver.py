"""The host driver end to end on a generated deit_tiny project: the csim backend bit-exact
with the golden executor on real image files, the xrt and pynq backends against fakes of
their documented interfaces, manifest/xclbin mismatches refused before anything runs, the
CLIs, and the Vitis link step's files and commands."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ivit_hls import golden
from ivit_hls.cli import main as hls_main
from ivit_hls.hls import HlsOptions, generate
from ivit_host import HostError, Manifest, open_accelerator
from ivit_host.backends.csim import CsimBackend
from ivit_host.cli import main as host_main
from ivit_host.preprocess import preprocess_files
from ivit_host.xclbin import stamp_path

from test_host_fakes import FakePynq, FakeXrt
from test_host_xclbin import make_xclbin

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_model("deit_tiny", calib_random=2, depth=2, img_size=64)


@pytest.fixture(scope="module")
def project(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("host") / "deit_tiny"
    generate(model, out, HlsOptions(rows=16, cols=8))
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Real image files: PNG and JPEG, RGB, grayscale and RGBA, several sizes and aspects."""
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:97, 0:130]
    smooth = np.stack([(xx * 2) % 256, (yy * 3) % 256, (xx + yy) % 256], -1).astype(np.uint8)
    specs = [("noise.png", rng.integers(0, 256, (80, 100, 3), dtype=np.uint8), "RGB"),
             ("gradient.jpg", smooth, "RGB"),
             ("gray.png", rng.integers(0, 256, (64, 64), dtype=np.uint8), "L"),
             ("alpha.png", rng.integers(0, 256, (150, 45, 4), dtype=np.uint8), "RGBA"),
             ("small.jpg", rng.integers(0, 256, (30, 41, 3), dtype=np.uint8), "RGB")]
    paths = []
    for name, arr, mode in specs:
        Image.fromarray(arr, mode).save(d / name, **({"quality": 90} if name.endswith("jpg") else {}))
        paths.append(d / name)
    return paths


@pytest.fixture(scope="module")
def compute(project):
    """The kernel's function on raw device bytes (for the fakes), via the C-simulation."""
    lib = CsimBackend(Manifest.load(project)).lib

    def run(image_bytes, weight_bytes, n):
        classes = Manifest.load(project).num_classes
        out = np.zeros((n, classes), np.int32)
        img = np.ascontiguousarray(image_bytes)
        w = np.ascontiguousarray(weight_bytes)
        lib.ivit_run(ctypes.c_void_p(img.ctypes.data), ctypes.c_void_p(w.ctypes.data),
                     ctypes.c_void_p(out.ctypes.data), ctypes.c_int32(n))
        return out
    return run


def _golden(model, q):
    return golden.run(model, q).logits


def test_csim_backend_bit_exact_on_image_files(model, project, images):
    with open_accelerator(project, "csim") as acc:
        result = acc.infer(images, top=5, batch_size=2)
    cfg = model.config
    q = preprocess_files(images, cfg["input"], cfg["img_size"], cfg["in_chans"])
    np.testing.assert_array_equal(result.images, q)
    g = golden.run(model, q)
    np.testing.assert_array_equal(result.logits, g.logits)
    np.testing.assert_array_equal(result.top, g.topk(5))
    assert len(result.batch_seconds) == 3 and result.seconds > 0
    assert result.logits.dtype == np.int32 and result.logits.shape == (5, cfg["num_classes"])
    # distinct images give distinct logits (the test would notice a constant output)
    assert len({r.tobytes() for r in result.logits}) == 5


def test_infer_accepts_arrays(model, project):
    rng = np.random.default_rng(3)
    floats = rng.standard_normal((3, 3, 64, 64)).astype(np.float32)
    q = golden.quantize_image(model, floats)
    with open_accelerator(project / "manifest.json", "csim") as acc:
        np.testing.assert_array_equal(acc.infer(floats).logits, _golden(model, q))
        np.testing.assert_array_equal(acc.infer(q[0]).logits, _golden(model, q[:1]))
        with pytest.raises(HostError, match="shape"):
            acc.infer(np.zeros((1, 3, 32, 32), np.int8))
        with pytest.raises(HostError, match=r"\[-128, 127\]"):
            acc.infer(np.full((1, 3, 64, 64), 128, np.int64))
        # -128 is a valid int8 input, as for the golden model
        low = np.full((1, 3, 64, 64), -128, np.int64)
        np.testing.assert_array_equal(acc.infer(low).logits, _golden(model, low))


def _xclbin(project, name="ivit_top.xclbin", stamp=True, **kw):
    path = make_xclbin(project / name, **kw)
    if stamp:
        stamp_path(path).write_text(f"{Manifest.load(project).sha256}  manifest.json\n")
    return path


def _expected_xrt_log(project, xclbin, batches, new_api=True):
    m = Manifest.load(project)
    img_bytes = int(np.prod(m.image_shape))
    w = m.data["weights"]["bytes"]
    log = [("device", 0)]
    if new_api:
        log += [("xclbin", str(xclbin)), ("register_xclbin", str(xclbin)), ("hw_context", "uuid-1"),
                ("kernel", ("ctx", "uuid-1"), "ivit_top")]
    else:
        log += [("load_xclbin", str(xclbin)), ("kernel", "FakeXrtDevice", "uuid-1", "ivit_top")]
    log += [("group_id", 1), ("bo", w, "normal", 11), ("write", 11, w, 0),
            ("sync", 11, "TO_DEVICE", w, 0)]
    first = max(batches)
    log += []
    for i, n in enumerate(batches):
        if i == 0:
            log += [("group_id", 0), ("bo", first * img_bytes, "normal", 10),
                    ("group_id", 2), ("bo", first * m.num_classes * 4, "normal", 10)]
        log += [("write", 10, n * img_bytes, 0), ("sync", 10, "TO_DEVICE", n * img_bytes, 0),
                ("run", 10, 11, 10, n), ("wait",),
                ("sync", 10, "FROM_DEVICE", n * m.num_classes * 4, 0),
                ("read", 10, n * m.num_classes * 4, 0)]
    return log


@pytest.mark.parametrize("new_api", [True, False])
def test_xrt_backend_against_fake_pyxrt(model, project, images, compute, new_api):
    xclbin = _xclbin(project)
    fake = FakeXrt(compute, new_api=new_api)
    acc = open_accelerator(project, "xrt", xclbin=xclbin, module=fake)
    result = acc.infer(images[:3], batch_size=2)
    acc.close()
    cfg = model.config
    q = preprocess_files(images[:3], cfg["input"], cfg["img_size"], cfg["in_chans"])
    np.testing.assert_array_equal(result.logits, _golden(model, q))
    assert fake.log == _expected_xrt_log(project, xclbin, [2, 1], new_api)


def test_pynq_backend_against_fake_pynq(model, project, images, compute):
    xclbin = _xclbin(project)
    fake = FakePynq(compute)
    acc = open_accelerator(project, "pynq", xclbin=xclbin, module=fake)
    result = acc.infer(images[:3], batch_size=2)
    acc.close()
    cfg = model.config
    q = preprocess_files(images[:3], cfg["input"], cfg["img_size"], cfg["in_chans"])
    np.testing.assert_array_equal(result.logits, _golden(model, q))
    m = Manifest.load(project)
    w, k = m.data["weights"]["bytes"], m.num_classes
    batch = [("sync_to_device", "buf2"), ("call", "buf2", "buf1", "buf3", None),
             ("sync_from_device", "buf3")]
    assert fake.log == [
        ("Overlay", str(xclbin)), ("allocate", (w,), "int8"), ("sync_to_device", "buf1"),
        ("allocate", (2, *m.image_shape), "int8"), ("allocate", (2, k), "int32"),
        *[(e if e[0] != "call" else e[:4] + (2,)) for e in batch],
        *[(e if e[0] != "call" else e[:4] + (1,)) for e in batch],
        ("freebuffer", "buf2"), ("freebuffer", "buf3"), ("freebuffer", "buf1"), ("free",)]


def test_mismatches_refused_before_anything_runs(project, compute, tmp_path):
    fake = FakeXrt(compute)
    with pytest.raises(HostError, match="no such file"):
        open_accelerator(project, "xrt", module=fake)  # default vitis/hw/ivit_top.xclbin absent
    wrong = _xclbin(project, "vadd.xclbin", kernel="vadd", args=["a", "b", "c"])
    with pytest.raises(HostError, match="wrong xclbin"):
        open_accelerator(project, "xrt", xclbin=wrong, module=fake)
    stale = _xclbin(project, "stale.xclbin", stamp=False)
    stamp_path(stale).write_text(hashlib.sha256(b"an older manifest").hexdigest() + "  manifest.json\n")
    with pytest.raises(HostError, match="different manifest.json"):
        open_accelerator(project, "pynq", xclbin=stale, module=FakePynq(compute))
    assert fake.log == []  # no device was opened
    # a modified weight blob or kernel source no longer matches the manifest
    copy = tmp_path / "copy"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("build", "*.xclbin*"))
    blob = bytearray((copy / "data" / "weights.bin").read_bytes())
    blob[100] ^= 1
    (copy / "data" / "weights.bin").write_bytes(bytes(blob))
    with pytest.raises(HostError, match="weights.bin does not match manifest.json"):
        open_accelerator(copy, "csim")
    shutil.copy(project / "data" / "weights.bin", copy / "data" / "weights.bin")
    with open(copy / "src" / "ivit_params.h", "a") as fh:
        fh.write("// edited\n")
    with pytest.raises(HostError, match="ivit_params.h does not match"):
        open_accelerator(copy, "csim")
    # a board machine may carry only manifest.json, the weights and the xclbin
    board = tmp_path / "board"
    (board / "data").mkdir(parents=True)
    shutil.copy(project / "manifest.json", board)
    shutil.copy(project / "data" / "weights.bin", board / "data")
    acc = open_accelerator(board / "manifest.json", "xrt", xclbin=_xclbin(project, "b.xclbin"),
                           module=FakeXrt(compute))
    assert acc.infer(np.zeros((1, 3, 64, 64), np.int8)).logits.shape == (1, 1000)
    with pytest.raises(HostError, match="no manifest.json"):
        open_accelerator(tmp_path, "csim")
    with pytest.raises(HostError, match="no XRT device 1"):
        open_accelerator(project, "xrt", xclbin=_xclbin(project), device=1, module=FakeXrt(compute))


def test_cli_run_csim(project, images, capsys):
    assert hls_main(["run", "--project", str(project), "--images", *map(str, images[:2])]) == 0
    out = capsys.readouterr().out
    assert str(images[0]) in out and "  5. class" in out and "ms/image" in out
    with open_accelerator(project) as acc:
        top = acc.infer(images[:2]).top
    assert f"  1. class {int(top[1][0]):4d}" in out.split(str(images[1]))[1]
    assert host_main(["run", "--project", str(project), "--images", str(images[2]),
                      "--top", "3"]) == 0
    assert "  3. class" in capsys.readouterr().out


def test_cli_errors_one_line_exit_2(project, images, tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    cases = [
        (["--images", str(bad)], "unreadable"),
        (["--images", str(tmp_path / "none.png")], "no such file"),
        (["--backend", "xrt", "--images", str(images[0])], "no such file"),
        (["--backend", "xrt", "--xclbin", str(_xclbin(project, "v2.xclbin", kernel="vadd")),
          "--images", str(images[0])], "wrong xclbin"),
    ]
    if not _importable("pyxrt"):
        cases.append((["--backend", "xrt", "--xclbin", str(_xclbin(project)),
                       "--images", str(images[0])], "needs pyxrt"))
    if not _importable("pynq"):
        cases.append((["--backend", "pynq", "--xclbin", str(_xclbin(project)),
                       "--images", str(images[0])], "needs the pynq package"))
    for extra, message in cases:
        for main, prog in ((hls_main, "ivit-hls run"), (host_main, "ivit-host run")):
            assert main(["run", "--project", str(project), *extra]) == 2, extra
            err = capsys.readouterr().err.strip()
            assert err.startswith(f"{prog}: error:") and message in err and "\n" not in err, err
    assert hls_main(["run", "--project", str(tmp_path), "--images", str(images[0])]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_host_package_needs_neither_torch_nor_ivit_hls(project, images):
    code = ("import sys\n"
            "for m in ('torch', 'timm', 'ivit_hls'): sys.modules[m] = None\n"
            "from ivit_host.cli import main\n"
            f"sys.exit(main(['run', '--project', {str(project)!r}, '--images', {str(images[0])!r}]))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "host")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1. class" in proc.stdout
    import tomllib

    meta = tomllib.loads((REPO / "host" / "pyproject.toml").read_text())["project"]
    assert [d.split(">")[0] for d in meta["dependencies"]] == ["numpy"]
    assert meta["scripts"]["ivit-host"] == "ivit_host.cli:main"


def test_vitis_link_files_and_commands(project):
    cfg = (project / "link.cfg").read_text()
    assert "nk=ivit_top:1:ivit_top_1" in cfg
    m = Manifest.load(project)
    # every m_axi port in the manifest gets a bank; ports on one bundle share it
    ports = m.data["top"]["ports"]
    banks = {}
    for arg, port in ports.items():
        if port.startswith("m_axi"):
            line = next(l for l in cfg.splitlines() if l.startswith(f"sp=ivit_top_1.{arg}:"))
            banks.setdefault(port.split()[1], set()).add(line.split(":")[1])
    assert banks == {"gmem0": {"DDR[0]"}, "gmem1": {"DDR[1]"}}
    assert "-include vitis.mk" in (project / "Makefile").read_text()
    for target in ("sw_emu", "hw_emu", "hw"):
        proc = subprocess.run(["make", "-n", target], cwd=project, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        proc = subprocess.run(["make", "-n", "xclbin", f"TARGET={target}", "PLATFORM=my_pf"],
                              cwd=project, capture_output=True, text=True)
        lines = proc.stdout.splitlines()
        compile_ = next(l for l in lines if l.startswith("v++ -c"))
        link = next(l for l in lines if l.startswith("v++ -l"))
        assert f"-t {target} --platform my_pf" in compile_ and "-k ivit_top" in compile_
        assert compile_.endswith(f"-o vitis/{target}/ivit_top.xo src/ivit_top.cpp")
        assert "--config link.cfg" in link and link.endswith(
            f"-o vitis/{target}/ivit_top.xclbin vitis/{target}/ivit_top.xo")
        assert f"sha256sum manifest.json > vitis/{target}/ivit_top.xclbin.manifest.sha256" in lines
    proc = subprocess.run(["make", "-n", "run_emu", "TARGET=sw_emu", "IMAGES=a.png"], cwd=project,
                          capture_output=True, text=True)
    assert "emconfigutil --platform" in proc.stdout and "XCL_EMULATION_MODE=sw_emu" in proc.stdout
    if shutil.which("v++") is None:
        proc = subprocess.run(["make", "hw"], cwd=project, capture_output=True, text=True)
        assert proc.returncode != 0 and "v++ not found" in proc.stderr


def test_real_vitis_sw_emu_with_pyxrt(model, project, images, tmp_path):
    """Links a sw_emu xclbin and runs it through real pyxrt (only where Vitis and XRT exist)."""
    if shutil.which("v++") is None or shutil.which("emconfigutil") is None:
        pytest.skip("Vitis (v++, emconfigutil) not on PATH")
    if not _importable("pyxrt"):
        pytest.skip("pyxrt (XRT) not installed")
    out = tmp_path / "emu"
    shutil.copytree(project, out, ignore=shutil.ignore_patterns("build"))
    for target in ("sw_emu", "emconfig TARGET=sw_emu"):
        proc = subprocess.run(["make", *target.split()], cwd=out, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    env = {"XCL_EMULATION_MODE": "sw_emu", "EMCONFIG_PATH": str(out / "vitis" / "sw_emu")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with open_accelerator(out, "xrt", target="sw_emu") as acc:
            result = acc.infer(images[:2])
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    np.testing.assert_array_equal(result.logits, _golden(model, result.images))


@pytest.mark.parametrize("backend", ["xrt", "pynq"])
def test_real_board(backend):
    """Runs a project's golden test vectors on a board (IVIT_BOARD_PROJECT: a project with
    a linked vitis/hw/ivit_top.xclbin)."""
    if not _importable("pyxrt" if backend == "xrt" else "pynq"):
        pytest.skip(f"{'pyxrt (XRT)' if backend == 'xrt' else 'pynq'} not installed")
    project = os.environ.get("IVIT_BOARD_PROJECT")
    if not project:
        pytest.skip("set IVIT_BOARD_PROJECT to a project with a linked vitis/hw/ivit_top.xclbin")
    m = Manifest.load(project)
    images = np.fromfile(Path(project) / "data" / "tb_images.bin", m.image_dtype)
    images = images.reshape(-1, *m.image_shape)
    want = np.fromfile(Path(project) / "data" / "tb_logits.bin", np.int32).reshape(len(images), -1)
    with open_accelerator(project, backend) as acc:
        np.testing.assert_array_equal(acc.infer(images).logits, want)


def test_host_check_command(project, capsys):
    assert host_main(["check", "--project", str(project), "--target", "sw_emu"]) == 0
    assert "manifest OK" in capsys.readouterr().out
    good = _xclbin(project, "c.xclbin")
    assert host_main(["check", "--project", str(project), "--xclbin", str(good)]) == 0
    assert "kernel(s) ivit_top OK" in capsys.readouterr().out
    bad = _xclbin(project, "c2.xclbin", kernel="vadd")
    assert host_main(["check", "--project", str(project), "--xclbin", str(bad)]) == 2
    assert "wrong xclbin" in capsys.readouterr().err


def test_two_projects_in_one_process(model, project, tmp_path):
    """Libraries of different projects loaded side by side keep their own kernel state."""
    from ivit_hls.api import quantize_model
    from ivit_hls.hls.project import tb_images
    from ivit_host.csimlib import CsimLibrary

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = quantize_model("deit_tiny", calib_random=1, depth=1, img_size=32, seed=4)
    other_project = generate(other, tmp_path / "other", HlsOptions(rows=2, cols=2))
    first, second = CsimLibrary(project), CsimLibrary(other_project)
    for lib, m in ((second, other), (first, model), (second, other)):
        images = tb_images(m, 2, seed=9)
        np.testing.assert_array_equal(lib.run(images), golden.run(m, images).logits)
