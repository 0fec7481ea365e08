"""Compile the integer model's TE kernels with TVM and run them layer by layer.

``build_module(model, target)`` lowers every layer (``ops.LOWER``), keeps one PrimFunc per
distinct kernel key, and compiles them as one ``IRModule``: for ``llvm`` directly, for
``cuda`` after GPU schedules (``schedule_cuda``) and with the device code compiled by nvcc
for the requested arch. ``export(model, path)`` writes that
library so a GPU machine needs only TVM's runtime to load it (``TvmExecutor(lib=path)``).
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..common import check_table, check_widths
from .ops import LOWER


def plan(model):
    """``[(layer, Kernel), ...]`` in model order, with every tensor's shape (no batch axis)."""
    check_table(LOWER, "tvm", model)
    check_widths(model)
    cfg = model.config
    shapes = {"image": (cfg["in_chans"], cfg["img_size"], cfg["img_size"])}
    steps = []
    for layer in model.layers:
        ins = [(None,) + tuple(shapes[s]) for s in layer.inputs]
        kernel, out = LOWER[layer.kind](layer, ins)
        shapes[layer.name] = tuple(out)
        steps.append((layer, kernel))
    return steps


def _fn_name(key: str) -> str:
    return "ivit_" + "".join(ch if ch.isalnum() else "_" for ch in key)


def ir_module(model):
    """The IRModule of the model's distinct kernels (global symbols ``ivit_<key>``)."""
    import tvm

    from . import ops

    ops.load_te()
    te = ops.te
    funcs = {}
    for _, kernel in plan(model):
        name = _fn_name(kernel.key)
        if name not in funcs:
            funcs[name] = te.create_prim_func(kernel.build()).with_attr("global_symbol", name)
    return tvm.IRModule(funcs)


def cuda_target(arch: str = "sm_90"):
    """TVM's CUDA target for ``arch`` with an llvm host (dict form: TVM 0.27 rejects options
    inside target strings)."""
    import tvm

    return tvm.target.Target({"kind": "cuda", "arch": arch}, host={"kind": "llvm"})


def build_module(model, target: str = "llvm", arch: str = "sm_90"):
    """Compile the model's kernels for ``"llvm"`` or ``"cuda"`` (device code via nvcc)."""
    import tvm

    mod = ir_module(model)
    if target == "llvm":
        return tvm.compile(mod, target="llvm")
    if target != "cuda":
        raise ValueError(f"unknown TVM target {target!r} (llvm or cuda)")
    os.environ.setdefault("TVM_CUDA_COMPILE_MODE", "nvcc")
    tgt = cuda_target(arch)
    return tvm.compile(schedule_cuda(mod, tgt), target=tgt)


#: GEMM kernels get dlight's tensorised matmul schedule when it applies
_GEMM_PREFIXES = ("ivit_linear", "ivit_qk", "ivit_pv", "ivit_patch")
THREADS = 256
#: kernels that the last ``schedule_cuda`` call gave dlight's Matmul schedule (for reports)
DLIGHT_APPLIED: set = set()


def _thread_per_output(func):
    """Every block of ``func`` as its own kernel: spatial loops fused and bound to
    blockIdx/threadIdx, reduction loops serial in the thread. No stage is inlined: dlight's
    rules inline the square root's Newton stages into one exponentially large expression."""
    import tvm
    from tvm import s_tir

    sch = s_tir.Schedule(tvm.IRModule({"main": func}))
    root = sch.get_sblock("root")
    for block in sch.get_child_blocks(root):
        spatial = sum(1 for iv in sch.get(block).iter_vars if iv.iter_type == 0)
        loops = sch.get_loops(block)[:spatial]
        fused = sch.fuse(*loops) if len(loops) > 1 else loops[0]
        bx, tx = sch.split(fused, [None, THREADS])
        sch.bind(bx, "blockIdx.x")
        sch.bind(tx, "threadIdx.x")
    return sch.mod["main"]


def schedule_cuda(mod, target):
    """GPU schedules: dlight's Matmul rule for the GEMM kernels (falling back when it does
    not apply), one thread per output element for the row-wise integer ops."""
    import tvm
    from tvm.s_tir import dlight as dl

    out = {}
    for gv, func in mod.functions.items():
        name = gv.name_hint
        sched = None
        if name.startswith(_GEMM_PREFIXES):
            try:
                with target:
                    single = dl.ApplyDefaultSchedule(dl.gpu.Matmul())(tvm.IRModule({name: func}))
                cand = single[name]
                if not tvm.ir.structural_equal(cand, func):  # the rule applied
                    sched = cand
                    DLIGHT_APPLIED.add(name)
            except Exception:  # a rule that does not fit this kernel: plain schedule
                sched = None
        if sched is None:
            sched = _thread_per_output(func).with_attr("tirx.is_scheduled", True)
        out[name] = sched.with_attr("global_symbol", name)
    return tvm.IRModule(out)


def export(model, path: str, target: str = "cuda", arch: str = "sm_90") -> str:
    """Compile and write the kernel library to ``path`` (a .so loadable by TVM's runtime)."""
    lib = build_module(model, target=target, arch=arch)
    lib.export_library(path)
    with open(path + ".json", "w") as fh:
        json.dump({"model": model.config.get("name"), "target": target, "arch": arch,
                   "functions": sorted({_fn_name(k.key) for _, k in plan(model)})}, fh, indent=1)
    return path


class TvmExecutor:
    """Runs an integer model with TVM-compiled kernels (``target`` llvm or cuda).

    ``lib``: a library written by ``export`` (or a compiled module) to load instead of
    compiling, which is what a machine with only TVM's runtime does.
    """

    def __init__(self, model, target: str = "llvm", lib=None):
        import tvm

        self.model = model
        self.target = target
        self.dev = tvm.cpu(0) if target == "llvm" else tvm.cuda(0)
        if lib is None:
            lib = build_module(model, target)
        elif isinstance(lib, str):
            lib = tvm.runtime.load_module(lib)
        self.lib = lib
        self.steps = plan(model)
        self._consts = [[tvm.runtime.tensor(c, device=self.dev) for c in k.consts]
                        for _, k in self.steps]

    def forward(self, images, trace: bool = False) -> dict:
        """TVM tensors of every layer (``trace``) or of the logits only, by layer name."""
        import tvm

        b = int(images.shape[0])
        tensors = {"image": images}
        last = None
        for (layer, kernel), consts in zip(self.steps, self._consts):
            fn = self.lib[_fn_name(kernel.key)]
            out = tvm.runtime.empty((b,) + self._shape(layer, kernel), self._dtype(layer),
                                    device=self.dev)
            fn(*(tensors[s] for s in layer.inputs), *consts, out)
            tensors[layer.name] = out
            last = layer.name
        if trace:
            tensors.pop("image")
            return tensors
        return {last: tensors[last]}

    def _shape(self, layer, kernel):
        if not hasattr(self, "_shapes"):
            cfg = self.model.config
            shapes = {"image": (cfg["in_chans"], cfg["img_size"], cfg["img_size"])}
            for lay in self.model.layers:
                ins = [(None,) + tuple(shapes[s]) for s in lay.inputs]
                shapes[lay.name] = tuple(LOWER[lay.kind](lay, ins)[1])
            self._shapes = shapes
        return self._shapes[layer.name]

    def _dtype(self, layer) -> str:
        from ..common import attr, out_dtype

        if layer.kind == "shiftmax":
            return "int32"
        return str(out_dtype(attr(layer, "out_bits")))

    def run_numpy(self, images: np.ndarray, trace: bool = False) -> dict:
        """Integer images (numpy) in, int64 numpy outputs by layer name out."""
        import tvm

        dev_img = tvm.runtime.tensor(np.ascontiguousarray(images, dtype=np.int8), device=self.dev)
        return {k: v.numpy().astype(np.int64) for k, v in self.forward(dev_img, trace).items()}
