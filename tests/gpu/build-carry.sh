#!/usr/bin/env bash
# Prepares the folder tests/gpu/device-check.sh takes on a GPU machine: hashrate_cuda.so
# (sm_80 + sm_90) and cuda_check, built with nvcc and gcc alone. Run from the repository root:
#   bash tests/gpu/build-carry.sh [CARRY_DIR]        (default gpu-carry, ignored by git)
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${1:-gpu-carry}
bash tests/gpu/build-standalone.sh "$C" 2>&1 | grep -E "error|Used|spill" || true
test -x "$C/cuda_check" && test -f "$C/hashrate_cuda.so"
rm -rf "$C/api"
grep -qx '/gpu-carry/' .git/info/exclude 2>/dev/null || echo '/gpu-carry/' >>.git/info/exclude
ls -l "$C"
