"""Swin HLS kernels (hw/hls/ivit/swin.h) under g++: every Swin layer of a small Swin (a
shifted block, patch merging, the pooled head) C-simulated bit-exactly against the golden
model, each kernel fed the golden input tensors through the config struct its ``hls`` hook
describes (rendered here with scalar constants, as the kernels of swin.h read them)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import torch

from ivit_hls import golden
from ivit_hls.hls.lower import ctype_of, numpy_dtype

from hls_helpers import HLS_DIR, build_shared, ptr
from test_swin import SWIN_KINDS, KernelCall, small  # noqa: F401  (shared fixture)

#: ivit::layer::ExpFormId values (layers.h), written as integers so swin.h stands alone.
_ENUMS = {"ivit::layer::EXP_CORRECTED": 0, "ivit::layer::EXP_PAPER": 1}


def _struct(name: str, ctypes_: dict, call: dict) -> str:
    lines = [f"struct {name} {{"]
    lines += [f"    typedef {c} {t};" for t, c in ctypes_.items()]
    lines += ["    static const int R = 4;", "    static const int C = 4;"]
    lines += [f"    static const int {k} = {int(v)};" for k, v in call["dims"].items()]
    for key, value in call["consts"].items():
        if isinstance(value, tuple):
            value = value[1]
        value = _ENUMS.get(value, value)
        lines.append(f"    static const int64_t {key} = {int(value)};")
    if call["w_off"] is not None:
        lines.append(f"    static const long W_OFF = {call['w_off']};")
    arrays = [(ctype_of(t), n, np.asarray(v).reshape(-1)) for n, t, v in call["arrays"]]
    lines += [f"    static const {c} {n}[{v.size}];" for c, n, v in arrays]
    lines.append("};")
    lines += [f"const {c} {name}::{n}[{v.size}] = {{{', '.join(map(str, v.tolist()))}}};"
              for c, n, v in arrays]
    return "\n".join(lines)


def build_layers(model, kinds: set, header: str, out_dir):
    """Compile every layer of ``kinds`` into one library: ``(entries, weights, lib)``."""
    types = model.tensor_types()
    ctx = KernelCall()
    src = ["#include <cstdint>", f'#include "ivit/{header}"']
    entries = []
    for i, layer in enumerate(model.layers):
        if layer.kind not in kinds:
            continue
        ins, out = [types[s] for s in layer.inputs], types[layer.name]
        call = layer.op.hls(layer, ins, out, ctx)
        ctypes_ = {t: ctype_of(x.dtype) for t, x in zip(["in_t", "in1_t"], ins)}
        ctypes_["out_t"] = ctype_of(out.dtype)
        name = f"L{i}"
        args = [f"const {ctypes_[t]}* x{j}" for j, t in enumerate(["in_t", "in1_t"][:len(ins)])]
        call_args = [f"x{j}" for j in range(len(ins))] + ["y"]
        call_args += ["w"] if call["w_off"] is not None else []
        src += [_struct(name, ctypes_, call),
                f'extern "C" void run_{name}({", ".join(args)}, {ctypes_["out_t"]}* y, '
                f"const int8_t* w) {{\n    (void)w;\n    ivit::layer::{call['kernel']}<{name}>"
                f"({', '.join(call_args)});\n}}"]
        entries.append((layer, name, ctypes_))
    (out_dir / "layers.cpp").write_text("\n".join(src) + "\n")
    lib = ctypes.CDLL(str(build_shared([out_dir / "layers.cpp"], out_dir / "liblayers.so",
                                       include=[HLS_DIR])))
    return entries, np.frombuffer(bytes(ctx.blob), dtype=np.int8).copy(), lib


def check_layers(model, entries, weights, lib, images: np.ndarray) -> None:
    """Each compiled layer, fed the golden inputs, returns the golden output exactly."""
    qimg = golden.quantize_image(model, images)
    trace = golden.run(model, qimg, trace=True).trace
    trace["image"] = qimg
    for b in range(qimg.shape[0]):
        for layer, name, ctypes_ in entries:
            ins = [np.ascontiguousarray(trace[src][b].astype(numpy_dtype(ctypes_[t])))
                   for src, t in zip(layer.inputs, ["in_t", "in1_t"])]
            y = np.zeros(trace[layer.name][b].shape, dtype=numpy_dtype(ctypes_["out_t"]))
            args = [ptr(a, a.dtype) for a in ins] + [ptr(y, y.dtype), ptr(weights, np.int8)]
            getattr(lib, f"run_{name}")(*args)
            np.testing.assert_array_equal(y.astype(np.int64), trace[layer.name][b],
                                          err_msg=f"image {b} layer {layer.name}")


@pytest.fixture(scope="module")
def swin_lib(small, tmp_path_factory):  # noqa: F811
    _fp, _q, model = small
    return (model, *build_layers(model, SWIN_KINDS, "swin.h",
                                 tmp_path_factory.mktemp("swin_hls")))


def test_swin_layers_csim_bit_exact(swin_lib):
    model, entries, weights, lib = swin_lib
    assert {layer.kind for layer, _n, _t in entries} == SWIN_KINDS
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(21)).numpy()
    check_layers(model, entries, weights, lib, images)
