"""The engine on four boards: DeiT-T/S/B, each on ZCU102, KV260, U250 and U55C budgets.

For every (model, board) the explorer picks the fastest fitting design within 1.25x of its
array's MAC-bound ideal (the fastest fitting one when none is), and the table prints its
array, where its helper multipliers go (DSPs, vector lanes in fabric, all in fabric), cycles,
ms/image, ratio to that ideal, DDR bandwidth needed vs available and DSP / counted LUTs /
BRAM36 / URAM used vs available. The cycles are the estimate that the project's
cycle-accounting C-simulation reproduces exactly (tests/test_hls_project.py).

With ``--batches 1,4,...`` it also prices each chosen design holding N images on chip (each
weight panel read once per batch; ms per image = the batch's / N; memories for N images) and
names the fastest fitting design of the sweep at that batch.

Usage: python bench/engine.py [--clock 300MHz] [--models deit_tiny,deit_s,deit_b]
                              [--boards ZCU102,KV260,U250,U55C] [--batches 1,4,8]
                              [--json FILE] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

TARGET_MS = {"deit_s": {"ZCU102": 4.0}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clock", default="300MHz")
    parser.add_argument("--models", default="deit_tiny,deit_s,deit_b")
    parser.add_argument("--boards", default=None, help="comma-separated subset of the boards")
    parser.add_argument("--batches", default=None,
                        help="comma-separated batch sizes to price the chosen designs at")
    parser.add_argument("--json", default=None, help="write the rows as JSON")
    parser.add_argument("--markdown", default=None, help="write the table as Markdown")
    args = parser.parse_args()
    from ivit_hls.api import quantize_model
    from ivit_hls.errors import IvitError
    from ivit_hls.hls.lower import lower
    from ivit_hls.hls.options import parse_clock
    from ivit_hls.perf.explore import evaluate, explore
    from ivit_hls.perf.parts import BOARDS, part_info

    clock = parse_clock(args.clock)
    rows = []
    head = ("| model | board | array | vector / epilogue / attention lanes | helpers in fabric "
            "| im2col words | LN product | cycles "
            "| ms/image | x MAC bound | MAC-bound ms | DDR GB/s need / have | DSP | LUT (counted) "
            "| BRAM36 | URAM |")
    lines = [head, "|" + "---|" * 16]
    print(head)
    print(lines[1])
    for name in args.models.split(","):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = quantize_model(name, calib_random=2)
        plan = lower(model, 4, 4)
        boards = [b for b in BOARDS if not args.boards or b in args.boards.split(",")]
        for board in boards:
            part = BOARDS[board]
            info = part_info(part)
            try:
                res = explore(model, part, clock, plan=plan)
            except IvitError:
                line = (f"| {name} | {board} | no design of the sweep fits | | | | | | | | | | "
                        f"/ {info['dsp']} | / {info['luts']:,} | / {info['bram36']} "
                        f"| / {info['uram']} |")
                lines.append(line)
                print(line, flush=True)
                rows.append({"model": name, "board": board, "part": part, "fits": False})
                continue
            b = res["best"]
            row = {"model": name, "board": board, "part": part, **b.to_dict(),
                   "mac_bound_ms": res["mac_bound_ms"], "dsp_have": info["dsp"],
                   "luts_have": info["luts"],
                   "bram36_have": info["bram36"], "uram_have": info["uram"]}
            fast = res["pareto"][0]
            row["fastest_fitting"] = fast.to_dict()
            rows.append(row)
            fabric = {"dsp": "none", "vector-fabric": "vector lanes", "fabric": "all"}[b.helpers]
            line = (f"| {name} | {board} | {b.rows}x{b.cols} | {b.lanes} / {b.drain} / "
                    f"{b.att_lanes} | {fabric} | {b.im2col_words} | {b.ln_product} "
                    f"| {b.cycles:,} | {b.ms:.3f} | {b.ratio:.3f} | {res['mac_bound_ms']:.3f} | "
                    f"{b.ddr_gbps:.2f} / {b.ddr_available:g} | {b.dsp} / {info['dsp']} | "
                    f"{b.luts:,} / {info['luts']:,} | {b.bram36} / {info['bram36']} "
                    f"| {b.uram} / {info['uram']} |")
            lines.append(line)
            print(line, flush=True)
            if args.batches:
                row["batches"] = _batches(model, plan, part, clock, b, args.batches, evaluate,
                                          explore, IvitError)
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    print()
    for row in rows:
        if not row.get("fits", True):
            print(f"{row['model']} on {row['board']}: no design fits")
            continue
        target = TARGET_MS.get(row["model"], {}).get(row["board"])
        checks = [f"ratio {row['ratio']:.3f} {'<=' if row['ratio'] <= 1.25 else '>'} 1.25"]
        if target:
            checks.append(f"{row['ms']:.3f} ms {'<=' if row['ms'] <= target else '>'} {target} ms")
        f = row["fastest_fitting"]
        checks.append(f"fastest fitting {f['rows']}x{f['cols']} L{f['lanes']} E{f['drain']} "
                      f"A{f['att_lanes']} {f['helpers']} {f['im2col_words']}-word im2col "
                      f"{f['ln_product']} LN: "
                      f"{f['ms']:.3f} ms at "
                      f"{f['ratio']:.3f}x")
        print(f"{row['model']} on {row['board']}: " + ", ".join(checks))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


def _batches(model, plan, part, clock, b, batches, evaluate, explore, error) -> list:
    """The chosen design ``b`` at each batch size, and the sweep's best design at it."""
    out = []
    print(f"  batch | {b.rows}x{b.cols} L{b.lanes} E{b.drain} A{b.att_lanes} {b.helpers} "
          f"{b.im2col_words}-word im2col {b.ln_product} LN: ms/image, "
          f"DDR GB/s, BRAM36, URAM, fits | best of the sweep at this batch")
    for n in (int(x) for x in batches.split(",")):
        p = evaluate(plan, b.rows, b.cols, b.lanes, b.drain, part, clock, n, b.helpers,
                     att_lanes=b.att_lanes, im2col_words=b.im2col_words,
                     ln_product=b.ln_product)
        try:
            best = explore(model, part, clock, n, plan=plan)["best"]
            text = (f"{best.rows}x{best.cols} L{best.lanes} E{best.drain} A{best.att_lanes} "
                    f"{best.helpers} {best.im2col_words}-word im2col {best.ln_product} LN: "
                    f"{best.ms:.3f} ms/image, {best.ddr_gbps:.2f} GB/s, BRAM36 {best.bram36}, "
                    f"URAM {best.uram}")
            best = best.to_dict()
        except error:
            text, best = "no design of the sweep fits", None
        print(f"  {n:>5} | {p.ms:.3f}, {p.ddr_gbps:.2f}, {p.bram36}, {p.uram}, "
              f"{'yes' if p.fits else 'no'} | {text}", flush=True)
        out.append({"batch": n, "chosen_design": p.to_dict(), "best": best})
    return out


if __name__ == "__main__":
    main()
