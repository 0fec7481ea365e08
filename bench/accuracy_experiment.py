"""The accuracy experiment behind ``bench/accuracy.py`` (an experiment, not part of the library).

A harder offline task than ``digits_experiment``: scikit-learn's digits at their native 8×8,
a 20 % training split (about 360 images) and a deeper ViT, so FP32 sits well below 100 % and
the integer variants separate. Each variant starts from the same FP32 model: PTQ
(calibration only) or QAT (calibration + fine-tuning), integer-only accuracy from the golden
numpy model (checked equal to the QAT forward), and logit fidelity against FP32 (KL divergence
of the softmaxes, top-1 agreement). One variant keeps float nonlinear ops with int8 GEMMs: it
is not integer-only and says so.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from digits_experiment import train_float  # a sibling script of bench/ (on the path)

#: The ViT of this experiment: 8×8 single-channel digits, 2×2 patches (16 tokens + cls).
ACC_VIT = dict(img_size=8, patch_size=2, in_chans=1, embed_dim=64, depth=4, num_heads=4,
               num_classes=10)


@dataclass(frozen=True)
class Variant:
    """One row of the ablation table."""

    name: str
    qat: bool = True
    exp_form: str = "corrected"
    gelu_form: str = "shift"
    softmax: str = "shift"         # "shift" | "ibert" | "float"
    gelu: str = "shift"            # "shift" (the gelu_form) | "ibert" | "float"
    integer_only: bool = True


VARIANTS = [
    Variant("PTQ, defaults", qat=False),
    Variant("QAT, defaults (corrected ShiftExp, shift GELU)"),
    Variant("QAT, paper ShiftExp", exp_form="paper"),
    Variant("QAT, paper ops (ShiftExp, row-max ShiftGELU)", exp_form="paper", gelu_form="rowmax"),
    Variant("QAT, symmetric ShiftGELU", gelu_form="symmetric"),
    Variant("QAT, GELU table", gelu_form="table"),
    Variant("QAT, I-BERT softmax", softmax="ibert"),
    Variant("QAT, I-BERT GELU", gelu="ibert"),
    Variant("QAT, I-BERT softmax + GELU", softmax="ibert", gelu="ibert"),
    Variant("QAT, float nonlinear, int8 GEMMs", softmax="float", gelu="float",
            integer_only=False),
]


def load_split(seed: int, train_fraction: float = 0.2, test_limit: int | None = None):
    """Digits as normalized (N, 1, 8, 8) tensors, a stratified split with a small train part
    (the test part cut to its first ``test_limit`` images when given)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (torch.tensor(data.images, dtype=torch.float32)[:, None] / 16.0 - 0.5) / 0.5
    y = torch.tensor(data.target, dtype=torch.int64)
    tr, te = train_test_split(np.arange(len(y)), train_size=train_fraction, random_state=seed,
                              stratify=data.target)
    te = te[:test_limit]
    return x[tr], y[tr], x[te], y[te]


# -- float nonlinear ops with int8 GEMMs (not integer-only) --------------------------------------
class _FakeQuant(nn.Module):
    """int8 fake quantization of a GEMM's input (EMA max, frozen in eval) and of its weight
    (per output channel); straight-through gradients."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer
        self.register_buffer("amax", torch.tensor(float("nan")))

    @staticmethod
    def _fq(x, scale):
        return x + (torch.clamp(torch.round(x / scale), -127, 127) * scale - x).detach()

    def forward(self, x):
        if self.training:
            m = x.detach().abs().max()
            self.amax.copy_(m if torch.isnan(self.amax) else 0.95 * self.amax + 0.05 * m)
        xq = self._fq(x, torch.clamp(self.amax, min=1e-8) / 127)
        w = self.layer.weight
        s_w = w.detach().reshape(w.shape[0], -1).abs().amax(1).clamp(min=1e-8) / 127
        wq = self._fq(w, s_w.reshape(-1, *([1] * (w.dim() - 1))))
        if isinstance(self.layer, nn.Conv2d):
            return F.conv2d(xq, wq, self.layer.bias, stride=self.layer.stride)
        return F.linear(xq, wq, self.layer.bias)


def int8_gemm_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose Linear/Conv2d layers run int8 fake-quantized GEMMs; softmax,
    GELU and LayerNorm stay in float."""
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, (nn.Linear, nn.Conv2d)):
                setattr(module, child_name, _FakeQuant(child))
    return model


# -- the experiment ------------------------------------------------------------------------------
@dataclass
class Row:
    """Results of one variant for one seed."""

    variant: str
    seed: int
    acc: float
    kl: float
    agreement: float
    integer_only: bool
    seconds: float


@dataclass
class SeedResult:
    seed: int
    fp32_acc: float
    rows: list = field(default_factory=list)


def _fidelity(ref: torch.Tensor, other: torch.Tensor) -> tuple[float, float]:
    lp = F.log_softmax(ref.double(), dim=1)
    lq = F.log_softmax(other.double(), dim=1)
    kl = float((lp.exp() * (lp - lq)).sum(dim=1).mean())
    agree = float((ref.argmax(1) == other.argmax(1)).double().mean() * 100)
    return kl, agree


def run_variant(fp: nn.Module, v: Variant, data, seed: int, qat_epochs: int, qat_lr: float,
                calib: int = 256) -> Row:
    """Quantize (and fine-tune) a copy of ``fp`` as variant ``v``; score it on the test split."""
    from ivit_hls import golden
    from ivit_hls.qat import QuantConfig, QuantViT, calibrate
    from ivit_hls.qat.ablation import apply_ablation
    from ivit_hls.qat.train import TrainConfig, train_qat

    xtr, ytr, xte, yte = data
    start = time.time()
    with torch.no_grad():
        ref = fp(xte)
    model = copy.deepcopy(fp)
    tcfg = TrainConfig(epochs=qat_epochs, lr=qat_lr, batch_size=32, progress=False, seed=seed)
    if not v.integer_only:
        fq = int8_gemm_model(model)
        fq.train()
        with torch.no_grad():
            for chunk in xtr[:calib].split(64):
                fq(chunk)
        if v.qat:
            opt = torch.optim.AdamW(fq.parameters(), lr=qat_lr, weight_decay=tcfg.weight_decay)
            gen = torch.Generator().manual_seed(seed)
            for _ in range(qat_epochs):
                for idx in torch.randperm(len(xtr), generator=gen).split(tcfg.batch_size):
                    loss = F.cross_entropy(fq(xtr[idx]), ytr[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        fq.eval()
        with torch.no_grad():
            logits = fq(xte)
        acc = float((logits.argmax(1) == yte).double().mean() * 100)
    else:
        q = QuantViT(model, QuantConfig(exp_form=v.exp_form, gelu_form=v.gelu_form))
        apply_ablation(q, softmax=v.softmax, gelu=v.gelu)
        calibrate(q, list(xtr[:calib].split(64)), progress=False)
        if v.qat:
            train_qat(q, TensorDataset(xtr, ytr), tcfg)
        with torch.no_grad():
            qi, s = q(xte)
        logits = qi * float(np.asarray(s).max())
        im = q.export("accuracy_vit")
        res = golden.run(im, golden.quantize_image(im, xte.numpy()))
        # the golden integers are the QAT forward's integers (exact, not close)
        np.testing.assert_array_equal(res.logits, qi.numpy().astype(np.int64))
        acc = float((res.topk(1)[:, 0] == yte.numpy()).mean() * 100)
    kl, agree = _fidelity(ref, logits)
    return Row(v.name, seed, acc, kl, agree, v.integer_only, time.time() - start)


def run_seed(seed: int, variants=VARIANTS, float_epochs: int = 60, qat_epochs: int = 2,
             qat_lr: float = 1e-4, train_fraction: float = 0.2, test_limit: int | None = 800,
             vit: dict | None = None, calib: int = 256) -> SeedResult:
    """FP32 training and every variant for one seed."""
    data = load_split(seed, train_fraction, test_limit)
    fp = train_float(data[0], data[1], epochs=float_epochs, seed=seed, vit=vit or ACC_VIT)
    with torch.no_grad():
        fp32 = float((fp(data[2]).argmax(1) == data[3]).double().mean() * 100)
    out = SeedResult(seed, fp32)
    for v in variants:
        out.rows.append(run_variant(fp, v, data, seed, qat_epochs, qat_lr, calib))
    return out
