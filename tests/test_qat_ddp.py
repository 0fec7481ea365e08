"""QAT under torchrun + DistributedDataParallel (2 CPU processes, gloo on loopback)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_worker.py")


def _torchrun(out: Path, epochs: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", str(WORKER), str(out), str(epochs)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_ddp_ranks_train_identical_integer_models_and_resume(tmp_path):
    res = _torchrun(tmp_path, 1)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [(tmp_path / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    assert ranks[0][0] == ranks[1][0] == "2"          # a real 2-process group
    assert ranks[0][1] == ranks[1][1]                # same weights and ranges on both ranks
    assert (tmp_path / "qat.pt").is_file()
    first = ranks[0][1]

    res = _torchrun(tmp_path, 2)                     # resumes after epoch 1, trains epoch 2
    assert res.returncode == 0, res.stderr[-3000:]
    again = [(tmp_path / f"rank{r}.txt").read_text().split()[1] for r in (0, 1)]
    assert again[0] == again[1] != first
    import torch

    assert torch.load(tmp_path / "qat.pt", weights_only=False)["epoch"] == 2
