"""Analytic performance model of the generated engine: cycles per layer (from the op table),
MAC utilisation, DSP/BRAM estimates against a part's capacity."""

from .cycles import estimate, gemm_cycles, layer_cycles, mac_bound_cycles
from .parts import PARTS, part_info

__all__ = ["estimate", "gemm_cycles", "layer_cycles", "mac_bound_cycles", "PARTS", "part_info"]
