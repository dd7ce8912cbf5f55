#!/usr/bin/env bash
# Prepares the folder tests/gpu/device-check.sh takes on a GPU machine: the CMake-built
# hashrate_cuda.so (sm_80 + sm_90) and cuda_check (the mock-host driver, CPU reference compiled
# in). Run on the dev machine from the repository root:
#   bash tests/gpu/build-carry.sh [BUILD_DIR] [CARRY_DIR]     (defaults build-gpu, gpu-carry)
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build-gpu}
C=${2:-gpu-carry}
cmake -S . -B "$B" -G Ninja -DWITH_CUDA=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" --target hashrate_cuda
mkdir -p "$C"
cp "$B/lib/lilypad/plugins/hashrate_cuda.so" "$C/"
gcc -std=c17 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -Iapi -I"$B/api" -Icore \
    tests/gpu/cuda_check.c core/crypto/keccak.c -ldl -o "$C/cuda_check"
grep -qx '/gpu-carry/' .git/info/exclude 2>/dev/null || echo '/gpu-carry/' >>.git/info/exclude
ls -l "$C"
