"""The engine's on-chip activation buffers: which tensor lives in which buffer (a buffer is
reused once its tensor is dead), and how each buffer is partitioned into row banks."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lower builds the tensors and imports this module
    from .lower import Tensor


def allocate(steps: list, image: Tensor) -> list:
    """On-chip buffers for the steps' outputs, ``[name, ctype, shape]``; a buffer is reused once
    its tensor is dead. A fused residual step writes into its residual input's buffer when that
    tensor dies there. A tensor that only engine units touch may go into a free buffer of its
    type and rows that is narrower or wider than it (the buffer takes the widest; the units
    address rows by the buffer's stride, ``Tensor.ld``): DeiT's qkv and fc1 outputs share one.
    A tensor that a plain layer kernel touches (contiguous rows) needs a buffer of its exact
    shape that only such tensors use."""
    last_use = {}
    plain = set()
    for k, st in enumerate(steps):
        for t in st.inputs:
            last_use[t.name] = k
            if not st.engine:
                plain.add(t.name)
        if not st.engine:
            plain.add(st.out.name)
    last_use[steps[-1].out.name] = len(steps)
    plain.add(steps[-1].out.name)       # the logits leave as one contiguous burst
    buffers: list = []
    strided: dict = {}      # buffer name -> True when only engine-unit tensors use it
    free: list = []         # buffer indices, in the order they became free
    for k, st in enumerate(steps):
        out = st.out
        res = st.inplace
        if (res is not None and last_use.get(res.name) == k
                and (res.ctype, res.shape) == (out.ctype, out.shape)
                and strided.get(res.buffer) == (out.name not in plain)):
            out.buffer = res.buffer
        else:
            index = _pick_buffer(buffers, strided, free, out, out.name not in plain)
            if index is None:
                index = len(buffers)
                buffers.append([f"buf{index}", out.ctype, tuple(out.shape)])
                strided[buffers[index][0]] = out.name not in plain
            else:
                free.remove(index)
                shape = buffers[index][2]
                width = max(int(shape[-1]), int(out.shape[-1]))
                buffers[index][2] = (*shape[:-1], width)
            out.buffer = buffers[index][0]
        for t in {t.name: t for t in st.inputs}.values():
            if t is not image and last_use.get(t.name) == k and t.buffer != out.buffer:
                free.append(next(i for i, b in enumerate(buffers) if b[0] == t.buffer))
    widths = {name: int(shape[-1]) for name, _c, shape in buffers}
    for st in steps:
        for t in [*st.inputs, st.out]:
            if t is not image and t.buffer in widths:
                t.ld = widths[t.buffer]
    return buffers


def _pick_buffer(buffers: list, strided: dict, free: list, out: Tensor,
                 engine_only: bool) -> int | None:
    """A free buffer for ``out``: the same shape (a plain-kernel tensor: only that, in a buffer
    of plain-kernel tensors); for a tensor of the engine units, the narrowest free buffer of
    its type and rows at least as wide, else the widest one (which grows to it)."""
    lead = tuple(out.shape[:-1])
    fits = [i for i in free if buffers[i][1] == out.ctype
            and tuple(buffers[i][2][:-1]) == lead and strided[buffers[i][0]] == engine_only]
    if not engine_only:
        exact = [i for i in fits if int(buffers[i][2][-1]) == int(out.shape[-1])]
        return exact[-1] if exact else None
    if not fits:
        return None
    wide = [i for i in fits if int(buffers[i][2][-1]) >= int(out.shape[-1])]
    if wide:
        return min(wide, key=lambda i: (int(buffers[i][2][-1]), -free.index(i)))
    return max(fits, key=lambda i: (int(buffers[i][2][-1]), free.index(i)))


def partition(steps: list, buffer: str, rows: int, cols: int, lanes: int) -> tuple:
    """(pragma, dim, factor): R banks, cyclic on the token axis, words of one element. Every
    unit touches at most R consecutive rows of one column per cycle and port (the array's R
    row operands, the E drained rows of a column, the L rows of a vector step), so the banks
    stay deep at any array height and no bank is reshaped to the array's width."""
    return (("ARRAY_PARTITION", 1, rows),)
