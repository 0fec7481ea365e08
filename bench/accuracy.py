"""Accuracy and ablation report: FP32, PTQ, QAT and each nonlinear-op ablation, three seeds,
integer-only accuracy and logit fidelity, with each ablation's hardware cost from
docs/results/synthesis.md (the paper's ablation table, extended with cost).

Usage: python bench/accuracy.py [--seeds 0 1 2] [--out docs/results/accuracy.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_experiment import ACC_VIT, VARIANTS, run_seed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SYNTHESIS = ROOT / "docs" / "results" / "synthesis.md"

#: The RTL units (rows of synthesis.md) that implement each variant's softmax exp and GELU.
EXP_UNIT = {("shift", "corrected"): "ShiftExp x4 (corrected)",
            ("shift", "paper"): "ShiftExp x4 (paper)",
            ("ibert", "corrected"): "I-BERT i-exp x4", ("ibert", "paper"): "I-BERT i-exp x4"}
GELU_UNIT = {"shift": "ShiftGELU x4 (shift)", "table": "GELU table x4",
             "symmetric": "ShiftGELU x4 (symmetric)", "rowmax": "ShiftGELU x4 (row-max)",
             "ibert": "I-BERT i-GELU x4"}


def synthesis_costs(path: Path = SYNTHESIS) -> dict:
    """``{unit label: (LUT, DSP)}`` from the Yosys table of synthesis.md (empty if absent)."""
    if not path.is_file():
        return {}
    costs = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.fullmatch(r"\d+", cells[3] or "") and cells[1].startswith("`"):
            costs[cells[0]] = (int(cells[3]), int(cells[5]))
    return costs


def cost_text(variant, costs: dict) -> str:
    """The variant's nonlinear units and their LUT/DSP, or that synthesis.md lacks them."""
    if not variant.integer_only:
        return "float units (not integer-only)"
    gelu_key = "ibert" if variant.gelu == "ibert" else variant.gelu_form
    parts = []
    for label in (EXP_UNIT[(variant.softmax, variant.exp_form)], GELU_UNIT[gelu_key]):
        if label in costs:
            parts.append(f"{label}: {costs[label][0]} LUT / {costs[label][1]} DSP")
        else:
            parts.append(f"{label}: not in synthesis.md")
    return "; ".join(parts)


def report(results: list, seconds: float, args) -> str:
    """The markdown report of ``run_seed`` results."""
    costs = synthesis_costs()
    seeds = [r.seed for r in results]
    fp32 = [r.fp32_acc for r in results]
    lines = [
        "# Accuracy of the integer-only variants (PTQ, QAT, ablations)",
        "",
        "scikit-learn's bundled digits at their native 8×8, a stratified **20 % training split**",
        f"(359 images; the first {args.test_limit} of the 1438 test images), on a deeper timm "
        f"`VisionTransformer({', '.join(f'{k}={v}' for k, v in ACC_VIT.items())})`: a harder",
        "task than docs/results/digits.md (FP32 well below 100 %), to see whether variants separate.",
        f"FP32: AdamW 1e-3, one-cycle, {args.float_epochs} epochs. Each variant starts from the",
        "same FP32 model: calibration on 256 training images (EMA min/max), then (QAT) "
        f"{args.qat_epochs} epochs",
        f"of AdamW {args.qat_lr:g}, cosine. Integer accuracy is the golden numpy model's",
        "(integer-only argmax), asserted equal to the QAT forward's integers on every test image.",
        "Logit fidelity compares each variant's real logits (integers × scale) with FP32's on",
        "the test split: KL(FP32 ‖ variant) of the softmaxes (nats, mean over images) and",
        "top-1 agreement. Hardware cost: the Yosys counts of the variant's exp and GELU units",
        "(4 lanes, `xcup`) from [synthesis.md](synthesis.md).",
        "",
        f"FP32 accuracy: {', '.join(f'{a:.2f} %' for a in fp32)} (seeds "
        f"{', '.join(map(str, seeds))}).",
        "",
        "| variant | integer-only | accuracy % (mean; per seed) | Δ vs FP32 (pt) | KL (nats) | "
        "top-1 agreement % | nonlinear units (LUT / DSP) |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in VARIANTS:
        rows = [row for r in results for row in r.rows if row.variant == v.name]
        if not rows:
            continue
        acc = np.array([row.acc for row in rows])
        delta = acc - np.array(fp32[:len(acc)])
        lines.append(
            f"| {v.name} | {'yes' if v.integer_only else '**no**'} | {acc.mean():.2f} "
            f"({', '.join(f'{a:.2f}' for a in acc)}) | {delta.mean():+.2f} | "
            f"{np.mean([row.kl for row in rows]):.4f} | "
            f"{np.mean([row.agreement for row in rows]):.2f} | {cost_text(v, costs)} |")
    lines += [
        "",
        "![accuracy and KL per variant](accuracy.png)",
        "",
        f"Measured with `python bench/accuracy.py --seeds {' '.join(map(str, seeds))} "
        f"--float-epochs {args.float_epochs} --qat-epochs {args.qat_epochs} --test-limit "
        f"{args.test_limit}` on "
        f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"in {seconds / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


def plot(results: list, path: Path) -> None:
    """Accuracy (mean, min-max over seeds) and KL per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [v.name for v in VARIANTS if any(row.variant == v.name
                                             for r in results for row in r.rows)]
    acc = [[row.acc for r in results for row in r.rows if row.variant == n] for n in names]
    kl = [np.mean([row.kl for r in results for row in r.rows if row.variant == n])
          for n in names]
    mean = np.array([np.mean(a) for a in acc])
    err = np.array([[m - min(a), max(a) - m] for m, a in zip(mean, acc)]).T
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 0.45 * len(names) + 1.5), sharey=True)
    y = np.arange(len(names))
    ax1.barh(y, mean, xerr=err, color="tab:blue")
    fp32 = np.mean([r.fp32_acc for r in results])
    ax1.axvline(fp32, color="k", ls="--", label=f"FP32 {fp32:.2f} %")
    ax1.set_xlim(max(0, mean.min() - 5), 100)
    ax1.set_xlabel("test accuracy % (mean, min–max over seeds)")
    ax1.set_yticks(y, names)
    ax1.invert_yaxis()
    ax1.legend(loc="lower left")
    ax2.barh(y, kl, color="tab:orange")
    ax2.set_xlabel("KL(FP32 ‖ variant), nats")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--float-epochs", type=int, default=60)
    parser.add_argument("--qat-epochs", type=int, default=2)
    parser.add_argument("--test-limit", type=int, default=800,
                        help="score the first N test images (all: 1438)")
    parser.add_argument("--qat-lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: fastest on a shared, busy machine)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "results" / "accuracy.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.time()
    results = []
    for seed in args.seeds:
        r = run_seed(seed, float_epochs=args.float_epochs, qat_epochs=args.qat_epochs,
                     qat_lr=args.qat_lr, test_limit=args.test_limit)
        results.append(r)
        print(f"seed {seed}: FP32 {r.fp32_acc:.2f} %")
        for row in r.rows:
            print(f"  {row.variant:<48} {row.acc:6.2f} %  KL {row.kl:.4f}  agree "
                  f"{row.agreement:6.2f} %  {row.seconds:.0f} s")
    out = Path(args.out)
    out.write_text(report(results, time.time() - start, args))
    out.with_suffix(".json").write_text(json.dumps(
        [{"seed": r.seed, "fp32": r.fp32_acc, "rows": [vars(row) for row in r.rows]}
         for r in results], indent=1) + "\n")
    plot(results, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
