"""Models shared by the GPU tests and the benchmark's smoke run (built once per process)."""

from __future__ import annotations

import functools
import warnings


@functools.lru_cache(maxsize=None)
def model(name: str = "deit_tiny", depth: int | None = None, img_size: int | None = None,
          seed: int = 0):
    """A calibrated integer model (random init, 2 random calibration images)."""
    from ..api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_model(name, depth=depth, img_size=img_size, calib_random=2, seed=seed)


def images(model, batch: int, seed: int = 0):
    """Deterministic random integer images over the model's full input range."""
    import numpy as np

    cfg = model.config
    hi = (1 << (cfg["input"]["bits"] - 1)) - 1
    rng = np.random.default_rng(seed)
    return rng.integers(-hi, hi + 1, size=(batch, cfg["in_chans"], cfg["img_size"],
                                            cfg["img_size"]))
