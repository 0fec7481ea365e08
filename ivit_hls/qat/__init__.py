"""PyTorch I-ViT: QAT modules carrying exact integers, timm conversion, calibration, training."""

from .base import QuantConfig, Recorder
from .calibrate import calibrate
from .vit import QuantViT, check_supported

__all__ = ["QuantConfig", "Recorder", "calibrate", "QuantViT", "check_supported"]
