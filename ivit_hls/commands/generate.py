"""``ivit-hls generate``: integer model -> Vitis-ready HLS C++ project."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from ..errors import IvitError

NAME = "generate"
HELP = "generate a Vitis HLS C++ project (kernels, testbench, configs, estimate) for a model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..hls.options import DEFAULT_ARRAY, DEFAULT_CLOCK, DEFAULT_PART, DEFAULT_TB_IMAGES

    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a supported model name (quantized with a deterministic "
                                     "random init unless --checkpoint is given)")
    src.add_argument("--ivit", metavar="FILE", help="an integer model file (.ivit)")
    p.add_argument("--checkpoint", metavar="FILE", help="float weights for --model")
    p.add_argument("--out", required=True, metavar="DIR", help="project directory to create")
    p.add_argument("--array", default=DEFAULT_ARRAY,
                   help=f"systolic array ROWSxCOLS, or auto (the design `explore` chooses for "
                        f"--part and --clock; default {DEFAULT_ARRAY})")
    p.add_argument("--lanes", type=int, default=None, metavar="L",
                   help="vector lanes: rows of one column a vector unit takes per cycle "
                        "(default: the columns, at most the rows)")
    p.add_argument("--drain", type=int, default=None, metavar="E",
                   help="epilogue lanes: rows of one column a GEMM drain takes per cycle "
                        "(default: min(rows, columns))")
    p.add_argument("--attention-lanes", type=int, default=None, metavar="A",
                   help="the attention unit's drain rows and Shiftmax lanes (default: --lanes)")
    p.add_argument("--helpers", default="dsp", choices=("dsp", "vector-fabric", "fabric"),
                   help="where the multipliers outside the array go: DSP slices, the vector "
                        "lanes' in LUT fabric, or all in fabric (default dsp)")
    p.add_argument("--im2col-words", default=None, choices=("row", "half"),
                   help="the patch embedding's im2col buffer words: a patch row, or half of "
                        "one where a bank holds one token row (block RAM instead of "
                        "distributed RAM, a slower image load; default row)")
    p.add_argument("--ln-product", default=None, choices=("auto", "split", "whole"),
                   help="the LayerNorm normalize product: two products of the reciprocal's "
                        "halves on the epilogue multipliers, one on a long multiplier of its "
                        "own, or (auto, the default) the one that fits --part where only "
                        "one does, else whichever takes fewer DSPs, then LUTs")
    p.add_argument("--part", default=DEFAULT_PART,
                   help=f"FPGA part or board (ZCU102, KV260, U250, U55C; default {DEFAULT_PART})")
    p.add_argument("--clock", default=DEFAULT_CLOCK, help=f"target clock (default {DEFAULT_CLOCK})")
    p.add_argument("--tb-images", type=int, default=DEFAULT_TB_IMAGES, metavar="N",
                   help=f"golden test images the testbench checks (default {DEFAULT_TB_IMAGES})")
    p.add_argument("--batch", type=int, default=1, metavar="N",
                   help="images held on chip and run together, each weight read once per "
                        "batch (IVIT_MAX_BATCH; default 1)")
    p.add_argument("--seed", type=int, default=0, help="random init seed for --model")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out directory")


def load_model(args: argparse.Namespace):
    """The integer model named by ``--model`` or read from ``--ivit``."""
    from .. import ir

    if args.ivit:
        if args.checkpoint:
            raise IvitError("--checkpoint goes with --model, not --ivit")
        return ir.load(args.ivit)
    from ..api import quantize_model, timm_name

    timm_name(args.model)  # unknown names fail here, listing the supported ones
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_model(args.model, checkpoint=args.checkpoint, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    from ..hls.options import (HlsOptions, parse_array, parse_batch, parse_clock, parse_seed,
                               parse_tb_images)
    from .explore import resolve_part
    from ..hls.project import generate
    from ..outdir import check_out_dir

    start = time.perf_counter()
    auto = str(args.array).strip().lower() == "auto"
    rows, cols = (16, 16) if auto else parse_array(args.array)
    lanes = {"lanes": args.lanes, "drain": args.drain, "att_lanes": args.attention_lanes}
    flags = {"lanes": "--lanes", "drain": "--drain", "att_lanes": "--attention-lanes"}
    for flag, value in (("--im2col-words", args.im2col_words), ("--ln-product", args.ln_product)):
        if auto and value is not None:
            raise IvitError(f"{flag} goes with a fixed --array; --array auto chooses it itself")
    for key, value in lanes.items():
        if auto and (value is not None or args.helpers != "dsp"):
            raise IvitError(f"{flags[key] if value is not None else '--helpers'} goes with a "
                            "fixed --array; --array auto chooses the lanes and helpers itself")
        # a lane takes one row of a column: 1 .. the array's rows
        if value is not None and not 1 <= value <= rows:
            raise IvitError(f"{flags[key]} {value}: expected 1..{rows} (the array's rows)")
    lanes = {key: value or 0 for key, value in lanes.items()}  # 0: the default
    options = HlsOptions(rows=rows, cols=cols, **lanes, helpers=args.helpers,
                         im2col_words=args.im2col_words or "row",
                         ln_product=args.ln_product or "auto",
                         part=resolve_part(args.part),
                         clock_mhz=parse_clock(args.clock),
                         tb_images=parse_tb_images(args.tb_images),
                         batch=parse_batch(args.batch))
    parse_seed(args.seed)
    if args.ivit and args.seed:
        raise IvitError("--seed goes with --model, not --ivit")
    out = Path(args.out)
    check_out_dir(out, args.force)  # before the slow part
    model = load_model(args)
    if auto:
        import dataclasses

        from ..perf.explore import best_engine

        options = dataclasses.replace(options, **best_engine(model, options.part,
                                                             options.clock_mhz, options.batch))
        rows, cols = options.rows, options.cols
    generate(model, out, options, force=args.force)
    if args.model and args.checkpoint is None:  # after success: errors stay one line
        print(f"note: no --checkpoint, {args.model} uses a deterministic random init "
              f"(seed {args.seed}); the hardware is exact but its predictions are meaningless",
              file=sys.stderr)
    import json

    est = json.loads((out / "reports" / "estimate.json").read_text())
    res, ddr, arr, per = est["resources"], est["ddr"], est["array"], est["batch"]
    verdict = {True: "fits", False: "does NOT fit", None: "(capacities unknown for)"}[
        res.get("fits")]
    print(f"wrote {out}: {len(model.layers)} layers, {options.tb_images} golden image(s), "
          f"in {time.perf_counter() - start:.1f} s")
    print(f"engine model: {rows}x{cols} array, {arr['vector_lanes']} vector / "
          f"{arr['epilogue_lanes']} epilogue / {arr['attention_lanes']} attention lanes, "
          f"batch {options.batch}: "
          f"{per['cycles_per_image']:,} cycles/image = {per['ms_per_image']} ms at "
          f"{options.clock_mhz:g} MHz ({est['ratio_to_mac_bound']}x "
          f"the MAC bound), DDR {ddr['needed_gbps']} GB/s needed on a "
          f"{ddr['port_gbps']} GB/s weight port; DSP {res['dsp']}, BRAM36 {res['bram36']}, "
          f"URAM {res['uram']}: {verdict} {options.part}")
    return 0
