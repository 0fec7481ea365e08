"""Golden numpy model vs PyTorch FP32: DeiT-S, one image, same CPU, measured in one run.

Each round times both back to back (median of ``--repeats`` runs each), so a change in the
machine's load between rounds hits both sides of that round's ratio; the summary gives the
median ratio over the rounds and its spread (target <= 2).
``--threads N`` gives both sides N threads (BLAS and PyTorch); on a machine shared with other
jobs, one thread each avoids the spinning thread barriers that make both sides erratic, and
``--clock cpu`` (with ``--threads 1``) times the process's CPU time instead of wall time, which
other jobs barely change.
Usage: python bench/golden_speed.py [--model deit_s] [--repeats 5] [--rounds 5] [--threads N]
                                    [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

TARGET = 2.0
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def median_time(fn, repeats: int, clock=time.perf_counter) -> float:
    """Median time (by ``clock``) of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()  # warm-up: caches, allocator, BLAS threads
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deit_s")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of FP32 then golden")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both sides (default: the libraries' own choice)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: process CPU time (needs --threads 1)")
    args = parser.parse_args()
    if args.repeats < 1 or args.rounds < 1 or (args.threads is not None and args.threads < 1):
        sys.exit("golden_speed: --repeats, --rounds and --threads must be >= 1")
    if args.clock == "cpu" and args.threads != 1:
        sys.exit("golden_speed: --clock cpu needs --threads 1 (CPU time adds up all threads)")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads is not None:
        # BLAS reads these when it is loaded: set them before numpy and torch are imported
        os.environ.update({var: str(args.threads) for var in _THREAD_VARS})
    import numpy as np
    import torch

    from ivit_hls import golden
    from ivit_hls.api import create_float_model, quantize_module, random_images

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        float_model = create_float_model(args.model).eval()
    size = int(float_model.patch_embed.img_size[0])
    image = random_images(1, 3, size, seed=1)
    with torch.no_grad():
        int_model = quantize_module(float_model, random_images(4, 3, size, seed=2),
                                    name=args.model)
    x = golden.quantize_image(int_model, image.numpy())
    first = golden.run(int_model, x).logits
    print(f"model            {args.model}, one image, torch threads {torch.get_num_threads()}, "
          f"{args.clock} clock")
    ratios = []
    for r in range(args.rounds):
        with torch.no_grad():
            t_fp32 = median_time(lambda: float_model(image), args.repeats, clock)
        t_golden = median_time(lambda: golden.run(int_model, x), args.repeats, clock)
        ratios.append(t_golden / t_fp32)
        print(f"round {r + 1}: FP32 {t_fp32 * 1e3:7.1f} ms  golden {t_golden * 1e3:7.1f} ms  "
              f"ratio {ratios[-1]:5.2f}")
    # the timed runs must have computed the same integers as the first one
    np.testing.assert_array_equal(golden.run(int_model, x).logits, first)
    print(f"ratio golden/FP32 {statistics.median(ratios):5.2f} median over {args.rounds} rounds "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}; target <= {TARGET:g})")


if __name__ == "__main__":
    main()
