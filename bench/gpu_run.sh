#!/usr/bin/env bash
# The one prepared GPU run: bit-exactness of the integer backends on the GPU, then the latency
# benchmark (bench/gpu_latency.py); every output goes into one folder.
#
# Needs: a CUDA GPU, python3 with torch, triton, timm, numpy, matplotlib (no network, no TVM).
# TVM comes from the bundle that `python bench/gpu_pack.py` writes on a machine with TVM and
# nvcc (build/gpu_bundle: TVM's runtime package + each model's exported CUDA kernels).
#
# Usage: bench/gpu_run.sh [OUT_DIR] [extra gpu_latency.py options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/out/gpu_run}"
shift || true
BUNDLE="${IVIT_GPU_BUNDLE:-$ROOT/build/gpu_bundle}"
mkdir -p "$OUT"
cd "$ROOT"

# the checkout is not installed: import it from here, and TVM's runtime from the bundle
export PYTHONPATH="$ROOT:$BUNDLE/site${PYTHONPATH:+:$PYTHONPATH}"
export TVM_USE_RUNTIME_LIB=1
export PYTHONUNBUFFERED=1

{
  date -u
  nvidia-smi || true
  python3 -c 'import sys, torch, triton; print(sys.version); print("torch", torch.__version__, "triton", triton.__version__, "cuda", torch.cuda.is_available())'
  python3 -c 'import tvm; print("tvm runtime", tvm.__file__)' || echo "no TVM runtime: the TVM rows will say so"
  ls -l "$BUNDLE/tvm_libs" || true
} > "$OUT/env.txt" 2>&1

# 8 minutes at most: the benchmark stops starting new timings after --budget-s; the
# headline (DeiT-S, batch 8) is measured first
timeout 470 python3 bench/gpu_latency.py --out "$OUT" --tvm-libs "$BUNDLE/tvm_libs" \
  --budget-s 360 --compile-at deit_s:8 --models deit_s,deit_tiny,deit_b --batches 8,1,32,64 \
  "$@" 2>&1 | tee "$OUT/log.txt"
status=${PIPESTATUS[0]}
echo "exit status $status; outputs in $OUT"
exit "$status"
