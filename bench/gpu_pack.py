"""Prepare what a GPU machine without TVM needs for ``bench/gpu_run.sh`` (run it here first).

Writes ``--out`` (default build/gpu_bundle, at most 64 MiB):

* ``tvm_libs/<model>.so``: each model's TVM kernels compiled for CUDA (``--arch``, device code
  by nvcc) and exported; the weights are not inside (they are kernel arguments);
* ``site/tvm``: TVM's Python package without its compiler library and 3rdparty sources;
* ``site/tvm_ffi``: TVM's FFI package for the GPU machine's Python (``--python``), fetched as
  a wheel with pip from the package registry.

Usage: python bench/gpu_pack.py [--models deit_tiny,deit_s,deit_b] [--arch sm_90]
                                [--python 3.12] [--out build/gpu_bundle]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

LIMIT = 64 << 20
#: parts of the tvm package that only the compiler needs
_DROP = ("lib/libtvm_compiler.so", "3rdparty", "include", "src", "web", "cmake", "lib64",
         "__pycache__")


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="deit_tiny,deit_s,deit_b")
    ap.add_argument("--arch", default="sm_90")
    ap.add_argument("--python", default="3.12", help="Python version of the GPU machine")
    ap.add_argument("--out", default="build/gpu_bundle")
    ap.add_argument("--skip-ffi", action="store_true",
                    help="copy this machine's tvm_ffi instead of fetching a wheel")
    return ap.parse_args(argv)


def copy_runtime(site: str) -> None:
    """TVM's package minus the compiler (the runtime libraries stay)."""
    import tvm

    src = os.path.dirname(tvm.__file__)
    dst = os.path.join(site, "tvm")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    for rel in _DROP:
        path = os.path.join(dst, rel)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def fetch_ffi(site: str, python: str) -> str:
    """Unpack the apache-tvm-ffi wheel for ``python`` (same version as installed here)."""
    from importlib.metadata import version

    ver = version("apache-tvm-ffi")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"apache-tvm-ffi=={ver}", "--no-deps",
               "--only-binary=:all:", "--python-version", python,
               "--platform", "manylinux_2_28_x86_64", "-d", tmp]
        subprocess.run(cmd, check=True)
        wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith("tvm_ffi/"):
                    zf.extract(name, site)
        return os.path.basename(wheel)


def size_of(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from ivit_hls.gpu import testing
    from ivit_hls.gpu.tvm import export

    site = os.path.join(args.out, "site")
    libs = os.path.join(args.out, "tvm_libs")
    os.makedirs(site, exist_ok=True)
    os.makedirs(libs, exist_ok=True)
    for name in args.models.split(","):
        t0 = time.time()
        model = testing.model(name)
        export(model, os.path.join(libs, f"{name}.so"), target="cuda", arch=args.arch)
        print(f"{name}: exported for cuda {args.arch} in {time.time() - t0:.0f} s", flush=True)
    copy_runtime(site)
    if args.skip_ffi:
        import tvm_ffi

        shutil.rmtree(os.path.join(site, "tvm_ffi"), ignore_errors=True)
        shutil.copytree(os.path.dirname(tvm_ffi.__file__), os.path.join(site, "tvm_ffi"),
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        print("tvm_ffi:", fetch_ffi(site, args.python))
    total = size_of(args.out)
    print(f"bundle {args.out}: {total / 2**20:.1f} MiB")
    if total > LIMIT:
        print(f"error: the bundle exceeds {LIMIT >> 20} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
