"""A DeiT-tiny encoder block (dim 192, 3 heads, MLP 768; 32x32 image -> 5 tokens) on the RTL
units: every layer identical to the golden executor, cycles equal to the analytic model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rtl_helpers import needs_sim

pytestmark = needs_sim


@pytest.fixture(scope="module")
def deit_tiny_block():
    from ivit_hls import golden
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # random init: accuracy is not the point
        model = quantize_model("deit_tiny", depth=1, img_size=32, calib_random=2, seed=0)
    image = np.random.default_rng(3).integers(-127, 128, size=(1, 3, 32, 32))
    return model, golden.run(model, image, trace=True).trace


def test_deit_tiny_block_bit_exact_with_cycles(deit_tiny_block):
    import sys

    from ivit_hls.rtl.simrun import SIM_DIR

    sys.path.insert(0, str(SIM_DIR))
    from block_run import run_block   # a test harness of sim/, not part of the library

    model, trace = deit_tiny_block
    assert model.config["dim"] == 192 and model.config["heads"] == 3
    assert model.config["mlp_hidden"] == 768 and model.config["tokens"] == 5

    def compare(name, rtl, gold):
        np.testing.assert_array_equal(rtl, gold, err_msg=f"first differing layer: {name}")

    run = run_block(model, trace, on_layer=compare)
    assert set(run.outputs) == {ly.name for ly in model.layers if ly.name.startswith("blocks.0.")}
    total, modelled = run.total_cycles, run.total_model_cycles
    assert total > 0
    # unit timing does not depend on the data: the analytic model must match every layer
    assert run.cycles == run.model_cycles, (total, modelled)
    assert total == modelled
