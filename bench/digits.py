"""The digits experiment (FP32 → I-ViT PTQ → QAT, integer-only golden accuracy) as a report.

Usage: python bench/digits.py [--seeds 0 1 2] [--out docs/results/digits.md]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

from digits_experiment import DIGITS_VIT, run_digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default=None, help="also write a markdown report here")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        r = run_digits(seed=seed)
        rows.append((seed, r))
        print(f"seed {seed}: FP32 {r.fp32_acc:.4f}  PTQ {r.ptq_acc:.4f}  QAT {r.qat_acc:.4f} "
              f"(QAT torch {r.qat_torch_acc:.4f})  {r.seconds:.0f} s")
    if args.out:
        lines = [
            "# Digits: FP32 vs integer-only I-ViT",
            "",
            "scikit-learn's bundled 8×8 digits (1797 images, stratified 80/20 split), upsampled to",
            f"16×16, on a timm `VisionTransformer({', '.join(f'{k}={v}' for k, v in DIGITS_VIT.items())})`.",
            "FP32: AdamW lr 1e-3, one-cycle schedule, batch 32, 30 epochs. I-ViT: calibration on",
            "512 training images (EMA min/max), then 2 epochs of QAT (AdamW lr 5e-5, cosine). The",
            "integer accuracy is the golden numpy model's (integer-only argmax) on the test split.",
            "",
            "| seed | FP32 | I-ViT PTQ (golden) | I-ViT QAT (golden) | QAT minus FP32 | wall time |",
            "|---|---|---|---|---|---|",
        ]
        for seed, r in rows:
            lines.append(f"| {seed} | {100 * r.fp32_acc:.2f} % | {100 * r.ptq_acc:.2f} % | "
                         f"{100 * r.qat_acc:.2f} % | {100 * (r.qat_acc - r.fp32_acc):+.2f} pt | "
                         f"{r.seconds:.0f} s |")
        lines += ["", f"Measured with `python bench/digits.py --seeds {' '.join(map(str, args.seeds))}"
                  f" --out {args.out}` on {platform.machine()}, {torch.get_num_threads()} threads, "
                  f"torch {torch.__version__}.", ""]
        Path(args.out).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
