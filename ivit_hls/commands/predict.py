"""``ivit-hls predict``: integer-only classification with the golden model."""

from __future__ import annotations

import argparse

import numpy as np

from ..errors import IvitError

NAME = "predict"
HELP = "classify images with an integer model file (golden numpy model, integer-only)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="integer model file (.ivit)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", nargs="+", metavar="IMG", help="image files")
    src.add_argument("--random-image", type=int, metavar="SEED",
                     help="a deterministic random normalized image (smoke test)")
    p.add_argument("--top", type=int, default=5, help="how many classes to print (default 5)")


def class_names(num_classes: int) -> list[str] | None:
    """ImageNet class names when the model has 1000 classes and timm ships them."""
    if num_classes != 1000:
        return None
    try:
        from timm.data import ImageNetInfo

        info = ImageNetInfo()
        return [info.index_to_description(i) for i in range(num_classes)]
    except Exception:  # names are a convenience; indices are always printed
        return None


def run(args: argparse.Namespace) -> int:
    from ivit_host.cliutil import print_topk

    from .. import golden, ir
    from ..preprocess import load_image

    if args.top < 1:
        raise IvitError("--top must be >= 1")
    if args.random_image is not None and args.random_image < 0:
        raise IvitError("--random-image needs a seed >= 0")
    model = ir.load(args.file)
    ir.ranges.check(model)  # a model whose integers could overflow gives no answer at all
    cfg = model.config
    if args.image:
        labels = args.image
        images = np.stack([load_image(f, cfg["input"], cfg["img_size"], cfg["in_chans"])
                           for f in args.image])
    else:
        rng = np.random.default_rng(args.random_image)
        labels = [f"random image (seed {args.random_image})"]
        images = rng.standard_normal((1, cfg["in_chans"], cfg["img_size"], cfg["img_size"]))
    result = golden.run(model, golden.quantize_image(model, images))
    names = class_names(cfg["num_classes"])
    top = result.topk(min(args.top, cfg["num_classes"]))
    for label, logits, classes in zip(labels, result.logits, top):
        print_topk(str(label), logits, classes, names)
    return 0
