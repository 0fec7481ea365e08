"""The integer ViT as Triton kernels (int8 ``tl.dot`` GEMMs with fused requant epilogues).

On a machine without CUDA the kernels run in Triton's interpreter on CPU tensors: this
package sets ``TRITON_INTERPRET=1`` before the kernels are defined when CUDA is absent
(Triton decides interpreter or compiler when a kernel is decorated).
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from .executor import TritonExecutor, plan, to_numpy  # noqa: E402
from .lower import LOWER, Context  # noqa: E402

__all__ = ["TritonExecutor", "plan", "to_numpy", "LOWER", "Context"]
