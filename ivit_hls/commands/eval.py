"""``ivit-hls eval``: FP32 and integer-only top-1/top-5 side by side on an ImageFolder."""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

from ..errors import IvitError

NAME = "eval"
HELP = ("top-1/top-5 of the FP32 model and the integer-only model on an ImageFolder, side by "
        "side, with the agreement of their argmaxes")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..api import SUPPORTED_MODELS

    p.add_argument("--model", help=f"one of {', '.join(SUPPORTED_MODELS)} (needed with "
                   "--checkpoint)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="float weights (state dict: FP32 + PTQ integer model) or a "
                        "`train` checkpoint (qat.pt: FP32 + QAT integer model)")
    p.add_argument("--ivit", metavar="FILE",
                   help="an integer model file, run by the numpy golden model")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="ImageFolder to evaluate (one sub-folder per class, sorted = class index)")
    p.add_argument("--calib-data", metavar="DIR",
                   help="ImageFolder for PTQ calibration (default: --data)")
    p.add_argument("--calib", type=int, default=32, metavar="N",
                   help="PTQ calibration images (default 32)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="DataLoader worker processes")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N images")
    p.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, cuda:N")
    p.add_argument("--gelu-form", choices=["shift", "symmetric", "rowmax", "table"],
                   default="shift", help="ShiftGELU form of the PTQ model")
    p.add_argument("--exp-form", choices=["corrected", "paper"], default="corrected",
                   help="ShiftExp form of the PTQ model")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--img-size", type=int, metavar="PX",
                   help="build the model for another image size (smoke tests)")
    p.add_argument("--depth", type=int, metavar="N",
                   help="build a shallower model: N blocks (Swin: at most N per stage; smoke tests)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def load_qat_checkpoint(path: Path):
    """The state of a ``train`` checkpoint, or None when ``path`` holds plain float weights."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # not ours: the float loader gives the one-line reason
        return None
    if isinstance(state, dict) and {"model", "epoch", "optimizer"} <= set(state):
        return state
    return None


def integer_model(model_name: str, checkpoint: Path, args, calib_root: str | None):
    """``(float model, QAT module, mode)`` from a float or ``train`` checkpoint."""
    import torch

    from .. import api
    from ..qat import QuantConfig, calibrate
    from ..qat.evaluate import InputSpec, image_folder, loader
    from ..qat.swin import check_model, quant_model

    cfg = QuantConfig(gelu_form=args.gelu_form, exp_form=args.exp_form)
    if not checkpoint.is_file():
        raise IvitError(f"checkpoint {checkpoint}: no such file")
    state = load_qat_checkpoint(checkpoint)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if state is not None:
            fp = api.create_float_model(model_name, depth=args.depth, img_size=args.img_size)
            saved = state.get("config")
            q = quant_model(fp, QuantConfig(**saved) if isinstance(saved, dict) else cfg)
            try:
                q.load_state_dict(state["model"])
            except RuntimeError as exc:
                raise IvitError(f"checkpoint {checkpoint} is not a {model_name} QAT "
                                f"checkpoint: {str(exc).splitlines()[0]}") from None
            return fp, q.eval(), "QAT"
        fp = api.create_float_model(model_name, checkpoint=checkpoint, depth=args.depth,
                                        img_size=args.img_size)
    check_model(fp)
    q = quant_model(fp, cfg)
    if args.calib < 1:
        raise IvitError(f"--calib {args.calib}: PTQ needs at least one calibration image")
    spec = InputSpec.of(q.img_size, q.in_chans, q.input_cfg)
    calib = image_folder(calib_root, spec, limit=args.calib, num_classes=q.num_classes)
    with torch.no_grad():
        calibrate(q, loader(calib, args.batch_size, args.workers), progress=not args.quiet)
    return fp, q, "PTQ"


def run(args: argparse.Namespace) -> int:
    from .. import api, ir
    from ..qat.evaluate import (InputSpec, batches_total, evaluate, float_scorer, format_table,
                                golden_scorer, image_folder, integer_scorer, loader, pick_device)

    if args.checkpoint is None and args.ivit is None:
        raise IvitError("give --checkpoint (float or train checkpoint) and/or --ivit")
    if args.checkpoint is not None and args.model is None:
        raise IvitError("--checkpoint needs --model")
    if args.model is not None:
        api.timm_name(args.model)
    device = pick_device(args.device)
    scorers, spec, classes = {}, None, None
    if args.checkpoint is not None:
        fp, q, mode = integer_model(args.model, Path(args.checkpoint), args,
                                    args.calib_data or args.data)
        spec = InputSpec.of(q.img_size, q.in_chans, q.input_cfg)
        classes = q.num_classes
        scorers["fp32"] = float_scorer(fp, device)
        scorers[f"integer ({mode})"] = integer_scorer(q, device)
    if args.ivit is not None:
        model = ir.load(args.ivit)
        ir.ranges.check(model)
        c = model.config
        file_spec = InputSpec.of(c["img_size"], c["in_chans"], c["input"])
        if spec is not None and (spec.img_size, spec.in_chans) != (file_spec.img_size,
                                                                  file_spec.in_chans):
            raise IvitError(f"--ivit {args.ivit} takes {file_spec.in_chans}x{file_spec.img_size}"
                            f" images, --model {args.model} {spec.in_chans}x{spec.img_size}")
        spec = spec or file_spec
        classes = classes or c["num_classes"]
        scorers["integer (file, golden)"] = golden_scorer(model)
    data = image_folder(args.data, spec, limit=args.limit, num_classes=classes)
    result = evaluate(scorers, loader(data, args.batch_size, args.workers),
                      progress=not args.quiet, total=batches_total(data, args.batch_size))
    print(format_table(result))
    if args.json:
        result.update(model=args.model, checkpoint=args.checkpoint, ivit=args.ivit,
                      data=str(args.data), device=str(device))
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0
