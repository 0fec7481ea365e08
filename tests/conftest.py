"""Shared fixtures: small integer models built once per test session."""

import warnings

import pytest


@pytest.fixture(scope="session")
def small_int_model():
    """A two-block DeiT-tiny at 32×32 (5 tokens), calibrated on random images."""
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_model("deit_tiny", depth=2, img_size=32, calib_random=4, seed=1)
