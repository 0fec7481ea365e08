"""A generated project's manifest.json: what the host needs to drive the kernel, and checks.

The manifest records the kernel (function name and ports), the C ABI (argument dtypes and
shapes), the model's input preprocessing and quantization, the weight blob, and the SHA-256 of
every generated file. ``verify`` refuses a project whose files no longer match it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import HostError

#: Files the host packs into device buffers: must exist and match their recorded hash.
REQUIRED_FILES = ("data/weights.bin",)
#: Kernel sources: checked when present (a board machine may carry only the manifest,
#: data/weights.bin and the .xclbin).
OPTIONAL_PREFIXES = ("src/", "include/")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Manifest:
    """The parsed manifest of a project directory."""

    project: Path
    data: dict
    sha256: str

    @classmethod
    def load(cls, project: str | Path) -> "Manifest":
        """Read ``project/manifest.json``; a missing or malformed one raises HostError."""
        project = Path(project)
        path = project / "manifest.json"
        if not project.is_dir():
            raise HostError(f"project {project}: no such directory")
        if not path.is_file():
            raise HostError(f"{project}: not a generated project (no manifest.json)")
        raw = path.read_bytes()
        try:
            data = json.loads(raw)
            for key in ("top", "abi", "model", "files", "weights"):
                data[key]
        except (ValueError, KeyError, TypeError) as exc:
            raise HostError(f"{path}: not an ivit-hls manifest ({exc})") from None
        return cls(project, data, hashlib.sha256(raw).hexdigest())

    # --- what the host needs -------------------------------------------------------------
    @property
    def kernel_name(self) -> str:
        """The top function, i.e. the Vitis kernel name."""
        return str(self.data["top"]["function"])

    @property
    def kernel_args(self) -> list[str]:
        """Kernel argument names in call order (the C ABI's ``ivit_run`` order)."""
        return [a["name"] for a in self.data["abi"]["functions"]["ivit_run"]["args"]]

    @property
    def config(self) -> dict:
        """The integer model's config (img_size, in_chans, num_classes, input, ...)."""
        return self.data["model"]["config"]

    @property
    def input_cfg(self) -> dict:
        """Preprocessing and quantization of the input (mean, std, crop, scale, bits)."""
        return self.config["input"]

    @property
    def image_dtype(self) -> np.dtype:
        return np.dtype(self.data["abi"]["functions"]["ivit_run"]["args"][0]["dtype"])

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one image ``(C, H, W)``."""
        return tuple(int(v) for v in self.data["abi"]["functions"]["ivit_run"]["args"][0]["shape"][1:])

    @property
    def num_classes(self) -> int:
        return int(self.data["abi"]["functions"]["ivit_run"]["args"][2]["shape"][1])

    @property
    def weights_path(self) -> Path:
        return self.project / self.data["weights"]["file"]

    def load_weights(self) -> np.ndarray:
        """The packed weight blob (int8), size-checked against the manifest."""
        path = self.weights_path
        if not path.is_file():
            raise HostError(f"{path}: missing weight file")
        blob = np.fromfile(path, dtype=np.int8)
        if blob.size != int(self.data["weights"]["bytes"]):
            raise HostError(f"{path}: {blob.size} bytes, manifest says {self.data['weights']['bytes']}")
        return blob

    # --- checks --------------------------------------------------------------------------
    def verify(self) -> None:
        """Check recorded hashes: the weight blob must match; kernel sources, when present."""
        files = self.data["files"]
        for rel in REQUIRED_FILES:
            if rel not in files:
                raise HostError(f"{self.project}/manifest.json records no hash for {rel}")
        for rel, digest in sorted(files.items()):
            path = self.project / rel
            if rel not in REQUIRED_FILES and not (rel.startswith(OPTIONAL_PREFIXES)
                                                  and path.is_file()):
                continue
            if not path.is_file():
                raise HostError(f"{self.project}: {rel} listed in manifest.json is missing")
            if sha256_file(path) != digest:
                raise HostError(f"{self.project}: {rel} does not match manifest.json "
                                f"(modified after generation; regenerate the project)")
