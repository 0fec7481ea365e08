"""``ivit-host``: classify image files with a generated project's kernel on a board machine
(no torch, no ivit_hls needed). ``ivit-hls run`` shares ``add_run_arguments``/``run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .backends import BACKENDS
from .cliutil import OneLineParser, print_topk, run_cli
from .errors import HostError


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the ``run`` command."""
    p.add_argument("--project", required=True, metavar="DIR",
                   help="generated project directory (or its manifest.json)")
    p.add_argument("--backend", choices=BACKENDS, default="csim",
                   help="csim: C-simulation library (default); xrt: pyxrt; pynq: PYNQ")
    p.add_argument("--images", nargs="+", required=True, metavar="FILE", help="image files")
    p.add_argument("--xclbin", metavar="FILE",
                   help="hardware binary (default: DIR/vitis/<target>/ivit_top.xclbin)")
    p.add_argument("--target", choices=("hw", "hw_emu", "sw_emu"), default="hw",
                   help="which vitis/<target>/ivit_top.xclbin to use by default (default hw)")
    p.add_argument("--device", type=int, default=0, help="device index (default 0)")
    p.add_argument("--batch", type=int, default=8, help="images per kernel call (default 8)")
    p.add_argument("--top", type=int, default=5, help="classes to print per image (default 5)")
    p.add_argument("--labels", metavar="FILE", help="class names, one per line")


def _labels(path, num_classes: int) -> list[str] | None:
    if not path:
        return None
    try:
        names = Path(path).read_bytes().decode("utf-8").splitlines()
    except OSError as exc:
        raise HostError(f"labels {path}: unreadable ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise HostError(f"labels {path}: not UTF-8 text (byte {exc.start})") from None
    if len(names) < num_classes:
        raise HostError(f"labels {path}: {len(names)} names for {num_classes} classes")
    return names


def run(args: argparse.Namespace, out=None) -> int:
    """Check the project, the labels and the images first (cheap), then open the accelerator
    (which may compile the C-simulation), classify, print top-k per image and latency."""
    import time

    from .accelerator import open_accelerator, resolve_project
    from .manifest import Manifest
    from .preprocess import preprocess_files

    out = out or sys.stdout
    if args.top < 1:
        raise HostError("--top must be >= 1")
    if args.batch < 1:
        raise HostError("--batch must be >= 1")
    if args.device < 0:
        raise HostError("--device must be >= 0")
    manifest = Manifest.load(resolve_project(args.project))
    manifest.verify()  # before its input config is trusted
    names = _labels(args.labels, manifest.num_classes)
    start = time.perf_counter()
    images = preprocess_files(args.images, manifest.input_cfg, manifest.config["img_size"],
                              manifest.config["in_chans"])
    prep = time.perf_counter() - start
    with open_accelerator(args.project, args.backend, xclbin=args.xclbin, device=args.device,
                          target=args.target) as acc:
        result = acc.infer(images, top=args.top, batch_size=args.batch)
    result.preprocess_seconds = prep
    for path, logits, classes in zip(args.images, result.logits, result.top):
        print_topk(str(path), logits, classes, names, out)
    n, nb = len(result.logits), len(result.batch_seconds)
    print(f"{args.backend}: {n} image(s) in {nb} batch(es), {result.seconds * 1e3:.1f} ms "
          f"({result.seconds_per_image * 1e3:.2f} ms/image; batch of {args.batch}), "
          f"preprocessing {result.preprocess_seconds * 1e3:.1f} ms", file=out)
    return 0


def check(args: argparse.Namespace, out=None) -> int:
    """Verify a project (and its xclbin) against its manifest without running anything."""
    from .accelerator import XCLBIN_PATH, resolve_project
    from .manifest import Manifest
    from .xclbin import check_xclbin, read_xclbin

    out = out or sys.stdout
    manifest = Manifest.load(resolve_project(args.project))
    manifest.verify()
    print(f"{manifest.project}: manifest OK (kernel {manifest.kernel_name}, "
          f"{manifest.num_classes} classes, input {manifest.image_shape} {manifest.image_dtype})",
          file=out)
    path = Path(args.xclbin) if args.xclbin else manifest.project / XCLBIN_PATH.format(target=args.target)
    if args.xclbin or path.is_file():
        info = read_xclbin(path)
        check_xclbin(info, manifest)
        print(f"{path}: {info.mode} xclbin, kernel(s) {', '.join(info.kernels or info.kernel_args)} OK",
              file=out)
    else:
        print(f"no {path.relative_to(manifest.project)} yet (build it with `make {args.target}`)",
              file=out)
    return 0


def build_parser(argv=None) -> argparse.ArgumentParser:
    """``ivit-host run ...`` and ``ivit-host check ...``."""
    from . import __version__

    parser = OneLineParser(prog="ivit-host", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ivit-host {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of an internal error")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    subs.required = True
    r = subs.add_parser("run", help="classify image files with a project's kernel")
    add_run_arguments(r)
    r.set_defaults(_run=run)
    c = subs.add_parser("check", help="verify a project and its xclbin against manifest.json")
    c.add_argument("--project", required=True, metavar="DIR")
    c.add_argument("--xclbin", metavar="FILE")
    c.add_argument("--target", choices=("hw", "hw_emu", "sw_emu"), default="hw")
    c.set_defaults(_run=check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ivit-host`` console script (one error boundary, see cliutil)."""
    return run_cli("ivit-host", build_parser, argv)


if __name__ == "__main__":
    sys.exit(main())
