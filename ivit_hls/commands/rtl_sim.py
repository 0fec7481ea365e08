"""``ivit-hls rtl-sim``: run a model (or one encoder block) on the RTL engine under Verilator."""

from __future__ import annotations

import argparse

import numpy as np

from ..errors import IvitError

NAME = "rtl-sim"
HELP = ("run an integer model, or one encoder block, on the SystemVerilog engine "
        "(hw/rtl/ivit_engine) under Verilator behind AXI memory models; compare every layer "
        "with the golden model and report cycles measured vs modelled")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="integer model file (.ivit)")
    p.add_argument("--block", type=int, metavar="I",
                   help="run only encoder block I (its input from the golden model)")
    p.add_argument("--array", type=int, default=8, metavar="N",
                   help="array rows = columns = vector lanes (2, 4, 8 or 16; default 8)")
    p.add_argument("--sdepth", type=int, default=8192, metavar="WORDS",
                   help="activation buffer words per bank (default 8192)")
    p.add_argument("--stall", type=float, default=0.0, metavar="P",
                   help="probability of an idle cycle on every AXI channel (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the image and the stalls")


def run(args: argparse.Namespace) -> int:
    from .. import golden, ir
    from ..rtl import engine, engine_model, engine_sim

    if not 0.0 <= args.stall < 1.0:
        raise IvitError("--stall must be in [0, 1)")
    if not 0 <= args.seed < 2 ** 63:
        raise IvitError(f"--seed {args.seed}: needs 0 <= seed < 2^63")
    model = ir.load(args.file)
    bits = model.config.get("bits", {})
    cfg = engine.EngineConfig(n=args.array, sdepth=args.sdepth,
                              exp_form=bits.get("exp_form", "corrected"),
                              gelu_form=bits.get("gelu_form", "shift"))
    c = model.config
    rng = np.random.default_rng(args.seed)
    image = rng.integers(-127, 128, size=(1, c["in_chans"], c["img_size"], c["img_size"]))
    trace = golden.run(model, image, trace=True).trace
    if args.block is not None:
        if not 0 <= args.block < c["depth"]:
            raise IvitError(f"--block {args.block}: the model has blocks 0..{c['depth'] - 1}")
        layers = [ly for ly in model.layers if ly.name.startswith(f"blocks.{args.block}.")]
        prog = engine.build_program(model, cfg, layers)
        x = trace[layers[0].inputs[0]][0]
    else:
        prog = engine.build_program(model, cfg)
        x = engine.image_rows(model, image[0])
    run_ = engine_sim.run_program(prog, x, seed=args.seed, stall=args.stall)
    bad = engine_sim.first_mismatch(run_, trace, prog.layers)
    modelled = engine_model.program_cycles(prog)
    measured = run_.compute_cycles
    for name, m, e in engine_model.layer_cycles(prog, run_.step_cycles):
        print(f"{name:28s} measured {m:>10,d}  model {e:>10,d}")
    print(f"cycles: measured {measured:,d} (without trace stores), model {modelled:,d} "
          f"({100.0 * (measured - modelled) / modelled:+.2f} %); "
          f"{run_.cycles_per_s:,.0f} simulated cycles/s")
    if bad is not None:
        raise IvitError(f"the engine differs from the golden model, first at layer {bad}")
    print(f"all {len(prog.layers)} layers bit-exact with the golden model")
    return 0
