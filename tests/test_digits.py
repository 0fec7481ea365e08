"""Real data: a small timm ViT on scikit-learn's digits, FP32 vs integer-only after QAT."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from digits_experiment import run_digits  # noqa: E402  (an experiment script of bench/)


@pytest.fixture(scope="module")
def result():
    return run_digits(seed=0)


def test_fp32_baseline_is_trained(result):
    assert result.fp32_acc >= 0.95
    assert result.test_images == 360


def test_integer_only_golden_accuracy_is_within_one_point_of_fp32(result):
    assert result.qat_acc >= result.fp32_acc - 0.01
    # the golden integers and the QAT forward classify identically (they are bit-exact)
    assert result.qat_acc == result.qat_torch_acc
