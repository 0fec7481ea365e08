"""Analytic performance model of the generated engine: cycles per layer, MAC utilisation,
DSP/BRAM estimates against a part's capacity."""

from .cycles import estimate, gemm_cycles, mac_bound_cycles
from .parts import PARTS, part_info

__all__ = ["estimate", "gemm_cycles", "mac_bound_cycles", "PARTS", "part_info"]
