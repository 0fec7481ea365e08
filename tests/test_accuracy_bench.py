"""bench/accuracy.py at a tiny size: every kind of variant runs, the golden integers equal the
QAT forward's (asserted inside), fidelity is measured, and the report and plot are written."""

import argparse
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import accuracy  # noqa: E402  (bench scripts)
from accuracy_experiment import VARIANTS, run_seed  # noqa: E402


@pytest.fixture(scope="module")
def result():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model trains fastest on one thread
    try:
        yield _run()
    finally:
        torch.set_num_threads(threads)


def _run():
    chosen = [VARIANTS[i] for i in (0, 8, 9)]  # PTQ, QAT with I-BERT ops, float nonlinear
    vit = dict(accuracy.ACC_VIT, depth=1, embed_dim=32, num_heads=2)
    return run_seed(0, chosen, float_epochs=20, qat_epochs=1, test_limit=100, vit=vit,
                    calib=32), chosen


def test_variants_are_scored_with_fidelity(result):
    r, chosen = result
    assert [row.variant for row in r.rows] == [v.name for v in chosen]
    assert 30.0 < r.fp32_acc < 100.0
    for row in r.rows:
        assert 0.0 <= row.acc <= 100.0 and row.kl >= 0.0 and 0.0 <= row.agreement <= 100.0
    assert [row.integer_only for row in r.rows] == [True, True, False]


def test_report_and_plot(result, tmp_path):
    r, _ = result
    args = argparse.Namespace(float_epochs=20, qat_epochs=1, qat_lr=1e-4, test_limit=100)
    text = accuracy.report([r], 1.0, args)
    assert "| PTQ, defaults | yes |" in text
    assert "| QAT, float nonlinear, int8 GEMMs | **no** |" in text
    costs = accuracy.synthesis_costs()
    if costs:  # the units measured in docs/results/synthesis.md appear beside their variant
        assert "I-BERT i-exp x4: " in text and "ShiftExp x4 (corrected): " in text
    accuracy.plot([r], tmp_path / "a.png")
    assert (tmp_path / "a.png").stat().st_size > 1000


def test_synthesis_table_is_parsed():
    costs = accuracy.synthesis_costs()
    assert costs, "docs/results/synthesis.md has no unit table"
    assert all(lut > 0 for lut, _dsp in costs.values())
