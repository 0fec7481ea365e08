"""Per-model RTL parameters: deterministic, equal to the model's integers, valid SystemVerilog."""

from __future__ import annotations

import os
import subprocess

import numpy as np

from ivit_hls.ir.model import IntegerModel, Layer
from ivit_hls.rtl import params, simrun
from rtl_helpers import needs_sim


def _model():
    ln = Layer("blocks.0.norm1", "layernorm", ["x"], {"out_bits": 8, "tokens": "all"},
               {"m": np.array([1 << 30, -(1 << 30) - 5]), "e": np.array([40, 41]),
                "bias": np.array([-(1 << 40), 7])})
    sm = Layer("blocks.0.attn.softmax", "shiftmax", ["blocks.0.norm1"],
               {"k": 3, "i0": 458, "n": 15, "out_bits": 16})
    return IntegerModel({"name": "toy", "tokens": 5, "dim": 2, "heads": 1}, [ln, sm])


def test_render_is_deterministic_and_exact():
    a = params.render_model_params(_model())
    assert a == params.render_model_params(_model())
    pkg = a["ivit_model_params.sv"]
    assert "localparam longint BLOCKS_0_ATTN_SOFTMAX_I0 = 458;" in pkg
    assert "localparam longint BLOCKS_0_ATTN_SOFTMAX_N = 15;" in pkg
    m = [int(v, 16) for v in a["blocks.0.norm1.m.hex"].split()]
    assert [v - (1 << 32) if v >> 31 else v for v in m] == [1 << 30, -(1 << 30) - 5]
    bias = [int(v, 16) for v in a["blocks.0.norm1.bias.hex"].split()]
    assert [v - (1 << 64) if v >> 63 else v for v in bias] == [-(1 << 40), 7]


def test_write_adds_manifest(tmp_path):
    paths = params.write_model_params(_model(), tmp_path)
    manifest = (tmp_path / "manifest.sha256").read_text()
    assert all(p.name in manifest for p in paths if p.name != "manifest.sha256")


@needs_sim
def test_package_lints(tmp_path):
    params.write_model_params(_model(), tmp_path)
    top = tmp_path / "use_params.sv"
    top.write_text("module use_params (output logic [15:0] i0);\n"
                   "    assign i0 = 16'(ivit_model_params::BLOCKS_0_ATTN_SOFTMAX_I0);\n"
                   "endmodule\n")
    env = dict(os.environ, **simrun.verilator_env())
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", "use_params",
                           str(tmp_path / "ivit_model_params.sv"), str(top)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
