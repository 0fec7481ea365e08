"""Shifted-window geometry of Swin attention (docs/integer-spec.md §14), shared by its kinds.

Tokens live in natural row-major order ``t = y·gw + x`` everywhere in the integer model.
Window attention reads them through ``window_index``: windowed position ``p = w·N + n``
(window ``w = wy·(gw/ws) + wx``, token ``n = iy·ws + ix`` inside it, ``N = ws²``) holds the
natural token ``((wy·ws + iy + s) mod gh)·gw + (wx·ws + ix + s) mod gw`` — timm's cyclic shift
by ``-s`` followed by its window partition. The output is written back through the same index,
which is timm's window reverse followed by the shift by ``+s``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .base import expect


@lru_cache(maxsize=64)
def window_index(gh: int, gw: int, ws: int, shift: int) -> np.ndarray:
    """(nW·N,) natural token index of every windowed position (read-only int64)."""
    wy, wx, iy, ix = np.meshgrid(np.arange(gh // ws), np.arange(gw // ws), np.arange(ws),
                                 np.arange(ws), indexing="ij")
    y = (wy * ws + iy + shift) % gh
    x = (wx * ws + ix + shift) % gw
    idx = (y * gw + x).reshape(-1).astype(np.int64)
    idx.flags.writeable = False
    return idx


def _regions(length: int, ws: int, shift: int) -> np.ndarray:
    """Region label (0, 1, 2) of each position of one axis of the shifted grid."""
    pos = np.arange(length)
    return (pos >= length - ws).astype(np.int64) + (pos >= length - shift).astype(np.int64)


@lru_cache(maxsize=64)
def window_labels(gh: int, gw: int, ws: int, shift: int) -> np.ndarray:
    """(nW·N,) region label of every windowed position: ``3·ry + rx``, where an axis of the
    shifted grid of length L has region 0 on ``[0, L-ws)``, 1 on ``[L-ws, L-s)`` and 2 on
    ``[L-s, L)`` (timm's three slices). With ``shift = 0`` every label is 0."""
    if shift == 0:
        lab = np.zeros(gh * gw, dtype=np.int64)
    else:
        ry, rx = _regions(gh, ws, shift), _regions(gw, ws, shift)
        grid = 3 * ry[:, None] + rx[None, :]                           # (gh, gw) shifted grid
        lab = grid.reshape(gh // ws, ws, gw // ws, ws).transpose(0, 2, 1, 3).reshape(-1)
    lab = lab.astype(np.int64)
    lab.flags.writeable = False
    return lab


@lru_cache(maxsize=64)
def window_mask(gh: int, gw: int, ws: int, shift: int) -> np.ndarray:
    """(nW, N, N) bool: True where query n and key n' of a window carry different region
    labels (they are not neighbours in the image): that logit is masked."""
    n = ws * ws
    lab = window_labels(gh, gw, ws, shift).reshape(-1, n)
    out = lab[:, :, None] != lab[:, None, :]
    out.flags.writeable = False
    return out


def check_geometry(layer, grid, window: int, shift: int) -> tuple[int, int, int]:
    """Refuse a grid the windows do not tile, or a shift outside ``[0, window)``; returns
    ``(windows, tokens per window, tokens)``."""
    gh, gw = grid
    expect(layer, min(gh, gw, window) >= 1, "grid and window must be positive")
    expect(layer, gh % window == 0 and gw % window == 0,
           f"grid {gh}x{gw} is not tiled by {window}x{window} windows")
    expect(layer, 0 <= shift < window, f"shift {shift} outside 0..{window - 1}")
    return (gh // window) * (gw // window), window * window, gh * gw
