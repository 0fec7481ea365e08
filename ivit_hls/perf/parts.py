"""Capacities of common AMD/Xilinx parts (datasheet counts) for resource estimates."""

from __future__ import annotations

#: family prefix -> (DSP slices, BRAM36 blocks, URAM blocks). Matched by the part's first field.
PARTS = {
    "xcu250": (12288, 2688, 1280),
    "xcu200": (6840, 2160, 960),
    "xcu280": (9024, 2016, 960),
    "xcu55c": (9024, 2016, 960),
    "xcu50": (5952, 1344, 640),
    "xcvu9p": (6840, 2160, 960),
    "xczu9eg": (2520, 912, 0),
    "xczu7ev": (1728, 312, 96),
    "xck26": (1248, 144, 64),
    "xc7z020": (220, 140, 0),
}


def part_info(part: str) -> dict | None:
    """Capacities of ``part`` (e.g. ``xcu250-figd2104-2L-e``), or None for an unknown part."""
    family = part.split("-")[0].lower()
    if family not in PARTS:
        return None
    dsp, bram, uram = PARTS[family]
    return {"family": family, "dsp": dsp, "bram36": bram, "uram": uram}
