"""Run by tests/test_qat_ddp.py under torchrun: one rank of a tiny DDP QAT job."""

import hashlib
import sys
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from ivit_hls.ir.fileformat import to_bytes
from ivit_hls.qat import QuantViT, calibrate
from ivit_hls.qat.train import TrainConfig, train_qat


def main(out_dir: str, epochs: int, stop_after: int | None) -> None:
    import timm.models.vision_transformer as vt
    import torch.distributed as dist

    torch.manual_seed(0)
    model = vt.VisionTransformer(img_size=16, patch_size=4, in_chans=1, embed_dim=24, depth=1,
                                 num_heads=2, num_classes=4)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(32, 1, 16, 16, generator=gen)
    y = torch.randint(0, 4, (32,), generator=gen)
    q = QuantViT(model)
    calibrate(q, [x[:16]], progress=False)
    out = Path(out_dir)
    train_qat(q, TensorDataset(x, y), TrainConfig(epochs=epochs, lr=1e-3, batch_size=4,
                                                  checkpoint=str(out / "qat.pt"), progress=False,
                                                  stop_after_epoch=stop_after))
    rank = dist.get_rank()
    digest = hashlib.sha256(to_bytes(q.export("ddp"))).hexdigest()
    (out / f"rank{rank}.txt").write_text(f"{dist.get_world_size()} {digest}\n")
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
