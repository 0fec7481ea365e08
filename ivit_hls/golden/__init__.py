"""Whole-model numpy executor over the integer model, with a per-layer trace."""

from .executor import GoldenResult, quantize_image, run
from .compare import assert_traces_equal, first_mismatch

__all__ = ["GoldenResult", "quantize_image", "run", "assert_traces_equal", "first_mismatch"]
