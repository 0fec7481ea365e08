"""``ivit-hls quantize``: timm model → calibrated I-ViT integer model file."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from ..errors import IvitError

NAME = "quantize"
#: More random calibration images than this only costs memory (the ranges are EMAs).
MAX_CALIB_RANDOM = 4096
HELP = "quantize a timm ViT/DeiT into an integer-only model file (.ivit)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..api import SUPPORTED_MODELS

    p.add_argument("--model", required=True, help=f"one of {', '.join(SUPPORTED_MODELS)}")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", metavar="FILE", help="local float weights (state dict)")
    src.add_argument("--pretrained", action="store_true",
                     help="timm's own pretrained weights (needs the network)")
    cal = p.add_mutually_exclusive_group()
    cal.add_argument("--calib-dir", metavar="DIR", help="calibrate on the images in DIR")
    cal.add_argument("--calib-random", metavar="N", type=int,
                     help="calibrate on N deterministic random images (default 8, as generate)")
    p.add_argument("--gelu-form", choices=["shift", "symmetric", "rowmax", "table"],
                   default="shift",
                   help="GELU form: shift (default, no per-element division), symmetric (exact "
                        "division), rowmax (the paper's), table (per-layer 256-entry table)")
    p.add_argument("--exp-form", choices=["corrected", "paper"], default="corrected",
                   help="ShiftExp of Shiftmax: corrected (default, bias-corrected) or paper")
    p.add_argument("--seed", type=int, default=0, help="random init / random images seed")
    p.add_argument("--out", required=True, metavar="FILE", help="integer model file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from .. import api, ir
    from ..hls.options import parse_seed
    from ..preprocess import image_files
    from ..qat import QuantConfig

    out = Path(args.out)
    if out.is_dir():
        raise IvitError(f"{out} is a directory; --out names the model file to write")
    if out.exists() and not args.force:
        raise IvitError(f"{out} exists; pass --force to overwrite it")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise IvitError(f"{parent}: not writable")
    api.timm_name(args.model)
    parse_seed(args.seed)
    if args.calib_random is not None and not 1 <= args.calib_random <= MAX_CALIB_RANDOM:
        raise IvitError(f"--calib-random {args.calib_random}: needs N >= 1 and at most "
                        f"{MAX_CALIB_RANDOM}")
    calib_files = image_files(args.calib_dir) if args.calib_dir else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = api.quantize_model(args.model, checkpoint=args.checkpoint,
                                   pretrained=args.pretrained, calib_files=calib_files,
                                   calib_random=args.calib_random or api.DEFAULT_CALIB_IMAGES,
                                   seed=args.seed,
                                   progress=not args.quiet,
                                   config=QuantConfig(gelu_form=args.gelu_form,
                                                      exp_form=args.exp_form))
    ir.ranges.check(model)
    ir.save(model, out)
    if args.checkpoint is None and not args.pretrained:  # after success: errors stay one line
        print(f"note: no --checkpoint, {args.model} uses a deterministic random init "
              f"(seed {args.seed}); its predictions are meaningless", file=sys.stderr)
    print(f"wrote {out} ({len(model.layers)} layers, {model.param_bytes() / 1e6:.1f} MB of "
          f"integer parameters)")
    return 0
