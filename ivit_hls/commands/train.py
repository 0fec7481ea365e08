"""``ivit-hls train``: QAT fine-tuning with the I-ViT paper's recipe, PTQ reported beside it."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from ..errors import IvitError

NAME = "train"
HELP = ("quantization-aware fine-tuning from a float checkpoint on an ImageFolder (the I-ViT "
        "recipe: AdamW, cosine, wd 1e-4, batch 128, mixup/cutmix, label smoothing), with "
        "checkpoints, resume, torchrun/DDP, and the integer model file at the end; "
        "--epochs 0 is PTQ (calibration only)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..api import SUPPORTED_MODELS

    p.add_argument("--model", required=True, help=f"one of {', '.join(SUPPORTED_MODELS)}")
    p.add_argument("--checkpoint", metavar="FILE", help="float weights to start from")
    p.add_argument("--data", required=True, metavar="DIR", help="training ImageFolder")
    p.add_argument("--val", metavar="DIR",
                   help="validation ImageFolder: FP32, PTQ and QAT top-1/top-5 side by side")
    p.add_argument("--out-dir", required=True, metavar="DIR",
                   help="qat.pt (checkpoint, resumed when present), ptq.ivit, model.ivit, "
                        "result.json")
    p.add_argument("--epochs", type=int, default=30, help="QAT epochs (paper: 30-90; 0 = PTQ)")
    p.add_argument("--lr", type=float, default=1e-6, help="AdamW learning rate (paper: 2e-7..2e-6)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=128, help="per process")
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--mixup", type=float, default=0.8, help="mixup alpha (0: off)")
    p.add_argument("--cutmix", type=float, default=1.0, help="cutmix alpha (0: off)")
    p.add_argument("--smoothing", type=float, default=0.1, help="label smoothing")
    p.add_argument("--calib", type=int, default=256, metavar="N",
                   help="calibration images before QAT (and for PTQ)")
    p.add_argument("--gelu-form", choices=["shift", "symmetric", "rowmax", "table"],
                   default="shift")
    p.add_argument("--exp-form", choices=["corrected", "paper"], default="corrected")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    p.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, cuda:N")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N training images")
    p.add_argument("--stop-after-epoch", type=int, metavar="E",
                   help="end this run after epoch E (a rerun resumes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--img-size", type=int, metavar="PX",
                   help="build the model for another image size (smoke tests)")
    p.add_argument("--depth", type=int, metavar="N",
                   help="build a shallower model: N blocks (Swin: at most N per stage; smoke tests)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _check(args) -> None:
    for name in ("epochs", "warmup_steps"):
        if getattr(args, name) < 0:
            raise IvitError(f"--{name.replace('_', '-')} {getattr(args, name)}: needs >= 0")
    for name in ("lr", "weight_decay", "mixup", "cutmix", "smoothing"):
        v = getattr(args, name)
        if not v >= 0 or v != v:
            raise IvitError(f"--{name.replace('_', '-')} {v}: needs a number >= 0")
    if args.smoothing >= 1:
        raise IvitError(f"--smoothing {args.smoothing}: needs < 1")
    if args.calib < 1:
        raise IvitError(f"--calib {args.calib}: needs at least 1 image")
    if args.stop_after_epoch is not None and args.stop_after_epoch < 1:
        raise IvitError(f"--stop-after-epoch {args.stop_after_epoch}: needs >= 1")
    out = Path(args.out_dir)
    if out.exists() and not out.is_dir():
        raise IvitError(f"--out-dir {out}: exists and is not a directory")


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _validate(val, fp, q, args, device, label: str, result: dict) -> None:
    from ..qat.evaluate import batches_total, evaluate, float_scorer, integer_scorer, loader

    # the float weights move during QAT: the first run is the FP32 baseline
    fp_label = "fp32" if "fp32" not in result.get("val", {}) else "fp32 (QAT weights)"
    scorers = {fp_label: float_scorer(fp, device), label: integer_scorer(q, device)}
    res = evaluate(scorers, loader(val, args.batch_size, args.workers),
                   progress=not args.quiet, total=batches_total(val, args.batch_size))
    result.setdefault("val", {}).update(res["models"])
    result.setdefault("agreement", {}).update(res["agreement"])


def run(args: argparse.Namespace) -> int:
    import torch

    from .. import api, ir
    from ..qat import QuantConfig, calibrate
    from ..qat.evaluate import InputSpec, format_table, image_folder, loader, pick_device
    from ..qat.swin import check_model, quant_model
    from ..qat.train import TrainConfig, train_qat

    _check(args)
    api.timm_name(args.model)
    for name in ("data", "val"):   # before --out-dir is created
        folder = getattr(args, name, None)
        if folder is not None and not Path(folder).is_dir():
            raise IvitError(f"--{name} {folder}: not a directory")
    device = pick_device(args.device)
    if device.type == "cuda" and "LOCAL_RANK" in os.environ:  # torchrun: one GPU per process
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt, result_file = out / "qat.pt", out / "result.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp = api.create_float_model(args.model, checkpoint=args.checkpoint, seed=args.seed,
                                      depth=args.depth, img_size=args.img_size)
    check_model(fp)
    q = quant_model(fp, QuantConfig(gelu_form=args.gelu_form, exp_form=args.exp_form))
    spec = InputSpec.of(q.img_size, q.in_chans, q.input_cfg)
    train_ds = image_folder(args.data, spec, train=True, limit=args.limit,
                            num_classes=q.num_classes)
    val = image_folder(args.val, spec, num_classes=q.num_classes) if args.val else None
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    if not ckpt.is_file():  # a fresh run: calibrate (PTQ), report it, then fine-tune
        calib = image_folder(args.data, spec, limit=args.calib, num_classes=q.num_classes)
        with torch.no_grad():
            calibrate(q.to(device), ((x.to(device), y) for x, y in
                                     loader(calib, args.batch_size, args.workers)),
                      progress=not args.quiet and _rank() == 0)
        result = {"model": args.model, "checkpoint": args.checkpoint, "recipe": {
            k: getattr(args, k) for k in ("epochs", "lr", "weight_decay", "batch_size",
                                          "mixup", "cutmix", "smoothing", "calib",
                                          "gelu_form", "exp_form", "seed")}}
        if _rank() == 0:
            ir.save(q.export(args.model), out / "ptq.ivit")
            if val is not None:
                _validate(val, fp, q, args, device, "integer (PTQ)", result)
            result_file.write_text(json.dumps(result, indent=2) + "\n")
    if args.epochs > 0:
        cfg = TrainConfig(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                          batch_size=args.batch_size, warmup_steps=args.warmup_steps,
                          checkpoint=str(ckpt), stop_after_epoch=args.stop_after_epoch,
                          progress=not args.quiet, seed=args.seed, workers=args.workers,
                          label_smoothing=args.smoothing, mixup=args.mixup, cutmix=args.cutmix)
        start = time.monotonic()
        losses = train_qat(q, train_ds, cfg, device)
        done = int(torch.load(ckpt, map_location="cpu", weights_only=False)["epoch"])
        if _rank() != 0:
            return 0
        result.setdefault("epochs_run", []).append(
            {"losses": losses, "seconds": round(time.monotonic() - start, 1), "done": done})
        if done < args.epochs:
            result_file.write_text(json.dumps(result, indent=2) + "\n")
            print(f"stopped after epoch {done}/{args.epochs}; rerun the same command to resume")
            return 0
        ir.save(q.export(args.model), out / "model.ivit")
        if val is not None:
            _validate(val, fp, q, args, device, "integer (QAT)", result)
    elif _rank() == 0:
        ir.save(q.export(args.model), out / "model.ivit")  # PTQ: the calibrated model
    if _rank() == 0:
        result_file.write_text(json.dumps(result, indent=2) + "\n")
        if "val" in result:
            print(format_table({"models": result["val"], "agreement": result["agreement"]}))
        print(f"wrote {out / 'model.ivit'} and {result_file}", file=sys.stderr)
    return 0
