"""Golden numpy model vs PyTorch FP32: DeiT-S, one image, same CPU, measured in one run.

Prints the median wall time of each over several repetitions and their ratio (target <= 3).
Usage: python bench/golden_speed.py [--model deit_s] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

from ivit_hls import golden
from ivit_hls.api import create_float_model, quantize_module, random_images


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up: caches, allocator, BLAS threads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deit_s")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        float_model = create_float_model(args.model)
    size = int(float_model.patch_embed.img_size[0])
    image = random_images(1, 3, size, seed=1)
    with torch.no_grad():
        int_model = quantize_module(float_model, random_images(4, 3, size, seed=2),
                                    name=args.model)
        t_fp32 = median_time(lambda: float_model(image), args.repeats)
    x = golden.quantize_image(int_model, image.numpy())
    t_golden = median_time(lambda: golden.run(int_model, x), args.repeats)
    print(f"model            {args.model}, one image, {torch.get_num_threads()} threads")
    print(f"PyTorch FP32     {t_fp32 * 1e3:8.1f} ms")
    print(f"golden (int)     {t_golden * 1e3:8.1f} ms")
    print(f"ratio golden/FP32 {t_golden / t_fp32:6.2f}  (target <= 3)")


if __name__ == "__main__":
    main()
