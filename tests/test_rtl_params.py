"""Per-model RTL parameters: deterministic, equal to the model's integers, valid SystemVerilog."""

from __future__ import annotations

import os
import subprocess

from ivit_hls.rtl import params, simrun
from rtl_helpers import needs_sim


def _signed(text: str, width: int) -> list[int]:
    vals = [int(v, 16) for v in text.split()]
    return [v - (1 << width) if v >> (width - 1) else v for v in vals]


def test_render_is_deterministic_and_exact(small_int_model):
    model = small_int_model
    a = params.render_model_params(model)
    assert a == params.render_model_params(model)
    pkg = a["ivit_model_params.sv"]
    sm = model.layer("blocks.0.attn.softmax").attrs
    assert f"localparam longint BLOCKS_0_ATTN_SOFTMAX_I0 = {sm.i0};" in pkg
    assert f"localparam longint BLOCKS_0_ATTN_SOFTMAX_N = {sm.n};" in pkg
    # unit parameters come from the model's tensor types, not from hand-written tables
    assert f"localparam int BLOCKS_0_ATTN_SOFTMAX_UNIT_OUT_W = {sm.out_bits};" in pkg
    assert "localparam int BLOCKS_0_ATTN_CONTEXT_UNIT_A_W = 17;" in pkg   # uint16 P + sign
    assert "localparam int BLOCKS_0_NORM1_UNIT_IN_W = 16;" in pkg
    ln = model.layer("blocks.0.norm1").params
    assert _signed(a["blocks.0.norm1.m.hex"], 32) == list(ln["m"])
    assert _signed(a["blocks.0.norm1.bias.hex"], 64) == list(ln["bias"])
    assert [int(v, 16) for v in a["blocks.0.norm1.e.hex"].split()] == list(ln["e"])


def test_write_adds_manifest(small_int_model, tmp_path):
    paths = params.write_model_params(small_int_model, tmp_path)
    manifest = (tmp_path / "manifest.sha256").read_text()
    assert all(p.name in manifest for p in paths if p.name != "manifest.sha256")
    assert len(manifest.splitlines()) == len(paths) - 1


@needs_sim
def test_package_lints(small_int_model, tmp_path):
    params.write_model_params(small_int_model, tmp_path)
    i0 = small_int_model.layer("blocks.0.attn.softmax").attrs.i0
    top = tmp_path / "use_params.sv"
    top.write_text("module use_params (output logic [15:0] i0);\n"
                   "    assign i0 = 16'(ivit_model_params::BLOCKS_0_ATTN_SOFTMAX_I0);\n"
                   "endmodule\n")
    env = dict(os.environ, **simrun.verilator_env())
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", "use_params",
                           str(tmp_path / "ivit_model_params.sv"), str(top)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
