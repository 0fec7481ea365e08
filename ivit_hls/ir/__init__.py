"""The integer model: typed layers with integer parameters, a versioned file, range analysis."""

from .model import LAYER_KINDS, IntegerModel, Layer
from .fileformat import FORMAT_VERSION, load, save
from . import ranges

__all__ = ["LAYER_KINDS", "IntegerModel", "Layer", "FORMAT_VERSION", "load", "save", "ranges"]
