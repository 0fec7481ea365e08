"""The C-simulation backend: the project's ``CsimLibrary`` (``make lib``, ctypes)."""

from __future__ import annotations

import numpy as np

from ..csimlib import CsimLibrary


class CsimBackend:
    """Runs the generated kernel's C++ on the CPU (bit-exact with the hardware's C model).

    The whole project is checked against its manifest first (it is compiled from it).
    """

    name = "csim"

    def __init__(self, manifest):
        self.manifest = manifest
        self.library = CsimLibrary(manifest, build=True, verify=True)
        self.lib = self.library.lib
        self.weights = self.library.weights

    def run(self, images: np.ndarray) -> np.ndarray:
        """int32 logits ``(B, classes)`` for contiguous images of the kernel's dtype."""
        return self.library.run(images)

    def close(self) -> None:
        """Nothing to release (the library stays loaded for the process)."""
