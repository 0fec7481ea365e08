"""A generated project's manifest.json: what the host needs to drive the kernel, and checks.

The manifest records the kernel (function name and ports), the C ABI (argument dtypes and
shapes), the model's input preprocessing and quantization, the weight blob, the SHA-256 of
every generated file, and its own seal (``manifest_sha256``: the SHA-256 of its canonical
JSON without that key), so that an edit of any recorded value (an input scale, a size, a
hash) is refused. ``verify`` refuses a project whose files no longer match it.
This is the one manifest reader of the project: ``ivit_hls`` uses it too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import HostError

#: Files the host packs into device buffers: must exist and match their recorded hash.
REQUIRED_FILES = ("data/weights.bin",)
#: Kernel sources: checked when present (a board machine may carry only the manifest,
#: data/weights.bin and the .xclbin).
OPTIONAL_PREFIXES = ("src/", "include/")
#: The manifest's self-digest key.
SEAL_KEY = "manifest_sha256"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_digest(data: dict) -> str:
    """SHA-256 of a manifest's canonical JSON, without its seal."""
    body = {k: v for k, v in data.items() if k != SEAL_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def seal(manifest_json: bytes) -> bytes:
    """The manifest with its seal added (same indentation and key order as written)."""
    data = json.loads(manifest_json)
    data[SEAL_KEY] = manifest_digest(data)
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def _need(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise HostError(f"{path}: not an ivit-hls manifest ({what})")


def _check_structure(data, path: Path) -> None:
    """The keys and types every reader relies on, checked once here."""
    _need(isinstance(data, dict), path, f"a JSON {type(data).__name__}, not an object")
    for key in ("top", "abi", "model", "files", "weights"):
        _need(isinstance(data.get(key), dict), path, f"no {key!r} object")
    _need(isinstance(data["top"].get("function"), str), path, "no top.function")
    _need(isinstance(data["model"].get("config"), dict), path, "no model.config")
    abi = data["abi"]
    try:
        args = abi["functions"]["ivit_run"]["args"]
        image, logits = args[0], args[2]
        np.dtype(image["dtype"])
        shape = [int(v) for v in image["shape"][1:]]
        classes = int(logits["shape"][1])
        str(abi["library"])
        int(abi["version"])
        int(data["weights"]["bytes"])
        str(data["weights"]["file"])
        cfg = data["model"]["config"]
        int(cfg["img_size"]), int(cfg["in_chans"])
        inp = cfg["input"]
        float(inp["scale"]), int(inp["bits"]), list(inp["mean"]), list(inp["std"])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise HostError(f"{path}: not an ivit-hls manifest (bad abi/weights entry: "
                        f"{type(exc).__name__} {exc})") from None
    _need(len(shape) == 3 and min(shape) > 0 and classes > 0, path, "bad image/logits shape")
    for rel, digest in data["files"].items():
        parts = PurePosixPath(rel).parts
        _need(isinstance(digest, str) and not PurePosixPath(rel).is_absolute()
              and ".." not in parts, path, f"bad files entry {rel!r}")


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
        if project.name == "manifest.json" and project.is_file():
            project = project.parent
        path = project / "manifest.json"
        if not project.is_dir():
            raise HostError(f"project {project}: no such directory")
        if not path.is_file():
            raise HostError(f"{project}: not a generated project (no manifest.json)")
        try:
            raw = path.read_bytes()
            data = json.loads(raw)
        except OSError as exc:
            raise HostError(f"{path}: unreadable ({exc.strerror or exc})") from None
        except (ValueError, RecursionError) as exc:
            raise HostError(f"{path}: not valid JSON ({str(exc)[:80]})") from None
        _check_structure(data, path)
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
        self._check_file(self.data["weights"]["file"], path)
        return np.fromfile(path, dtype=np.int8)

    # --- checks --------------------------------------------------------------------------
    def expected_sizes(self) -> dict[str, int]:
        """Byte sizes the manifest implies: the weight blob and the testbench vectors."""
        sizes = {str(self.data["weights"]["file"]): int(self.data["weights"]["bytes"])}
        tb = self.data.get("testbench")
        if isinstance(tb, dict) and isinstance(tb.get("images"), int):
            n = tb["images"]
            pixels = int(np.prod(self.image_shape))
            sizes[str(tb.get("images_file"))] = n * pixels * self.image_dtype.itemsize
            sizes[str(tb.get("logits_file"))] = n * self.num_classes * 4
        return sizes

    def _check_file(self, rel: str, path: Path) -> None:
        """Missing, truncated, grown or modified: the real cause, one line."""
        if not path.is_file():
            raise HostError(f"{self.project}: {rel} listed in manifest.json is missing")
        want = self.expected_sizes().get(rel)
        size = path.stat().st_size
        if want is not None and size < want:
            raise HostError(f"{self.project}: {rel} is truncated ({size} of {want} bytes)")
        if want is not None and size > want:
            raise HostError(f"{self.project}: {rel} has {size - want} bytes more than the "
                            f"{want} manifest.json records")
        digest = self.data["files"].get(rel)
        if digest is not None and sha256_file(path) != digest:
            raise HostError(f"{self.project}: {rel} does not match manifest.json "
                            f"(modified after generation; regenerate the project)")

    def verify(self, full: bool = False) -> None:
        """Check the manifest's seal, then the recorded sizes and hashes: the weight blob
        always, kernel sources when present; with ``full`` every listed file must be there
        (the C-simulation compiles and reads them all)."""
        recorded = self.data.get(SEAL_KEY)
        if recorded is None:
            raise HostError(f"{self.project}/manifest.json has no seal ({SEAL_KEY}): written "
                            f"by hand or by an older ivit-hls; regenerate the project")
        if recorded != manifest_digest(self.data):
            raise HostError(f"{self.project}/manifest.json was edited after generation (its "
                            f"{SEAL_KEY} no longer matches its content); regenerate the project")
        files = self.data["files"]
        for rel in REQUIRED_FILES:
            if rel not in files:
                raise HostError(f"{self.project}/manifest.json records no hash for {rel}")
        for rel in sorted(files):
            path = self.project / rel
            if (full or rel in REQUIRED_FILES
                    or (rel.startswith(OPTIONAL_PREFIXES) and path.is_file())):
                self._check_file(rel, path)
