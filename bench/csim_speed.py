"""C-simulation speed vs the golden numpy model (DeiT-T), and the estimate report's cycles for
DeiT-S on 16x16, 32x32 and 64x64 arrays against the MAC-bound ideal.

Usage: python bench/csim_speed.py [--images N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    args = parser.parse_args()
    from ivit_hls.api import quantize_model
    from ivit_hls.golden import run as golden_run
    from ivit_hls.hls import CsimLibrary, HlsOptions, generate
    from ivit_hls.hls.project import tb_images
    from ivit_hls.ops import Engine
    from ivit_hls.perf import estimate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny = quantize_model("deit_tiny", calib_random=2)
        small = quantize_model("deit_s", calib_random=2)
    images = tb_images(tiny, args.images, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        lib = CsimLibrary(generate(tiny, Path(tmp) / "t", HlsOptions()))
        lib.run(images[:1])  # warm up
        start = time.perf_counter()
        csim = lib.run(images)
        t_csim = (time.perf_counter() - start) / len(images)
    start = time.perf_counter()
    gold = golden_run(tiny, images).logits
    t_gold = (time.perf_counter() - start) / len(images)
    np.testing.assert_array_equal(csim, gold)
    print(f"DeiT-T per image: C-sim {t_csim:.3f} s, golden numpy {t_gold:.3f} s, "
          f"ratio csim/golden {t_csim / t_gold:.2f} (bit-exact on {len(images)} images)")
    print("DeiT-S estimate (xcu250, 300 MHz):")
    for n in (16, 32, 64):
        est = estimate(small, Engine(n, n, n), "xcu250-figd2104-2L-e", 300.0)
        print(f"  {n}x{n}: {est['total_cycles']:>12,} cycles, MAC bound "
              f"{est['mac_bound_cycles']:>14,.0f}, ratio {est['ratio_to_mac_bound']:.3f}, "
              f"{est['latency_ms']:.2f} ms, DSP {est['resources']['dsp']}")


if __name__ == "__main__":
    main()
