"""The integer ViT compiled with TVM (``tvm.te`` kernels; ``llvm`` on CPU, ``cuda`` on GPU).

See ``executor`` for building, exporting and running; ``ops`` for the kernels.
"""

from .executor import TvmExecutor, build_module, cuda_target, export, ir_module, plan
from .ops import LOWER

__all__ = ["TvmExecutor", "build_module", "cuda_target", "export", "ir_module", "plan", "LOWER"]
