"""Reading an .xclbin's kernels without a device; refusing one that does not fit the manifest.

``make_xclbin`` writes the container layout from XRT's documented ``axlf`` structures
(independently of the parser: offsets are spelled out here with struct packing of every field).
"""

from __future__ import annotations

import hashlib
import json
import struct
from types import SimpleNamespace

import pytest

from ivit_host import HostError
from ivit_host.xclbin import check_xclbin, read_xclbin, stamp_path

ARGS = ["image", "weights", "logits", "n_images"]


def _metadata_xml(kernel: str, args: list[str]) -> bytes:
    arg_xml = "".join(f'<arg name="{a}" addressQualifier="{1 if a != "n_images" else 0}" '
                      f'id="{i}"/>' for i, a in enumerate(args))
    return (f'<?xml version="1.0"?><project name="p"><platform><device><core>'
            f'<kernel name="{kernel}" language="c">{arg_xml}</kernel>'
            f'</core></device></platform></project>').encode()


def make_xclbin(path, kernel="ivit_top", args=ARGS, instances=("ivit_top_1",), mode=0,
                metadata=True, ip_layout=None):
    """A minimal xclbin: axlf header, IP_LAYOUT (+ EMBEDDED_METADATA) sections;
    ``ip_layout`` replaces the IP_LAYOUT section's bytes (malformed-file tests)."""
    ips = [struct.pack("<IIQ64s", 1, 0, 0x1000 * (i + 1), f"{kernel}:{inst}".encode())
           for i, inst in enumerate(instances)]
    ips.append(struct.pack("<IIQ64s", 4, 0, 0, b"MEM_DDR4"))  # a non-kernel IP is ignored
    body = struct.pack("<i4x", len(ips)) + b"".join(ips) if ip_layout is None else ip_layout
    sections = [(8, b"ip_layout", body)]
    if metadata:
        sections.append((2, b"metadata", _metadata_xml(kernel, list(args))))
    n = len(sections)
    data_at = 456 + 40 * n
    headers, blobs, off = b"", b"", data_at
    for kind, name, body in sections:
        if kind != 8 or ip_layout is None:  # a given IP_LAYOUT keeps its exact size
            body += b"\0" * (-len(body) % 8)
        headers += struct.pack("<I16s4xQQ", kind, name, off, len(body))
        blobs += body
        off += len(body)
    head = struct.pack("<QQQHBBHH16s64s16s16sI4x", off, 0, 0, 0, 2, 1, mode, 0, b"\0" * 16,
                       b"xilinx_test_platform", b"\0" * 16, b"", n)
    assert len(head) == 152
    blob = b"xclbin2\0" + struct.pack("<i28s256sQ", -1, b"\xff" * 28, b"\0" * 256, 7) + head
    assert len(blob) == 456
    path.write_bytes(blob + headers + blobs)
    return path


def fake_manifest(kernel="ivit_top", args=ARGS, text=b"{}"):
    return SimpleNamespace(kernel_name=kernel, kernel_args=list(args),
                           sha256=hashlib.sha256(text).hexdigest())


def test_read_kernels_args_and_mode(tmp_path):
    info = read_xclbin(make_xclbin(tmp_path / "a.xclbin", mode=5,
                                   instances=("ivit_top_1", "ivit_top_2")))
    assert info.kernels == ["ivit_top"] and info.instances == ["ivit_top_1", "ivit_top_2"]
    assert info.kernel_args == {"ivit_top": ARGS}
    assert info.mode == "sw_emu"
    check_xclbin(info, fake_manifest())


def test_wrong_kernel_or_arguments_refused(tmp_path):
    other = read_xclbin(make_xclbin(tmp_path / "v.xclbin", kernel="vadd", args=["a", "b", "c"]))
    with pytest.raises(HostError, match="holds kernel.s. vadd.*expects 'ivit_top'"):
        check_xclbin(other, fake_manifest())
    swapped = read_xclbin(make_xclbin(tmp_path / "s.xclbin",
                                      args=["weights", "image", "logits", "n_images"]))
    with pytest.raises(HostError, match="arguments"):
        check_xclbin(swapped, fake_manifest())
    # without EMBEDDED_METADATA the IP_LAYOUT kernel name still has to match
    bare = read_xclbin(make_xclbin(tmp_path / "b.xclbin", metadata=False))
    assert bare.kernel_args == {}
    check_xclbin(bare, fake_manifest())
    with pytest.raises(HostError, match="expects 'other'"):
        check_xclbin(bare, fake_manifest(kernel="other"))


def test_manifest_stamp_checked(tmp_path):
    path = make_xclbin(tmp_path / "k.xclbin")
    manifest_text = json.dumps({"x": 1}).encode()
    man = fake_manifest(text=manifest_text)
    stamp_path(path).write_text(f"{man.sha256}  manifest.json\n")
    check_xclbin(read_xclbin(path), man)
    stamp_path(path).write_text(f"{hashlib.sha256(b'other').hexdigest()}  manifest.json\n")
    with pytest.raises(HostError, match="different manifest.json"):
        check_xclbin(read_xclbin(path), man)


def test_not_an_xclbin(tmp_path):
    with pytest.raises(HostError, match="no such file"):
        read_xclbin(tmp_path / "missing.xclbin")
    junk = tmp_path / "junk.xclbin"
    junk.write_bytes(b"\x7fELF" + b"\0" * 600)
    with pytest.raises(HostError, match="bad magic"):
        read_xclbin(junk)
    good = make_xclbin(tmp_path / "t.xclbin").read_bytes()
    (tmp_path / "trunc.xclbin").write_bytes(good[:500])
    with pytest.raises(HostError, match="truncated|past the end"):
        read_xclbin(tmp_path / "trunc.xclbin")
