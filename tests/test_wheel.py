"""A non-editable install works: build the ivit-host and ivit-hls wheels from a copy of the
checkout, install them into a fresh venv outside the checkout, and run ``ivit-hls generate
--model deit_tiny`` and ``ivit-hls csim`` from there.

ivit-hls and ivit-host come only from the wheels (``--no-index``). The third-party
dependencies (torch, timm, ... several GB) are not reinstalled: the fresh venv sees the test
environment's site-packages through a ``.pth`` line, which appends that folder *after* the
venv's own and does not run its ``.pth`` files (so the checkout's editable install stays
invisible); the test checks that both packages are imported from the venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("pyproject.toml", "setup.py", "README.md", "ivit_hls", "hw", "templates", "sim", "host")

pytestmark = pytest.mark.slow


def _run(cmd, cwd, **kw):
    """Run ``cmd`` in ``cwd`` (never the caller's folder); its output on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, **kw)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """Both wheels, built from a clean copy (no build folders land in the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "sim_build")
    for name in SHIPPED:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    dist = root / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "-w", str(dist), str(src), str(src / "host")], cwd=root)
    found = {p.name.split("-")[0]: p for p in dist.glob("*.whl")}
    assert set(found) == {"ivit_hls", "ivit_host"}, found
    return found


def test_wheel_contents(wheels):
    with zipfile.ZipFile(wheels["ivit_hls"]) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for folder in ("hw", "templates", "sim"):
        shipped = {n for n in names if n.startswith(f"ivit_hls/_share/{folder}/")}
        local = {f"ivit_hls/_share/{p.relative_to(REPO).as_posix()}"
                 for p in (REPO / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
        assert local and local <= shipped, local - shipped
    assert "Requires-Dist: ivit-host==0.1.0" in meta
    assert not any(n.startswith("ivit_host/") for n in names)  # its own distribution
    with zipfile.ZipFile(wheels["ivit_host"]) as zf:
        host_meta = zf.read(next(n for n in zf.namelist() if n.endswith("METADATA"))).decode()
    assert "torch" not in host_meta and "Requires-Dist: numpy" in host_meta


def test_installed_wheel_generates_and_simulates(wheels, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
          str(wheels["ivit_host"]), str(wheels["ivit_hls"])], cwd=tmp_path)
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path).stdout.strip())
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "work"  # outside the checkout
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = _run([str(py), "-c", "import ivit_hls, ivit_host, ivit_hls.resources as r; "
                  "print(ivit_hls.__file__); print(ivit_host.__file__); print(r.SOURCE_ROOT)"],
                 cwd=work, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    assert Path(where[2]).name == "_share"
    ivit_hls = str(venv / "bin" / "ivit-hls")
    assert _run([ivit_hls, "--version"], cwd=work, env=env).stdout.strip() == "ivit-hls 0.1.0"
    _run([str(venv / "bin" / "ivit-host"), "--help"], cwd=work, env=env)
    gen = _run([ivit_hls, "generate", "--model", "deit_tiny", "--out", "deit_tiny_hls"],
               cwd=work, env=env)
    assert "wrote deit_tiny_hls" in gen.stdout
    sim = _run([ivit_hls, "csim", "deit_tiny_hls"], cwd=work, env=env)
    assert "bit-exact with the golden model (3 image(s))" in sim.stdout
