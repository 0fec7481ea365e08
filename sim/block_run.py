"""Test harness: run one encoder block of an integer model on the RTL units, driven from Python
(the hardware controller is the ivit_engine top; this drives each unit on its own).

The controller tiles each layer onto a unit (GEMMs onto the systolic array, rows onto
Shiftmax / I-LayerNorm, element streams onto ShiftGELU, requant and the residual adder),
streams the beats through the unit under cocotb + Verilator, and reassembles the integers.
Every layer's output is compared with the golden trace; the cycles of every unit run are
summed and set beside the analytic model (``ivit_hls.rtl.cycles``). Units run one after
another (no overlap between layers), so the total is the sum of the units' own cycles.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ivit_hls.ops.common import split_heads
from ivit_hls.ir.model import IntegerModel
from ivit_hls.spec.gelu import gelu_recip
from ivit_hls.rtl import cycles, simrun
from ivit_hls.rtl.bits import pack, unpack

# Unit configurations used by the block (one Verilator build each).
ARRAY = dict(ROWS=8, COLS=8)
UNITS = {
    "gemm8": ("ivit_systolic", dict(ARRAY, A_W=8, OUT_W=8)),
    "gemm_raw": ("ivit_systolic", dict(ARRAY, A_W=8, OUT_W=32)),
    "gemm_pv": ("ivit_systolic", dict(ARRAY, A_W=17, OUT_W=8)),
    "layernorm": ("ivit_ilayernorm", dict(LANES=8, IN_W=16, MAX_BEATS=32)),
    "ln_affine": ("ivit_requant", dict(LANES=8, IN_W=18, M_W=32, OFF_W=64, OUT_W=8, USER_W=1)),
    "shiftmax": ("ivit_shiftmax", dict(LANES=4, IN_W=8, MAX_BEATS=16, OUT_W=16, K_W=4,
                                       I0_W=12, QB=5)),
    "shiftmax_paper": ("ivit_shiftmax", dict(LANES=4, IN_W=8, MAX_BEATS=16, OUT_W=16, K_W=4,
                                             I0_W=12, QB=5, EXP_FORM=0)),
    "gelu": ("ivit_shiftgelu", dict(LANES=4, IN_W=8, K_W=4, I0_W=12, QB=5, OUT_W=25)),
    "gelu_shift": ("ivit_gelu_shift", dict(LANES=4, IN_W=8, K_W=4, R_W=13, OUT_W=25)),
    "gelu_rq": ("ivit_requant", dict(LANES=4, IN_W=25, M_W=32, OFF_W=32, OUT_W=8, USER_W=1)),
    "residual": ("ivit_residual_add", dict(LANES=8, A_W=32, B_W=16, OUT_W=16)),
}


@dataclass
class BlockRun:
    """Per-layer RTL outputs, measured and modelled cycles of one block run."""

    outputs: dict = field(default_factory=dict)
    cycles: dict = field(default_factory=dict)
    model_cycles: dict = field(default_factory=dict)

    @property
    def total_cycles(self) -> int:
        return sum(self.cycles.values())

    @property
    def total_model_cycles(self) -> int:
        return sum(self.model_cycles.values())


class Controller:
    """Turns layers into stream jobs for the units and runs them in simulation."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)

    def _run(self, unit: str, jobs: list[dict]) -> list[dict]:
        top, params = UNITS[unit]
        job_file = self.workdir / f"{unit}-jobs.json"
        out_file = self.workdir / f"{unit}-out.json"
        job_file.write_text(json.dumps(jobs))
        simrun.run_tb(top, params, "tb_drive",
                      {"jobs": str(job_file), "out": str(out_file), "seed": 0},
                      testcase="drive")
        return json.loads(out_file.read_text())

    # -- GEMM on the systolic array ------------------------------------------------------
    def gemm(self, unit: str, a: np.ndarray, b: np.ndarray, bias, m, e) -> tuple[np.ndarray, int, int]:
        """``requant(a @ b + bias, m, e)`` on the array: a (M, K), b (K, N), per-column consts."""
        _, params = UNITS[unit]
        rows, cols, a_w, out_w = params["ROWS"], params["COLS"], params["A_W"], params["OUT_W"]
        mm, k = a.shape
        n = b.shape[1]
        bias, m, e = (np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)) for v in (bias, m, e))
        beats, ks, tiles = [], [], []
        for r0 in range(0, mm, rows):
            at = np.zeros((rows, k), dtype=np.int64)
            at[:min(rows, mm - r0)] = a[r0:r0 + rows]
            for c0 in range(0, n, cols):
                w = min(cols, n - c0)
                bt = np.zeros((k, cols), dtype=np.int64)
                bt[:, :w] = b[:, c0:c0 + w]
                pad = lambda v: np.concatenate([v[c0:c0 + w], np.zeros(cols - w, np.int64)])
                pb, pm, pe = pad(bias), pad(m), pad(e)
                pe[w:] = 1
                for s in range(k):
                    beats.append({"s_a": pack(at[:, s], a_w), "s_b": pack(bt[s], 8),
                                  "s_last": int(s == k - 1), "s_bias": pack(pb, 32),
                                  "s_m": pack(pm, 32), "s_e": pack(pe, 6)})
                ks.append(k)
                tiles.append((r0, c0, w))
        job = {"beats": beats, "out_fields": ["m_data"], "n_out": len(tiles) * rows}
        res = self._run(unit, [job])[0]
        out = np.zeros((mm, n), dtype=np.int64)
        for t, (r0, c0, w) in enumerate(tiles):
            for r in range(rows):
                if r0 + r < mm:
                    vals = unpack(res["outs"][t * rows + r][0], cols, out_w)
                    out[r0 + r, c0:c0 + w] = vals[:w]
        return out, res["cycles"], cycles.systolic_cycles(ks, rows, cols)

    # -- element streams ---------------------------------------------------------------
    def _lanes(self, unit: str, fields: dict, widths: dict, static: dict, out_w: int,
               latency: int, signed: bool = True) -> tuple[np.ndarray, int, int]:
        _, params = UNITS[unit]
        lanes = params["LANES"]
        size = next(iter(fields.values())).size
        nb = -(-size // lanes)
        flat = {k: np.concatenate([v.ravel(), np.zeros(nb * lanes - size, np.int64)])
                for k, v in fields.items()}
        beats = [{k: pack(flat[k][i * lanes:(i + 1) * lanes], widths[k]) for k in flat}
                 for i in range(nb)]
        res = self._run(unit, [{"static": static, "beats": beats, "out_fields": ["m_data"],
                                "n_out": nb}])[0]
        vals = np.array([unpack(o[0], lanes, out_w, signed) for o in res["outs"]]).ravel()
        return vals[:size], res["cycles"], cycles.stream_cycles(nb, latency)

    def requant(self, unit: str, acc, m, e, off) -> tuple[np.ndarray, int, int]:
        _, p = UNITS[unit]
        acc = np.asarray(acc, dtype=np.int64)
        shape = acc.shape
        f = {k: np.broadcast_to(np.asarray(v, dtype=np.int64), shape)
             for k, v in (("s_acc", acc), ("s_m", m), ("s_e", e), ("s_off", off))}
        widths = {"s_acc": p["IN_W"], "s_m": 32, "s_e": 6, "s_off": p["OFF_W"]}
        out, c, mc = self._lanes(unit, f, widths, {}, p["OUT_W"], cycles.REQUANT_LATENCY)
        return out.reshape(shape), c, mc

    def rows(self, unit: str, x: np.ndarray, static: dict, out_w: int, signed: bool,
             row_model) -> tuple[np.ndarray, int, int]:
        _, p = UNITS[unit]
        lanes, in_w = p["LANES"], p["IN_W"]
        nrows, length = x.shape
        nb = -(-length // lanes)
        beats = []
        for r in range(nrows):
            padded = np.concatenate([x[r], np.zeros(nb * lanes - length, np.int64)])
            beats += [{"s_data": pack(padded[b * lanes:(b + 1) * lanes], in_w)}
                      for b in range(nb)]
        res = self._run(unit, [{"static": dict(static, cfg_len=length), "beats": beats,
                                "out_fields": ["m_data"], "n_out": len(beats)}])[0]
        vals = np.array([unpack(o[0], lanes, out_w, signed) for o in res["outs"]])
        return (vals.reshape(nrows, nb * lanes)[:, :length], res["cycles"],
                nrows * row_model(length, lanes))


def run_block(model: IntegerModel, trace: dict, block: int = 0, workdir: Path | None = None,
              on_layer=None) -> BlockRun:
    """Run encoder block ``block`` of ``model`` on the RTL units (batch 1).

    ``trace`` is the golden per-layer trace (``golden.run(..., trace=True).trace``); the block
    input is read from it. ``on_layer(name, rtl, golden)`` is called after every layer (tests
    compare there, so a mismatch names the first differing layer).
    """
    prefix = f"blocks.{block}."
    layers = [ly for ly in model.layers if ly.name.startswith(prefix)]
    run = BlockRun()
    if workdir is None:
        simrun.BUILD_ROOT.parent.mkdir(parents=True, exist_ok=True)  # absent in a fresh clone
    tmp = tempfile.TemporaryDirectory(dir=simrun.BUILD_ROOT.parent) if workdir is None else None
    ctl = Controller(Path(workdir) if workdir is not None else Path(tmp.name))
    tensors = {k: v[0] for k, v in trace.items()}      # batch 1
    try:
        for ly in layers:
            x = [tensors[s] for s in ly.inputs]
            out, c, mc = _layer(ctl, ly, x)
            tensors[ly.name] = out
            run.outputs[ly.name], run.cycles[ly.name], run.model_cycles[ly.name] = out, c, mc
            if on_layer is not None:
                on_layer(ly.name, out, trace[ly.name][0])
    finally:
        if tmp is not None:
            tmp.cleanup()
    return run


def _layer(ctl: Controller, ly, x):
    a, p = ly.attrs, ly.params
    if ly.kind == "layernorm":
        n, c1, m1 = ctl.rows("layernorm", x[0], {}, 18, True,
                             lambda length, lanes: cycles.ilayernorm_row_cycles(length, lanes, 16))
        out, c2, m2 = ctl.requant("ln_affine", n, p["m"], p["e"], p["bias"])
        return out, c1 + c2, m1 + m2
    if ly.kind == "linear":
        raw = a.out_bits is None
        m = np.int64(1 << 30) if raw else p["m"]
        e = np.int64(30) if raw else p["e"]
        return ctl.gemm("gemm_raw" if raw else "gemm8", x[0], p["weight"].T.astype(np.int64),
                        p["bias"], m, e)
    if ly.kind == "qk_matmul":
        q = split_heads(x[0][None], 0, a.heads, a.head_dim)[0]
        k = split_heads(x[0][None], 1, a.heads, a.head_dim)[0]
        outs, c, mc = [], 0, 0
        for h in range(a.heads):
            o, ch, mh = ctl.gemm("gemm8", q[h], k[h].T, 0, a.m, a.e)
            outs.append(o)
            c, mc = c + ch, mc + mh
        return np.stack(outs), c, mc
    if ly.kind == "shiftmax":
        h, t, _ = x[0].shape
        static = {"cfg_k": a.k, "cfg_i0": a.i0, "cfg_n": a.n}
        unit = "shiftmax_paper" if a.exp_form == "paper" else "shiftmax"
        out, c, mc = ctl.rows(unit, x[0].reshape(h * t, t), static, 16, False,
                              lambda length, lanes: cycles.shiftmax_row_cycles(length, lanes, 5))
        return out.reshape(h, t, t), c, mc
    if ly.kind == "pv_matmul":
        v = split_heads(x[1][None], 2, a.heads, a.head_dim)[0]
        outs, c, mc = [], 0, 0
        for h in range(a.heads):
            o, ch, mh = ctl.gemm("gemm_pv", x[0][h], v[h], 0, a.m, a.e)
            outs.append(o)
            c, mc = c + ch, mc + mh
        return np.concatenate(outs, axis=1), c, mc
    if ly.kind == "gelu":
        if a.form == "shift":
            unit, lat = "gelu_shift", cycles.GELU_SHIFT_LATENCY
            static = {"cfg_k": a.k, "cfg_r": gelu_recip(a.i0)}
        elif a.form == "symmetric":
            unit, lat = "gelu", cycles.shiftgelu_latency(5)
            static = {"cfg_k": a.k, "cfg_i0": a.i0, "cfg_n": a.n}
        else:
            raise ValueError(f"layer {ly.name}: GELU form {a.form!r} has no RTL block unit")
        core, c1, m1 = ctl._lanes(unit, {"s_data": x[0]}, {"s_data": 8}, static, 25, lat)
        out, c2, m2 = ctl.requant("gelu_rq", core.reshape(x[0].shape), a.m, a.e, 0)
        return out, c1 + c2, m1 + m2
    if ly.kind == "residual_add":
        branch, resid = x
        shape = branch.shape
        f = {"s_a": branch, "s_b": resid,
             "s_m_a": np.broadcast_to(p["m_a"].astype(np.int64), shape),
             "s_e_a": np.broadcast_to(p["e_a"].astype(np.int64), shape)}
        widths = {"s_a": 32, "s_b": 16, "s_m_a": 32, "s_e_a": 6}
        static = {"cfg_m_b": a.m_b, "cfg_e_b": a.e_b}
        out, c, mc = ctl._lanes("residual", f, widths, static, 16, cycles.RESIDUAL_LATENCY)
        return out.reshape(shape), c, mc
    raise ValueError(f"layer {ly.name}: kind {ly.kind} has no RTL unit")
