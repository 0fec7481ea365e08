"""HLS C++ generation: integer model -> Vitis-ready project (kernels from hw/hls)."""

from .build import CsimLibrary, run_csim
from .options import HlsOptions
from .project import generate, render_project, write_project

__all__ = ["CsimLibrary", "HlsOptions", "generate", "render_project", "run_csim", "write_project"]
