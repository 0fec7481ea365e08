"""GPU latency of DeiT: PyTorch float (eager, torch.compile), int8 GEMMs with float nonlinear
ops, and the integer-only I-ViT on Triton and on TVM, in one run on one GPU.

Before timing, each integer backend is checked bit for bit against the golden numpy model on
the same images. Timing: CUDA events around each call after warm-up, median of ``--iters``.
Outputs in ``--out``: results.json (raw), results.md (table), latency.png (the paper's
latency figure: bars per method at each batch, one panel per model).

Usage:
  python bench/gpu_latency.py --out OUT [--models deit_tiny,deit_s,deit_b] [--batches 1,8,32,64]
                              [--tvm-libs DIR] [--budget-s 420]
  python bench/gpu_latency.py --smoke --out OUT   # CPU: tiny model, TVM llvm, Triton interpreter
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

METHODS = ("fp32-eager", "fp32-compile", "fp16-eager", "fp16-compile", "bf16-eager",
           "bf16-compile", "int8-gemm", "ivit-triton", "ivit-tvm")
#: the headline comparison (the paper's Fig.: DeiT-S, batch 8)
HEADLINE = ("deit_s", 8)


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for results.json/.md and latency.png")
    ap.add_argument("--models", default="deit_tiny,deit_s,deit_b")
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--compile-at", default="deit_s:8,deit_tiny:8,deit_b:8",
                    help="model:batch pairs timed with torch.compile (each costs a compile)")
    ap.add_argument("--tvm-libs", default=None, help="folder of exported TVM libraries <model>.so")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--check-images", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=420.0,
                    help="skip the remaining timings once this much wall time is spent")
    ap.add_argument("--smoke", action="store_true",
                    help="CPU run of the whole script: tiny model, llvm and interpreter")
    return ap.parse_args(argv)


def timer(fn, warmup: int, iters: int, cuda: bool) -> float:
    """Median milliseconds of ``fn()`` (CUDA events on a GPU, perf_counter on CPU); slow
    methods get fewer iterations (about 2 s of timed calls at most, at least 5)."""
    t0 = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(warmup - 1):
        fn()
    if cuda:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        first_ms = (time.perf_counter() - t0) * 1e3
    iters = max(5, min(iters, int(2000 / max(first_ms, 1e-3))))
    times = []
    if cuda:
        torch.cuda.synchronize()
        for _ in range(iters):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    else:
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def gpu_info() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__}
    try:
        import triton
        info["triton"] = triton.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        try:
            q = "name,clocks.sm,clocks.max.sm,clocks.mem,driver_version,power.limit"
            out = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            info["nvidia_smi"] = {"query": q, "value": out}
        except (OSError, subprocess.SubprocessError):
            pass
    else:
        info["gpu"] = None
        info["cpu"] = platform.processor() or platform.machine()
    return info


class Int8Linear(torch.nn.Module):
    """FasterTransformer-style int8 GEMM: per-token dynamic int8 activations, per-channel
    int8 weights, int32 accumulation (``torch._int_mm``), float dequant + bias."""

    def __init__(self, lin: torch.nn.Linear, dtype):
        super().__init__()
        w = lin.weight.detach().float()
        self.sw = (w.abs().amax(dim=1).clamp_min(1e-8) / 127.0)
        self.w_t = torch.round(w / self.sw[:, None]).to(torch.int8).t().contiguous()
        self.sw = self.sw.to(dtype)
        self.bias = None if lin.bias is None else lin.bias.detach().to(dtype)
        self.dtype = dtype

    def forward(self, x):
        shp = x.shape
        x2 = x.reshape(-1, shp[-1])
        sx = x2.abs().amax(dim=1, keepdim=True).clamp_min(1e-6) / 127.0
        xq = torch.round(x2 / sx).to(torch.int8)
        if xq.shape[0] <= 16:  # _int_mm needs more than 16 rows on CUDA: pad
            pad = torch.zeros(17 - xq.shape[0], xq.shape[1], dtype=torch.int8, device=xq.device)
            acc = torch._int_mm(torch.cat([xq, pad]), self.w_t)[: xq.shape[0]]
        else:
            acc = torch._int_mm(xq, self.w_t)
        y = acc.to(self.dtype) * sx.to(self.dtype) * self.sw
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shp[:-1], -1)


def int8_model(model, dtype):
    for name, child in list(model.named_children()):
        if isinstance(child, torch.nn.Linear):
            setattr(model, name, Int8Linear(child, dtype))
        else:
            int8_model(child, dtype)
    return model


def float_runner(name, cfg, method, batch, dev):
    from ivit_hls.api import create_float_model

    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[
        method.split("-")[0] if not method.startswith("int8") else
        ("fp16" if dev.type == "cuda" else "fp32")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_float_model(name, **cfg).eval()
    if method == "int8-gemm":
        model = int8_model(model, dtype)
    model = model.to(dev, dtype)
    if method.endswith("-compile"):
        model = torch.compile(model)
    size = model.patch_embed.img_size[0] if not method.endswith("-compile") else \
        model._orig_mod.patch_embed.img_size[0]
    x = torch.randn(batch, 3, size, size, device=dev, dtype=dtype)

    def fn():
        with torch.inference_mode():
            return model(x)
    return fn


def ivit_runners(name, cfg, args, dev, results, record):
    """Quantize once, check every integer backend against golden, return timing closures."""
    from ivit_hls import golden, gpu
    from ivit_hls.gpu import testing

    model = testing.model(name, depth=cfg.get("depth"), img_size=cfg.get("img_size"))
    imgs = testing.images(model, args.check_images, seed=7)
    want = golden.run(model, imgs).logits
    runners = {}
    methods = args.methods.split(",")
    if "ivit-triton" in methods:
        from ivit_hls.gpu.triton import TritonExecutor
        ex = TritonExecutor(model)
        got = gpu.run(model, imgs, backend="triton", runner=ex).logits
        record(name, "ivit-triton", "bit_exact", bool(np.array_equal(got, want)))
        runners["ivit-triton"] = ("triton", ex)
    if "ivit-tvm" in methods:
        try:
            from ivit_hls.gpu.tvm import TvmExecutor
            if dev.type == "cuda":
                lib = os.path.join(args.tvm_libs or "", f"{name}.so")
                if not os.path.exists(lib):
                    raise FileNotFoundError(f"no exported TVM library {lib}")
                ex = TvmExecutor(model, target="cuda", lib=lib)
            else:
                ex = TvmExecutor(model, target="llvm")
            got = gpu.run(model, imgs, backend="tvm-" + ex.target, runner=ex).logits
            record(name, "ivit-tvm", "bit_exact", bool(np.array_equal(got, want)))
            runners["ivit-tvm"] = ("tvm", ex)
        except (ImportError, OSError, RuntimeError) as err:
            record(name, "ivit-tvm", "error", f"{type(err).__name__}: {err}")
    return model, runners


def ivit_fn(kind, ex, model, batch, dev):
    from ivit_hls.gpu import testing

    imgs = testing.images(model, batch, seed=11)
    if kind == "triton":
        x = torch.as_tensor(imgs).to(torch.int8).to(dev)
        if dev.type == "cuda" and batch <= 8:  # small batches: launch overhead dominates
            static, replay = ex.graphed(batch)
            static.copy_(x)
            return replay
        return lambda: ex.logits(x)
    import tvm
    x = tvm.runtime.tensor(imgs.astype(np.int8), device=ex.dev)

    def fn():  # TVM launches on its own stream handle: finish inside the timed region
        out = ex.forward(x)
        ex.dev.sync()
        return out
    return fn


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    t_start = time.time()
    cuda = torch.cuda.is_available() and not args.smoke
    dev = torch.device("cuda" if cuda else "cpu")
    os.makedirs(args.out, exist_ok=True)
    if args.smoke:
        args.models, args.batches, args.warmup, args.iters = "deit_tiny", "1", 1, 2
        args.methods = "fp32-eager,int8-gemm,ivit-triton,ivit-tvm"
        cfgs = {"deit_tiny": {"depth": 1, "img_size": 32}}
    else:
        cfgs = {}
    compile_at = {tuple(p.split(":")) for p in args.compile_at.split(",") if p}
    res = {"info": gpu_info(), "args": vars(args), "checks": {}, "latency_ms": {}}

    def record(model, method, key, value):
        res["checks"].setdefault(model, {}).setdefault(method, {})[key] = value
        print(f"[check] {model} {method} {key}: {value}", flush=True)

    for name in args.models.split(","):
        cfg = cfgs.get(name, {})
        model, runners = ivit_runners(name, cfg, args, dev, res, record)
        for batch in (int(b) for b in args.batches.split(",")):
            for method in args.methods.split(","):
                key = f"{name}/{batch}/{method}"
                if time.time() - t_start > args.budget_s:
                    res["latency_ms"][key] = "skipped: time budget"
                    continue
                if method.endswith("-compile") and (name, str(batch)) not in compile_at:
                    continue
                if not cuda and method.split("-")[0] in ("fp16", "bf16") or \
                        (not cuda and method.endswith("-compile")):
                    continue
                try:
                    if method.startswith("ivit-"):
                        if method not in runners:
                            continue
                        fn = ivit_fn(*runners[method], model, batch, dev)
                    else:
                        fn = float_runner(name, cfg, method, batch, dev)
                    ms = timer(fn, args.warmup, args.iters, cuda)
                    res["latency_ms"][key] = ms
                    print(f"{key}: {ms:.3f} ms", flush=True)
                except Exception as err:  # one failing method must not lose the others
                    res["latency_ms"][key] = f"error: {type(err).__name__}: {err}"[:300]
                    print(f"{key}: {res['latency_ms'][key]}", flush=True)
    res["wall_s"] = round(time.time() - t_start, 1)
    write_outputs(res, args.out)
    exact = all(v.get("bit_exact", True) for m in res["checks"].values() for v in m.values())
    print(f"bit-exact: {exact}; outputs in {args.out}")
    return 0 if exact else 1


def write_outputs(res: dict, out: str) -> None:
    with open(os.path.join(out, "results.json"), "w") as fh:
        json.dump(res, fh, indent=1, sort_keys=True)
    lat = {k: v for k, v in res["latency_ms"].items() if isinstance(v, float)}
    rows = ["| model | batch | method | median ms | × vs fp32-eager | × vs fp16-eager |",
            "|---|---:|---|---:|---:|---:|"]
    for key, ms in lat.items():
        model, batch, method = key.split("/")
        ref32 = lat.get(f"{model}/{batch}/fp32-eager")
        ref16 = lat.get(f"{model}/{batch}/fp16-eager")
        rows.append(f"| {model} | {batch} | {method} | {ms:.3f} | "
                    f"{ref32 / ms:.2f} |" if ref32 else f"| {model} | {batch} | {method} | "
                    f"{ms:.3f} | – |")
        rows[-1] += f" {ref16 / ms:.2f} |" if ref16 else " – |"
    other = [f"- {k}: {v}" for k, v in res["latency_ms"].items() if not isinstance(v, float)]
    checks = [f"- {m} {meth}: {v}" for m, d in res["checks"].items() for meth, v in d.items()]
    text = ["# GPU latency", "", f"Machine: `{json.dumps(res['info'])}`", "",
            "Bit-exactness against the golden model (same images, before timing):", *checks,
            "", *rows, "", *(["Not timed:", *other] if other else [])]
    with open(os.path.join(out, "results.md"), "w") as fh:
        fh.write("\n".join(text) + "\n")
    plot(lat, os.path.join(out, "latency.png"))


def plot(lat: dict, path: str) -> None:
    """Bars of median latency per method, grouped by batch, one panel per model."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    models = sorted({k.split("/")[0] for k in lat})
    if not models:
        return
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        keys = [k for k in lat if k.startswith(model + "/")]
        batches = sorted({int(k.split("/")[1]) for k in keys})
        methods = [m for m in METHODS if any(k.endswith("/" + m) for k in keys)]
        width = 0.8 / max(len(methods), 1)
        for i, m in enumerate(methods):
            vals = [lat.get(f"{model}/{b}/{m}", 0.0) for b in batches]
            ax.bar([j + i * width for j in range(len(batches))], vals, width, label=m)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(batches))])
        ax.set_xticklabels([str(b) for b in batches])
        ax.set_xlabel("batch")
        ax.set_ylabel("latency (ms)")
        ax.set_title(model)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
