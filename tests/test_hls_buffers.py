"""The on-chip activation buffers: reuse once a tensor is dead, narrower and wider tensors of
the engine units sharing one buffer (rows addressed by the buffer's stride), and plain layer
kernels' tensors kept in buffers of their exact shape."""

from __future__ import annotations

import re

import numpy as np

from ivit_hls.hls import HlsOptions, render_project
from ivit_hls.hls.lower import lower

from test_hls_mixed import _small_swin_model


def _outputs(plan) -> dict:
    return {st.out.name: st.out for st in plan.steps}


def test_qkv_and_fc1_share_one_buffer(small_int_model):
    """DeiT: the qkv output (3 x 192 channels) dies in the attention unit before fc1 (4 x 192)
    is written, so they share one int8 buffer as wide as fc1; qkv rows sit 768 apart."""
    plan = lower(small_int_model, 4, 4)
    outs = _outputs(plan)
    qkv, fc1 = outs["blocks.0.attn.qkv"], outs["blocks.0.mlp.gelu"]
    assert (qkv.shape[-1], fc1.shape[-1]) == (576, 768)
    assert qkv.buffer == fc1.buffer
    assert (qkv.stride, fc1.stride) == (768, 768)
    shapes = {name: shape for name, _c, shape, _p in plan.buffers}
    assert shapes[qkv.buffer] == (qkv.shape[0], 768)
    # one buffer per (type, shape) in use would hold both widths
    per_shape = {(t.ctype, t.shape) for t in outs.values()}
    itemsize = {"int8_t": 1, "int16_t": 2, "int32_t": 4}
    assert plan.buffer_bytes() < sum(int(np.prod(s)) * itemsize[c] for c, s in per_shape)
    # every tensor in a buffer fits it, and no two live tensors share one: a tensor written
    # by step d and last read by step u holds its buffer over [d, u]; two in one buffer may
    # only meet at a step that reads one and writes the other (the in-place residual)
    live = {}
    for k, st in enumerate(plan.steps):
        live[st.out.name] = [k, len(plan.steps) if k == len(plan.steps) - 1 else k]
        for t in st.inputs:
            if t.name in live:
                live[t.name][1] = k
    for t in outs.values():
        assert t.shape[:-1] == shapes[t.buffer][:-1] and t.shape[-1] <= shapes[t.buffer][-1]
    for a in outs.values():
        for b in outs.values():
            if a.name < b.name and a.buffer == b.buffer:
                (da, ua), (db, ub) = live[a.name], live[b.name]
                assert ua <= db or ub <= da, (a.name, b.name)


def test_the_units_get_the_buffer_strides(small_int_model):
    """Each engine slot's config carries the row strides of what it reads and writes."""
    files = render_project(small_int_model, HlsOptions(rows=5, cols=4, lanes=4))
    params = files["src/ivit_params.h"].decode()
    plan = lower(small_int_model, 5, 4, 4)
    for slot in plan.slots:
        if not slot.engine:
            continue
        body = re.search(r"struct " + slot.cname + r" \{(.*?)\n\};", params, re.S).group(1)
        op = slot.first
        assert f"static const int LDX = {op.inputs[0].stride};" in body
        assert f"static const int LDY = {op.out.stride};" in body
    attention = next(s for s in plan.slots if s.first.layer.kind == "qk_matmul")
    assert attention.first.inputs[0].stride == 768 != attention.first.inputs[0].shape[-1]


def test_plain_kernel_tensors_keep_exact_buffers():
    """Layer kernels without an engine unit read contiguous rows: the buffers of their tensors
    hold only tensors of exactly their shape (so they never grow)."""
    plan = lower(_small_swin_model(), 4, 4)
    plain = set()
    for st in plan.steps:
        if not st.engine:
            plain |= {t.name for t in st.inputs if t.buffer != "image"} | {st.out.name}
    assert plain
    shapes = {name: shape for name, _c, shape, _p in plan.buffers}
    by_buffer: dict = {}
    for st in plan.steps:
        for t in [*st.inputs, st.out]:
            if t.buffer != "image":
                by_buffer.setdefault(t.buffer, {})[t.name] = t
    for tensors in by_buffer.values():
        if plain & set(tensors):
            for t in tensors.values():
                assert tuple(t.shape) == shapes[t.buffer] and t.stride == t.shape[-1]
