#!/usr/bin/env bash
# Prepares the folder tests/gpu/device-check.sh takes on a GPU machine: hashrate_cuda.so
# (sm_80 + sm_90) and cuda_check, built with nvcc and gcc alone. Run from the repository root:
#   bash tests/gpu/build-carry.sh [CARRY_DIR]        (default gpu-carry, ignored by git)
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${1:-gpu-carry}
bash tests/gpu/build-standalone.sh "$C" 2>&1 | grep -E "error|Used|spill" || true
test -x "$C/cuda_check" && test -f "$C/hashrate_cuda.so"
# SASS per kernel instantiation (sm_90), counted here since this machine has no cuobjdump
nvcc -std=c++20 -O3 -cubin -arch=sm_90 -Iapi -I"$C/api" -Iplugins/hashrate/common -Icore \
    plugins/hashrate/cuda/hashrate_cuda.cu -o "$C/hashrate_cuda.sm_90.cubin" 2>/dev/null &&
    python3 tests/gpu/sass_count.py "$C/hashrate_cuda.sm_90.cubin" | tee "$C/sass-counts.txt"
rm -rf "$C/api"
grep -qx '/gpu-carry/' .git/info/exclude 2>/dev/null || echo '/gpu-carry/' >>.git/info/exclude
ls -l "$C"
