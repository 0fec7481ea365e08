"""Host driver for ivit-hls accelerators (numpy only; Pillow for image files; pyxrt / pynq
optional): open a generated project on a backend (``csim``, ``xrt``, ``pynq``) and classify.

    from ivit_host import open_accelerator
    with open_accelerator("out/deit_tiny_hls", backend="csim") as acc:
        result = acc.infer(["cat.jpg", "dog.png"])
        print(result.top, result.seconds_per_image)
"""

from .accelerator import Accelerator, InferResult, open_accelerator, topk
from .errors import HostError
from .manifest import Manifest
from .preprocess import load_image, preprocess_files, quantize

__version__ = "0.1.0"

__all__ = ["Accelerator", "HostError", "InferResult", "Manifest", "load_image",
           "open_accelerator", "preprocess_files", "quantize", "topk"]
