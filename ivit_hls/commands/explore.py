"""``ivit-hls explore``: sweep the engine's array shape and lanes on a part's budget."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import IvitError

NAME = "explore"
HELP = "design-space exploration: array shape and vector lanes vs latency, DSP, BRAM, URAM, DDR"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..hls.options import DEFAULT_CLOCK, DEFAULT_PART

    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a supported model name (deterministic random init)")
    src.add_argument("--ivit", metavar="FILE", help="an integer model file (.ivit)")
    p.add_argument("--checkpoint", metavar="FILE", help="float weights for --model")
    p.add_argument("--seed", type=int, default=0, help="random init seed for --model")
    p.add_argument("--part", default=DEFAULT_PART,
                   help=f"FPGA part or board (ZCU102, KV260, U250, U55C; default {DEFAULT_PART})")
    p.add_argument("--clock", default=DEFAULT_CLOCK, help=f"target clock (default {DEFAULT_CLOCK})")
    p.add_argument("--batch", type=int, default=1,
                   help="images held on chip and run together, each weight read once per "
                        "batch; cycles and ms are per image (default 1)")
    p.add_argument("--out", metavar="DIR", default="explore",
                   help="folder for explore.json and explore.png (default ./explore)")
    p.add_argument("--top", type=int, default=12, help="Pareto rows to print (default 12)")


def resolve_part(text: str) -> str:
    """A board name (ZCU102, KV260, U250, U55C) or a part name."""
    from ..hls.options import parse_part
    from ..perf.parts import BOARDS

    for board, part in BOARDS.items():
        if str(text).lower() == board.lower():
            return part
    return parse_part(text)


def run(args: argparse.Namespace) -> int:
    from ..hls.options import parse_batch, parse_clock, parse_seed
    from ..perf.explore import explore, plot
    from .generate import load_model

    part = resolve_part(args.part)
    clock = parse_clock(args.clock)
    parse_seed(args.seed)
    parse_batch(args.batch)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise IvitError(f"--out {out}: exists and is not a folder")
    model = load_model(args)
    result = explore(model, part, clock, args.batch)
    out.mkdir(parents=True, exist_ok=True)
    data = {k: v for k, v in result.items() if k not in ("points", "pareto", "best")}
    data.update(points=[p.to_dict() for p in result["points"]],
                pareto=[p.to_dict() for p in result["pareto"]], best=result["best"].to_dict())
    (out / "explore.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    plotted = plot(result, out / "explore.png")
    front = result["pareto"]
    print(f"{model.config.get('name')} on {part} at {clock:g} MHz: {len(result['points'])} "
          f"designs at batch {args.batch}, {sum(p.fits for p in result['points'])} fit, "
          f"{len(front)} on the Pareto "
          f"set (MAC-bound ideal of the best array: {result['mac_bound_ms']} ms)")
    print(f"{'array':>9} {'lanes':>5} {'epi':>4} {'att':>4} {'helpers':>13} {'im2col':>6} "
          f"{'LN':>5} "
          f"{'cycles':>12} {'ms':>8} "
          f"{'xMAC':>6} {'DSP':>6} {'LUT':>8} {'BRAM36':>6} {'URAM':>5} {'DDR GB/s':>9}")
    for p in front[:args.top]:
        print(f"{p.rows:>4}x{p.cols:<4} {p.lanes:>5} {p.drain:>4} {p.att_lanes:>4} {p.helpers:>13} "
              f"{p.im2col_words:>6} {p.ln_product:>5} "
              f"{round(p.cycles):>12,} {p.ms:>8.3f} {p.ratio:>6.3f} {p.dsp:>6} {p.luts:>8,} "
              f"{p.bram36:>6} {p.uram:>5} {p.ddr_gbps:>9.2f}")
    b = result["best"]
    print(f"chosen: --array {b.rows}x{b.cols} --lanes {b.lanes} --drain {b.drain} "
          f"--attention-lanes {b.att_lanes} --helpers {b.helpers} "
          f"--im2col-words {b.im2col_words} --ln-product {b.ln_product}: {b.ms:.3f} ms/image, "
          f"{b.ratio:.3f}x its MAC bound; wrote "
          f"{out / 'explore.json'}" + (f" and {out / 'explore.png'}" if plotted else
                                       " (no plot: matplotlib is not installed)"))
    return 0
