"""Host driver for ivit-hls accelerators (numpy only; Pillow for image files; pyxrt / pynq
optional): open a generated project on a backend (``csim``, ``xrt``, ``pynq``) and classify.

    from ivit_host import open_accelerator
    with open_accelerator("out/deit_tiny_hls", backend="csim") as acc:
        result = acc.infer(["cat.jpg", "dog.png"])
        print(result.top, result.seconds_per_image)

The names below are imported on first use, so that the command lines (and ``ivit-hls``,
which imports ``ivit_host.cliutil``) start without loading numpy.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Accelerator": "accelerator", "InferResult": "accelerator", "open_accelerator": "accelerator",
    "topk": "accelerator", "HostError": "errors", "Manifest": "manifest",
    "CsimLibrary": "csimlib", "ABI_VERSION": "csimlib", "load_image": "preprocess",
    "preprocess_files": "preprocess", "quantize": "preprocess",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
