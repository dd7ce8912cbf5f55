#!/usr/bin/env bash
# Builds hashrate_cuda.so and cuda_check with nvcc and gcc alone (no CMake configure, no core
# libraries): what tests/gpu/device-check.sh needs, on the dev machine (build-carry.sh) or on
# the GPU machine when the prebuilt binaries do not run there. Run from the repository root:
#   bash tests/gpu/build-standalone.sh OUT_DIR [nvcc -gencode flags...]
# Default targets: sm_80 and sm_90 machine code, like the CMake build.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1
shift
gencode=("$@")
if [ ${#gencode[@]} -eq 0 ]; then
    gencode=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90)
fi
mkdir -p "$out/api/lilypad"
amaj=$(sed -n 's/^set(LP_ABI_MAJOR \([0-9]*\))/\1/p' CMakeLists.txt)
amin=$(sed -n 's/^set(LP_ABI_MINOR \([0-9]*\))/\1/p' CMakeLists.txt)
ver=$(sed -n 's/^project(lilypad VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IFS=. read -r vmaj vmin vpat <<<"$ver"
sed -e "s/@LP_ABI_MAJOR@/$amaj/; s/@LP_ABI_MINOR@/$amin/; s/@PROJECT_VERSION@/$ver/" \
    -e "s/@PROJECT_VERSION_MAJOR@/$vmaj/; s/@PROJECT_VERSION_MINOR@/$vmin/" \
    -e "s/@PROJECT_VERSION_PATCH@/$vpat/" api/lilypad/version.h.in >"$out/api/lilypad/version.h"
gcc -std=c17 -O2 -D_GNU_SOURCE -fPIC -fvisibility=hidden -Icore -c core/crypto/keccak.c -o "$out/keccak.o"
nvcc -std=c++20 -O3 -shared -Xcompiler -fPIC,-fvisibility=hidden,-fno-strict-aliasing \
    -cudart static "${gencode[@]}" -Xptxas -v \
    -Iapi -I"$out/api" -Iplugins/hashrate/common -Icore \
    plugins/hashrate/cuda/hashrate_cuda.cu "$out/keccak.o" -Xlinker -z,defs -o "$out/hashrate_cuda.so"
gcc -std=c17 -O2 -D_GNU_SOURCE -Wall -Wextra -Iapi -I"$out/api" -Icore tests/gpu/cuda_check.c \
    core/crypto/keccak.c -ldl -o "$out/cuda_check"
rm -f "$out/keccak.o"
