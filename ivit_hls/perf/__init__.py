"""Performance model of the generated engine: cycles per layer from the lowered program (equal
to the cycle-accounting C-simulation), DDR traffic, DSP/BRAM/URAM against a part's capacity,
and design-space exploration."""

from .cycles import (EngineSpec, estimate, estimate_plan, gemm_cycles, layer_cycles,
                     mac_bound_cycles)
from .parts import BOARDS, PARTS, bytes_per_cycle, part_info

__all__ = ["BOARDS", "EngineSpec", "PARTS", "bytes_per_cycle", "estimate", "estimate_plan",
           "gemm_cycles", "layer_cycles", "mac_bound_cycles", "part_info"]
