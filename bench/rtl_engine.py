"""Whole DeiT-tiny on the RTL engine: patch embedding, every encoder block, final norm and
head, run by hw/rtl/ivit_engine under Verilator behind cocotbext-axi memory models.

Checks the logits and every layer bit for bit against the golden model, sets the measured
cycles beside the analytic engine model (per layer kind and in total), and reports the
simulated cycles per second. Writes docs/results/rtl-engine.md with --write.

    python bench/rtl_engine.py [--depth 12] [--img-size 224] [--array 8] [--stall 0.2] [--write]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--img-size", type=int, default=224)
    ap.add_argument("--array", type=int, default=8)
    ap.add_argument("--stall", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="write docs/results/rtl-engine.md")
    args = ap.parse_args()

    from ivit_hls import golden
    from ivit_hls.api import quantize_model
    from ivit_hls.rtl import engine, engine_model, engine_sim

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_model("deit_tiny", depth=args.depth, img_size=args.img_size,
                               calib_random=2, seed=args.seed)
    image = np.random.default_rng(args.seed + 3).integers(
        -127, 128, size=(1, 3, args.img_size, args.img_size))
    gold = golden.run(model, image, trace=True)
    cfg = engine.EngineConfig(n=args.array)
    prog = engine.build_program(model, cfg)
    t_prep = time.perf_counter() - t0
    run = engine_sim.run_program(prog, engine.image_rows(model, image[0]), seed=args.seed,
                                 stall=args.stall)
    bad = engine_sim.first_mismatch(run, gold.trace, prog.layers)
    logits_ok = np.array_equal(run.output.reshape(-1), gold.logits[0])

    kinds = {ly.name: ly.kind for ly in model.layers}
    per_kind = defaultdict(lambda: [0, 0])
    for name, measured, modelled in engine_model.layer_cycles(prog, run.step_cycles):
        key = kinds.get(name, "(control)")
        per_kind[key][0] += measured
        per_kind[key][1] += modelled
    modelled = engine_model.program_cycles(prog)
    measured = run.compute_cycles
    macs = sum(g.macs for g in _gemms(model))
    ideal = macs / (cfg.n * cfg.n)

    lines = [f"DeiT-tiny, depth {args.depth}, {args.img_size}x{args.img_size} "
             f"({model.config['tokens']} tokens), {cfg.n}x{cfg.n} array, DATA_W {cfg.data_w}, "
             f"AXI stall probability {args.stall}",
             f"bit-exact: logits {logits_ok}, first differing layer: {bad or 'none'} "
             f"({len(prog.layers)} layers compared)",
             f"cycles without trace stores: measured {measured:,d}, model {modelled:,d} "
             f"({100.0 * (measured - modelled) / modelled:+.2f} %)",
             f"MAC-bound ideal ({macs:,d} MACs / {cfg.n * cfg.n}): {ideal:,.0f} cycles "
             f"-> array utilisation {100.0 * ideal / measured:.1f} %",
             f"simulation: {run.tb_cycles:,d} cycles in {run.wall_s:.1f} s = "
             f"{run.cycles_per_s:,.0f} cycles/s (preparation {t_prep:.1f} s)"]
    table = ["| layer kind | measured | model | difference |", "|---|---:|---:|---:|"]
    for key, (m, e) in sorted(per_kind.items(), key=lambda kv: -kv[1][0]):
        table.append(f"| {key} | {m:,d} | {e:,d} | {100.0 * (m - e) / max(e, 1):+.2f} % |")
    print("\n".join(lines + [""] + table))
    if args.write:
        out = ROOT / "docs" / "results" / "rtl-engine.md"
        cmd = (f"python bench/rtl_engine.py --depth {args.depth} --img-size {args.img_size} "
               f"--array {args.array} --stall {args.stall} --write")
        out.write_text("# The RTL engine on a whole model\n\n"
                       f"`{cmd}`\n\n" + "\n".join(f"- {ln}" for ln in lines) + "\n\n"
                       + "\n".join(table) + "\n")
        print(f"wrote {out}")
    return 0 if (bad is None and logits_ok) else 1


def _gemms(model):
    """The GEMM shape of every array layer, from the op table."""
    types = model.tensor_types()
    for ly in model.layers:
        g = ly.op.gemm(ly, [types[s] for s in ly.inputs])
        if g is not None:
            yield g


if __name__ == "__main__":
    sys.exit(main())
