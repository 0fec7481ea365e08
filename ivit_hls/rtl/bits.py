"""Lane packing of RTL stream words (lane 0 in the low bits), shared by benches and controller."""

from __future__ import annotations


def pack(values, width: int) -> int:
    """Pack integers (lane 0 in the low bits) into one bit vector of ``len * width`` bits."""
    mask = (1 << width) - 1
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & mask) << (i * width)
    return out


def unpack(word: int, lanes: int, width: int, signed: bool = True) -> list[int]:
    """Split a bit vector into ``lanes`` integers of ``width`` bits."""
    mask = (1 << width) - 1
    out = []
    for i in range(lanes):
        v = (word >> (i * width)) & mask
        if signed and v >> (width - 1):
            v -= 1 << width
        out.append(v)
    return out
