"""Generated HLS projects: C-simulated end to end, bit-exact with the golden executor."""

from __future__ import annotations

import json
import os
import stat
import warnings

import numpy as np
import pytest

from ivit_hls import ir
from ivit_hls.errors import IvitError
from ivit_hls.cli import main
from ivit_hls.golden import assert_traces_equal
from ivit_hls.golden import run as golden_run
from ivit_hls.hls import CsimLibrary, HlsOptions, generate, render_project, run_csim
from ivit_hls.hls.project import tb_images

from hls_helpers import CXXFLAGS


def _build(project, out_name, extra, sources):
    """Compile the project's top with the warning flags plus ``extra``; no warnings allowed."""
    import subprocess

    cmd = ["g++", *CXXFLAGS, *extra, "-Iinclude", "-Isrc", "src/ivit_top.cpp", *sources,
           "-o", f"build/{out_name}"]
    (project / "build").mkdir(exist_ok=True)
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr[-3000:]
    return project / "build" / out_name


_CYCLE_LIBS: dict = {}


def _run_cycles(project, images):
    """Per-layer (cycles, DDR weight bytes, DDR activation bytes) of the -DIVIT_CYCLES build."""
    import ctypes

    if project not in _CYCLE_LIBS:
        _CYCLE_LIBS[project] = ctypes.CDLL(str(_build(
            project, "libivit_cycles.so", ["-DIVIT_CYCLES", "-DIVIT_CHECK_WIDTHS", "-fPIC",
                                           "-shared", "-fno-gnu-unique"],
            ["src/ivit_capi.cpp"])))
    so = _CYCLE_LIBS[project]
    n_layers = len(json.loads((project / "manifest.json").read_text())["abi"]["trace"])
    counters = np.zeros(3 * n_layers, dtype=np.int64)
    weights = np.fromfile(project / "data" / "weights.bin", dtype=np.int8)
    images = np.ascontiguousarray(images.astype(np.int8))
    logits = np.zeros((images.shape[0], 1000), dtype=np.int32)
    vp = ctypes.c_void_p
    rc = so.ivit_run_cycles(vp(images.ctypes.data), vp(weights.ctypes.data),
                            vp(logits.ctypes.data), images.shape[0], vp(counters.ctypes.data))
    assert rc == 0
    return counters.reshape(n_layers, 3), logits


def _modelled(project):
    """A project's estimate.json and its per-layer (cycles, DDR weight bytes, DDR activation
    bytes), as ``_run_cycles`` returns the counted ones."""
    est = json.loads((project / "reports" / "estimate.json").read_text())
    return est, np.array([[ly["cycles"], ly["ddr_weight_bytes"], ly["ddr_activation_bytes"]]
                          for ly in est["layers"]], dtype=np.int64)


def _quantize(name, **kw):
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_model(name, calib_random=2, **kw)


@pytest.fixture(scope="module")
def tiny():
    return _quantize("deit_tiny")


@pytest.fixture(scope="module")
def tiny_project(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("hls") / "deit_tiny"
    generate(tiny, out, HlsOptions(rows=16, cols=8, tb_images=2))
    return out


@pytest.fixture(scope="module")
def tiny_batch_project(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("hls") / "deit_tiny_b3"
    generate(tiny, out, HlsOptions(rows=16, cols=8, tb_images=1, batch=3))
    return out


@pytest.fixture(scope="module")
def small_block():
    return _quantize("deit_s", depth=1)


def _check_traces(model, lib, images):
    order = [layer.name for layer in model.layers]
    for i in range(images.shape[0]):
        golden = golden_run(model, images[i:i + 1], trace=True)
        logits, trace = lib.run_trace(images[i])
        assert_traces_equal(golden.trace, trace, order)
        np.testing.assert_array_equal(logits, golden.logits)


def test_deit_tiny_testbench_passes(tiny_project):
    result = run_csim(tiny_project)
    assert result.passed, result.output
    assert "PASS 2 image(s)" in result.output
    assert result.warnings.strip() == ""


def test_deit_tiny_trace_bit_exact(tiny, tiny_project):
    lib = CsimLibrary(tiny_project)
    assert lib.build_warnings.strip() == ""
    images = tb_images(tiny, 3, seed=11)
    _check_traces(tiny, lib, images)
    # batched entry point agrees with the golden logits too
    np.testing.assert_array_equal(lib.run(images), golden_run(tiny, images).logits)


def test_testbench_fails_on_mismatch(tiny_project, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_project, bad, ignore=shutil.ignore_patterns("build"))
    logits = np.fromfile(bad / "data" / "tb_logits.bin", dtype=np.int32)
    logits[7] += 1
    logits.tofile(bad / "data" / "tb_logits.bin")
    result = run_csim(bad)
    assert not result.passed and result.returncode == 1
    assert "MISMATCH image 0 logit 7" in result.output
    assert main(["csim", str(bad)]) == 2


def test_deit_small_block_bit_exact(small_block, tmp_path):
    out = generate(small_block, tmp_path / "ds1", HlsOptions(rows=16, cols=16))
    lib = CsimLibrary(out)
    _check_traces(small_block, lib, tb_images(small_block, 2, seed=3))


@pytest.mark.parametrize("array", [(1, 1), (7, 5), (17, 16)])
def test_array_shapes_small_model(array, tmp_path):
    model = _quantize("deit_tiny", depth=1, img_size=64)
    out = generate(model, tmp_path / "p", HlsOptions(rows=array[0], cols=array[1]))
    _check_traces(model, CsimLibrary(out), tb_images(model, 2, seed=array[0]))


def test_generation_is_deterministic(tmp_path):
    model = _quantize("deit_tiny", depth=1, img_size=32)
    a = render_project(model, HlsOptions(rows=4, cols=4))
    b = render_project(model, HlsOptions(rows=4, cols=4))
    assert a == b
    generate(model, tmp_path / "x", HlsOptions(rows=4, cols=4))
    generate(model, tmp_path / "y", HlsOptions(rows=4, cols=4))
    files_x = sorted(p.relative_to(tmp_path / "x") for p in (tmp_path / "x").rglob("*") if p.is_file())
    files_y = sorted(p.relative_to(tmp_path / "y") for p in (tmp_path / "y").rglob("*") if p.is_file())
    assert files_x == files_y and len(files_x) == len(a)
    for rel in files_x:
        assert (tmp_path / "x" / rel).read_bytes() == (tmp_path / "y" / rel).read_bytes(), rel
    manifest = json.loads(a["manifest.json"])
    import hashlib
    for path, digest in manifest["files"].items():
        assert hashlib.sha256(a[path]).hexdigest() == digest
    assert manifest["abi"]["functions"]["ivit_run"]["args"][0]["dtype"] == "int8"
    assert stat.S_IMODE(os.stat(tmp_path / "x").st_mode) == 0o755
    # another array shape changes the project
    assert render_project(model, HlsOptions(rows=4, cols=2))["src/ivit_params.h"] != a["src/ivit_params.h"]


def test_generated_sources_have_no_warnings_and_pragmas(tiny_project):
    top = (tiny_project / "src" / "ivit_top.cpp").read_text()
    assert "#pragma HLS INTERFACE m_axi port=weights" in top
    assert "#pragma HLS INTERFACE s_axilite port=return" in top
    assert "-Wextra" in (tiny_project / "Makefile").read_text()
    for flag in CXXFLAGS:
        assert flag in (tiny_project / "Makefile").read_text()
    cfg = (tiny_project / "hls_config.cfg").read_text()
    assert "part=xcu250-figd2104-2L-e" in cfg and "syn.top=ivit_top" in cfg
    est = json.loads((tiny_project / "reports" / "estimate.json").read_text())
    assert est["total_cycles"] == sum(layer["cycles"] for layer in est["layers"])
    assert est["total_cycles"] >= est["mac_bound_cycles"]


def test_ivit_file_roundtrip_cli(tmp_path, capsys, monkeypatch):
    model = _quantize("deit_tiny", depth=1, img_size=32)
    path = ir.save(model, tmp_path / "m.ivit")
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them (and `make demo` does)
    assert main(["generate", "--ivit", "m.ivit", "--out", "out/proj", "--array", "4x4"]) == 0
    assert main(["csim", "out/proj"]) == 0
    text = capsys.readouterr().out
    assert "bit-exact" in text and "PASS" in text


def test_cycle_accounting_equals_estimate(tiny, tiny_project):
    """The -DIVIT_CYCLES C-simulation counts exactly the estimate's cycles and DDR bytes, per
    layer, and every weight byte crosses DDR once per image."""
    est, modelled = _modelled(tiny_project)
    images = tb_images(tiny, 3, seed=2)
    counted, logits = _run_cycles(tiny_project, images[:1])
    np.testing.assert_array_equal(logits[0], golden_run(tiny, images[:1]).logits[0])
    np.testing.assert_array_equal(counted, modelled)
    assert int(counted[:, 0].sum()) == est["total_cycles"]
    ddr = est["ddr"]
    assert ddr["weight_bytes_per_image"] == int(counted[:, 1].sum()) == ddr["weight_blob_bytes"]
    assert ddr["weight_bytes_per_image"] <= 1.05 * ddr["weight_matrix_bytes"]
    # the fused layers cost nothing of their own; the attention unit is charged to q.k^T
    kinds = {ly["kind"] for ly in est["layers"] if "fused_into" in ly}
    assert kinds == {"shiftmax", "pv_matmul", "residual_add", "gelu"}
    # n_images = 3: three times one image (weights are read once per image), logits exact
    counted3, logits3 = _run_cycles(tiny_project, images)
    np.testing.assert_array_equal(counted3, 3 * counted)
    np.testing.assert_array_equal(logits3, golden_run(tiny, images).logits)


def test_batch_reads_weights_once_per_batch(tiny, tiny_project, tiny_batch_project):
    """The batch build (IVIT_MAX_BATCH = 3): 3 images are one batch whose cycle accounting
    equals its estimate per layer, with every weight byte read once for the batch; 1 image is
    a partial batch that costs exactly what the batch-1 build's estimate says; 4 images are a
    full batch and a partial one. Logits bit-exact every time."""
    images = tb_images(tiny, 4, seed=5)
    est1, one = _modelled(tiny_project)
    est3, three = _modelled(tiny_batch_project)
    assert (est3["batch"]["images"], est3["batch"]["max_batch"]) == (3, 3)
    counted3, logits3 = _run_cycles(tiny_batch_project, images[:3])
    np.testing.assert_array_equal(logits3, golden_run(tiny, images[:3]).logits)
    np.testing.assert_array_equal(counted3, three)
    blob = est3["ddr"]["weight_blob_bytes"]
    assert blob == est1["ddr"]["weight_blob_bytes"]
    assert int(counted3[:, 1].sum()) == est3["ddr"]["weight_bytes_per_batch"] <= 1.05 * blob
    assert est3["ddr"]["weight_bytes_per_image"] == pytest.approx(blob / 3, abs=0.1)
    # batching saves cycles per image (one panel load per batch), never adds to them
    assert est3["total_cycles"] < 3 * est1["total_cycles"]
    assert est3["batch"]["cycles_per_image"] == pytest.approx(est3["total_cycles"] / 3, abs=0.1)
    counted1, logits1 = _run_cycles(tiny_batch_project, images[:1])
    np.testing.assert_array_equal(logits1, golden_run(tiny, images[:1]).logits)
    np.testing.assert_array_equal(counted1, one)
    counted4, logits4 = _run_cycles(tiny_batch_project, images)
    np.testing.assert_array_equal(logits4, golden_run(tiny, images).logits)
    np.testing.assert_array_equal(counted4, three + one)
    # the activation buffers and the im2col buffer hold three images
    top = (tiny_batch_project / "src" / "ivit_top.cpp").read_text()
    assert "#define IVIT_MAX_BATCH 3" in (tiny_batch_project / "src" / "ivit_top.h").read_text()
    assert "static int16_t buf0[591][192];" in top                 # 3 x 197 tokens
    assert est3["resources"]["onchip_buffer_bytes"] == 3 * est1["resources"]["onchip_buffer_bytes"]


def test_engine_program_structure(tiny_project):
    """Blocks run as one loop over the slots' tables; the top holds one call per block step."""
    top = (tiny_project / "src" / "ivit_top.cpp").read_text()
    assert "for (int it = 0; it < 12; ++it)" in top
    assert "LOOP_TRIPCOUNT min=12 max=12" in top
    calls = [ln for ln in top.splitlines() if "ivit::layer::" in ln]
    assert len(calls) == 1 + 7 + 2          # patch embedding, 7 block steps, final norm + head
    assert sum("attention<" in c for c in calls) == 1
    assert "max_widen_bitwidth=512" in top
    est = json.loads((tiny_project / "reports" / "estimate.json").read_text())
    assert est["program"] == {"prologue_steps": 1, "block_steps": 7, "block_iterations": 12,
                              "epilogue_steps": 2}


def test_generated_code_is_clean_under_sanitizers(tmp_path):
    """The generated C++ (block loop, fused units, trace, a full and a partial batch of two)
    runs clean under ASan + UBSan."""
    import subprocess

    model = _quantize("deit_tiny", depth=2, img_size=32)
    out = generate(model, tmp_path / "san", HlsOptions(rows=5, cols=3, tb_images=3, batch=2))
    exe = _build(out, "csim_san", ["-O1", "-g", "-fsanitize=address,undefined", "-DIVIT_CHECK_WIDTHS",
                                   "-fno-sanitize-recover=all", "-DIVIT_TRACE"],
                 ["tb/tb_main.cpp"])
    proc = subprocess.run([str(exe), "data"], cwd=out, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "PASS 3 image(s)" in proc.stdout and "runtime error" not in proc.stderr


def test_wide_array_attention_drain_and_fabric_helpers(tmp_path):
    """More array rows than the head dimension (66 > 64): 8 epilogue lanes drain a column in
    9 chunks, 22 attention lanes in 3, the v copy runs 33 lanes (the largest divisor of 66
    that is at most 64); the helper multipliers bound to fabric. Cycle accounting = estimate
    per layer, logits bit-exact."""
    model = _quantize("deit_tiny", depth=1)
    out = generate(model, tmp_path / "wide", HlsOptions(rows=66, cols=16, drain=8, att_lanes=22,
                                                        helpers="fabric", tb_images=1))
    params = (out / "src" / "ivit_params.h").read_text()
    assert "#define IVIT_FABRIC_EPI 1" in params and "#define IVIT_FABRIC_VEC 1" in params
    assert "BIND_OP variable=p op=mul impl=fabric" in (out / "include" / "ivit" / "types.h").read_text()
    est, modelled = _modelled(out)
    res = est["resources"]
    assert res["dsp"] == res["dsp_array"] + 4 and res["luts"] > res["luts_array"]
    images = tb_images(model, 1, seed=3)
    counted, logits = _run_cycles(out, images)
    np.testing.assert_array_equal(logits, golden_run(model, images).logits)
    np.testing.assert_array_equal(counted, modelled)


def test_one_row_more_than_the_tokens(tmp_path):
    """An array one row taller than the tokens (6 rows, 5 tokens: what the sweep tries for
    the divisors), vector lanes that do not divide it, separate attention lanes and a batch
    of two: bit-exact, and the cycle-accounting C-simulation equals the estimate per layer.
    Seven rows are refused."""
    model = _quantize("deit_tiny", depth=2, img_size=32)
    out = generate(model, tmp_path / "tall", HlsOptions(rows=6, cols=3, lanes=4, drain=4,
                                                        att_lanes=5, batch=2, tb_images=1))
    est, modelled = _modelled(out)
    assert est["array"] == {"rows": 6, "cols": 3, "vector_lanes": 4, "epilogue_lanes": 4,
                            "attention_lanes": 5, "layernorm_product": "split",
                            "im2col_word": 16}
    images = tb_images(model, 2, seed=5)
    counted, logits = _run_cycles(out, images)
    np.testing.assert_array_equal(logits, golden_run(model, images).logits)
    np.testing.assert_array_equal(counted, modelled)
    with pytest.raises(IvitError, match="use at most 6"):
        generate(model, tmp_path / "taller", HlsOptions(rows=7, cols=3))


def test_half_row_im2col_words(tmp_path):
    """im2col_words="half" at one token row a bank (6 rows, 5 tokens): the project sets
    IVIT_IM2COL_HALF, the load takes one patch-row run a cycle, the logits are bit-exact and
    the cycle-accounting C-simulation equals the estimate per layer (the load included)."""
    model = _quantize("deit_tiny", depth=2, img_size=32)
    out = generate(model, tmp_path / "half", HlsOptions(rows=6, cols=3, lanes=3, drain=3,
                                                        tb_images=1, im2col_words="half"))
    assert "#define IVIT_IM2COL_HALF 1\n" in (out / "src" / "ivit_params.h").read_text()
    est, modelled = _modelled(out)
    assert est["array"]["im2col_word"] == 8
    row_words = render_project(model, HlsOptions(rows=6, cols=3, lanes=3, drain=3, tb_images=1))
    est_row = json.loads(row_words["reports/estimate.json"])
    pe = [i for i, ly in enumerate(est["layers"]) if ly["kind"] == "patch_embed"][0]
    # 3 x 32 x 32 bytes: 192 patch-row runs, one a cycle instead of two
    assert est["layers"][pe]["cycles"] - est_row["layers"][pe]["cycles"] == 3 * 32 * 32 // 32
    images = tb_images(model, 1, seed=4)
    counted, logits = _run_cycles(out, images)
    np.testing.assert_array_equal(logits, golden_run(model, images).logits)
    np.testing.assert_array_equal(counted, modelled)


def test_layernorm_normalize_product_on_the_long_pool(tmp_path):
    """Six LayerNorm lanes beside one epilogue lane and one attention lane: the normalize
    product in halves would need more epilogue instances than six whole long products cost,
    so the project sets IVIT_LN_SPLIT 0; bit-exact, and cycles as estimated per layer."""
    model = _quantize("deit_tiny", depth=2, img_size=32)
    out = generate(model, tmp_path / "long", HlsOptions(rows=6, cols=3, lanes=6, drain=1,
                                                        att_lanes=1, tb_images=1))
    assert "#define IVIT_LN_SPLIT 0\n" in (out / "src" / "ivit_params.h").read_text()
    est, modelled = _modelled(out)
    assert est["array"]["layernorm_product"] == "whole"
    long_pool = {h["function"]: h for h in est["resources"]["helper_multipliers"]}
    assert "lane_ln_norm" in long_pool["pool_vec_long"]["roles"]
    images = tb_images(model, 1, seed=6)
    counted, logits = _run_cycles(out, images)
    np.testing.assert_array_equal(logits, golden_run(model, images).logits)
    np.testing.assert_array_equal(counted, modelled)
