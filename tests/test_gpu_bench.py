"""The GPU benchmark script runs end to end on CPU (--smoke) and reports bit-exactness."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tvm")
pytest.importorskip("triton")

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_latency_smoke(tmp_path):
    out = tmp_path / "res"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_latency.py"), "--smoke",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads((out / "results.json").read_text())
    checks = res["checks"]["deit_tiny"]
    assert checks["ivit-triton"]["bit_exact"] is True
    assert checks["ivit-tvm"]["bit_exact"] is True
    timed = {k: v for k, v in res["latency_ms"].items() if isinstance(v, float)}
    assert {"deit_tiny/1/fp32-eager", "deit_tiny/1/ivit-triton",
            "deit_tiny/1/ivit-tvm"} <= set(timed)
    assert all(v > 0 for v in timed.values())
    table = (out / "results.md").read_text()
    assert "| deit_tiny | 1 | ivit-tvm |" in table
    assert (out / "latency.png").read_bytes()[:4] == b"\x89PNG"


def test_run_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(ROOT / "bench" / "gpu_run.sh")]).returncode == 0
