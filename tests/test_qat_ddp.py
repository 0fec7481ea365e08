"""QAT under torchrun + DistributedDataParallel (2 CPU processes, gloo on loopback)."""

import os
import subprocess
import sys
from pathlib import Path


WORKER = Path(__file__).with_name("ddp_worker.py")


def _torchrun(out: Path, *args: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", str(WORKER), str(out), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def _digests(out: Path) -> list[list[str]]:
    return [(out / f"rank{r}.txt").read_text().split() for r in (0, 1)]


def test_ddp_ranks_train_identically_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    sliced, straight = tmp_path / "sliced", tmp_path / "straight"
    sliced.mkdir()
    straight.mkdir()
    res = _torchrun(sliced, 2, 1)                   # a 2-epoch job stopped after epoch 1
    assert res.returncode == 0, res.stderr[-3000:]
    first = _digests(sliced)
    assert first[0][0] == first[1][0] == "2"        # a real 2-process group
    assert first[0][1] == first[1][1]               # same weights and ranges on both ranks
    import torch

    assert torch.load(sliced / "qat.pt", weights_only=False)["epoch"] == 1

    res = _torchrun(sliced, 2)                      # rerun: resumes and trains epoch 2
    assert res.returncode == 0, res.stderr[-3000:]
    resumed = _digests(sliced)
    assert resumed[0][1] == resumed[1][1] != first[0][1]
    assert torch.load(sliced / "qat.pt", weights_only=False)["epoch"] == 2

    res = _torchrun(straight, 2)                    # the same job without interruption
    assert res.returncode == 0, res.stderr[-3000:]
    assert _digests(straight)[0][1] == resumed[0][1]
