"""Read an .xclbin's kernel names and argument names without a device, and check them
against a project's manifest.

The container (XRT's ``axlf`` format): 8-byte magic ``xclbin2\\0``, a fixed header whose
section count (uint32) sits at byte 448, then 40-byte section headers from byte 456
(``uint32 kind; char name[16]; uint64 offset; uint64 size``, little-endian). Sections used
here: ``IP_LAYOUT`` (kind 8: ``int32 count``, then 80-byte entries ``uint32 type;
uint32 properties; uint64 base; char name[64]`` from byte 8, type 1 = kernel instance named
``kernel:instance``) and ``EMBEDDED_METADATA`` (kind 2: XML with ``<kernel name=..>`` and
``<arg name=..>`` elements).

``v++ -l`` in the generated project's ``vitis.mk`` also writes ``<xclbin>.manifest.sha256``
(the SHA-256 of manifest.json at link time); when present it must match the manifest.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HostError

MAGIC = b"xclbin2\0"
NUM_SECTIONS_AT = 448
SECTIONS_AT = 456
SECTION_HEADER = struct.Struct("<I16s4xQQ")  # 40 bytes
IP_DATA = struct.Struct("<IIQ64s")  # 80 bytes
KIND_EMBEDDED_METADATA = 2
KIND_IP_LAYOUT = 8
IP_KERNEL = 1
MODES = {0: "flat", 1: "pr", 2: "tandem_stage2", 3: "tandem_stage2_pr", 4: "hw_emu",
         5: "sw_emu", 6: "hw_emu_pr"}
MODE_AT = 304 + 28  # axlf_header starts at 304; m_mode (uint16) at +28
#: Suffix of the stamp file the link step writes next to the xclbin.
STAMP_SUFFIX = ".manifest.sha256"


@dataclass
class XclbinInfo:
    """What the host checks in an xclbin."""

    path: Path
    mode: str
    kernels: list[str] = field(default_factory=list)        # from IP_LAYOUT (kernel part)
    instances: list[str] = field(default_factory=list)      # compute unit names
    kernel_args: dict[str, list[str]] = field(default_factory=dict)  # from EMBEDDED_METADATA


def read_xclbin(path: str | Path) -> XclbinInfo:
    """Parse the kernel names and argument names of an xclbin (no device, no XRT)."""
    path = Path(path)
    if not path.is_file():
        raise HostError(f"xclbin {path}: no such file (build it with `make hw` "
                        f"in the project, or pass --xclbin)")
    data = path.read_bytes()
    if len(data) < SECTIONS_AT or data[:8] != MAGIC:
        raise HostError(f"xclbin {path}: not an xclbin (bad magic)")
    (count,) = struct.unpack_from("<I", data, NUM_SECTIONS_AT)
    (mode,) = struct.unpack_from("<H", data, MODE_AT)
    info = XclbinInfo(path, MODES.get(mode, str(mode)))
    if SECTIONS_AT + count * SECTION_HEADER.size > len(data):
        raise HostError(f"xclbin {path}: truncated section table")
    for i in range(count):
        kind, _name, off, size = SECTION_HEADER.unpack_from(data, SECTIONS_AT + i * SECTION_HEADER.size)
        if off + size > len(data):
            raise HostError(f"xclbin {path}: section {i} runs past the end of the file")
        body = data[off:off + size]
        if kind == KIND_IP_LAYOUT:
            _ip_layout(body, info)
        elif kind == KIND_EMBEDDED_METADATA:
            _metadata(body, info)
    return info


def _ip_layout(body: bytes, info: XclbinInfo) -> None:
    if len(body) < 8:  # int32 count + padding before the first entry
        raise HostError(f"xclbin {info.path}: IP_LAYOUT section of {len(body)} bytes "
                        f"(truncated or empty)")
    (n,) = struct.unpack_from("<i", body, 0)
    if n < 0:
        raise HostError(f"xclbin {info.path}: IP_LAYOUT claims {n} entries")
    for i in range(n):
        if 8 + (i + 1) * IP_DATA.size > len(body):
            raise HostError(f"xclbin {info.path}: truncated IP_LAYOUT")
        ip_type, _props, _base, name = IP_DATA.unpack_from(body, 8 + i * IP_DATA.size)
        if ip_type != IP_KERNEL:
            continue
        name = name.split(b"\0", 1)[0].decode(errors="replace")
        kernel, _, inst = name.partition(":")
        if kernel not in info.kernels:
            info.kernels.append(kernel)
        info.instances.append(inst or kernel)


def _metadata(body: bytes, info: XclbinInfo) -> None:
    try:
        root = ET.fromstring(body.rstrip(b"\0"))
    except ET.ParseError as exc:
        raise HostError(f"xclbin {info.path}: unreadable EMBEDDED_METADATA ({exc})") from None
    for kernel in root.iter("kernel"):
        name = kernel.get("name")
        if name:
            info.kernel_args[name] = [a.get("name", "") for a in kernel.iter("arg")]


def stamp_path(xclbin: str | Path) -> Path:
    """The link step's record of which manifest an xclbin was built from."""
    xclbin = Path(xclbin)
    return xclbin.with_name(xclbin.name + STAMP_SUFFIX)


def check_xclbin(info: XclbinInfo, manifest) -> None:
    """Refuse an xclbin that was not built from ``manifest``'s kernel (before anything runs)."""
    name = manifest.kernel_name
    if not info.kernels and not info.kernel_args:
        raise HostError(f"xclbin {info.path}: no kernel found (no IP_LAYOUT/EMBEDDED_METADATA)")
    found = info.kernels or list(info.kernel_args)
    if name not in found:
        raise HostError(f"xclbin {info.path} holds kernel(s) {', '.join(found)}, but "
                        f"manifest.json expects {name!r}: wrong xclbin for this project")
    args = info.kernel_args.get(name)
    if args is not None and args != manifest.kernel_args:
        raise HostError(f"xclbin {info.path}: kernel {name} arguments {args} differ from "
                        f"the manifest's {manifest.kernel_args}")
    stamp = stamp_path(info.path)
    if stamp.is_file():
        recorded = stamp.read_text().split()[:1]
        if recorded != [manifest.sha256]:
            raise HostError(f"xclbin {info.path} was linked from a different manifest.json "
                            f"({stamp.name} differs): regenerate or relink")
