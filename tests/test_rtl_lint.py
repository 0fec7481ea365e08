"""Every RTL module passes ``verilator --lint-only -Wall`` with no warning."""

from __future__ import annotations

import subprocess

import pytest

from ivit_hls.rtl import rtl_sources, simrun
from rtl_helpers import needs_sim

MODULES = [p.stem for p in rtl_sources() if not p.stem.endswith("_pkg")]


def test_every_file_is_one_module():
    for path in rtl_sources():
        text = path.read_text()
        assert text.count("\nmodule ") + text.startswith("module ") == 1, path.name
        assert f"module {path.stem}" in text, f"{path.name} does not hold module {path.stem}"


@needs_sim
@pytest.mark.parametrize("top", MODULES)
def test_lint_clean(top):
    env = simrun.verilator_env()
    import os
    full = dict(os.environ, **env)
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", top,
           *[str(p) for p in rtl_sources()]]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full)
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("%")]
    assert proc.returncode == 0 and not warnings, "\n".join(warnings)
