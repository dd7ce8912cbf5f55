#!/usr/bin/env bash
# The hashrate/cuda device check for a GPU machine that has nvcc, cmake and nvidia-smi but none
# of the core's Debian libraries. Run from the repository root:
#
#   bash tests/gpu/device-check.sh [PREBUILT_DIR] [OUT_DIR] [SECONDS_PER_SHAPE]
#
# PREBUILT_DIR (default gpu-carry/) holds hashrate_cuda.so and cuda_check built on the dev
# machine (tests/gpu/build-carry.sh); when they do not run here, both are rebuilt from source
# with nvcc and gcc (sm_90). Steps: GPU and clocks; correctness of every rotation mode against
# the CPU reference (random challenges, coverage with an easy target, range splitting); GH/s at
# a few launch shapes with the SM clock and the % of the 132 SM x 64 x clock / 4100 limit;
# SASS instruction counts per kernel (the kernel body is one hash: compare with the 4,041
# instructions/hash of a plain unrolled kernel). Logs go to OUT_DIR (default $OUT). Whole run:
# about 2 minutes.
set -u
cd "$(dirname "$0")/../.."
PRE=${1:-gpu-carry}
OUTDIR=${2:-${OUT:-/tmp/lp-device-check}}
SECS=${3:-3}
mkdir -p "$OUTDIR"
LOG="$OUTDIR/device-check.log"
exec > >(tee "$LOG") 2>&1

echo "== device-check $(date -u +%FT%TZ) in $(pwd), prebuilt $PRE"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv
command -v nvcc >/dev/null && nvcc --version | tail -2

# SM clock and power every second for the whole run
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
    --format=csv -lms 1000 >"$OUTDIR/smi-clocks.csv" 2>&1 &
SMI=$!
trap 'kill $SMI 2>/dev/null' EXIT

SO="$PRE/hashrate_cuda.so"
CHECK="$PRE/cuda_check"

build_from_source() {
    local b="$OUTDIR/build"
    echo "== building from source into $b"
    mkdir -p "$b/api/lilypad"
    local amaj amin ver
    amaj=$(sed -n 's/^set(LP_ABI_MAJOR \([0-9]*\))/\1/p' CMakeLists.txt)
    amin=$(sed -n 's/^set(LP_ABI_MINOR \([0-9]*\))/\1/p' CMakeLists.txt)
    ver=$(sed -n 's/^project(lilypad VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
    sed -e "s/@LP_ABI_MAJOR@/$amaj/; s/@LP_ABI_MINOR@/$amin/" \
        -e "s/@PROJECT_VERSION_MAJOR@/${ver%%.*}/; s/@PROJECT_VERSION_MINOR@/$(echo "$ver" | cut -d. -f2)/" \
        -e "s/@PROJECT_VERSION_PATCH@/${ver##*.}/; s/@PROJECT_VERSION@/$ver/" \
        api/lilypad/version.h.in >"$b/api/lilypad/version.h"
    nvcc -std=c++20 -O3 -shared -Xcompiler -fPIC,-fvisibility=hidden -cudart static \
        -gencode arch=compute_90,code=sm_90 -Xptxas -v \
        -Iapi -I"$b/api" -Iplugins/hashrate/common -Icore \
        plugins/hashrate/cuda/hashrate_cuda.cu core/crypto/keccak.c -o "$b/hashrate_cuda.so" &&
        gcc -std=c17 -O2 -D_GNU_SOURCE -Iapi -I"$b/api" -Icore tests/gpu/cuda_check.c \
            core/crypto/keccak.c -ldl -o "$b/cuda_check" || return 1
    SO="$b/hashrate_cuda.so"
    CHECK="$b/cuda_check"
}

echo "== correctness (prebuilt)"
timeout 120 "$CHECK" "$SO" correct
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
    echo "prebuilt did not run here (exit $rc)"
    build_from_source || { echo "RESULT: build from source failed"; exit 1; }
    echo "== correctness (built here)"
    timeout 120 "$CHECK" "$SO" correct
    rc=$?
fi
[ $rc -eq 0 ] || echo "CORRECTNESS FAILED (exit $rc): rates below are not trustworthy"

echo "== rates, ${SECS}s per shape (difficulty 0x149a6a3 << 200)"
timeout 150 "$CHECK" "$SO" bench "$SECS"

echo "== SASS per kernel (one loop iteration = one hash)"
if command -v cuobjdump >/dev/null; then
    cuobjdump -sass -arch sm_90 "$SO" >"$OUTDIR/sass.txt" 2>&1
    awk '
        /Function :/ { fn = $3 }
        /^        \/\*[0-9a-f]+\*\/ / && fn != "" {
            n[fn]++
            op = $2; if (op ~ /^@/) op = $3
            sub(/\..*/, "", op); sub(/;$/, "", op)
            if (op == "LOP3" || op == "SHF" || op == "IMAD" || op == "PRMT" || op == "ISETP" || op == "IADD3")
                k[fn, op]++
        }
        END {
            for (f in n)
                printf "%-50s total %5d  LOP3 %5d  SHF %5d  IMAD %4d  PRMT %3d  IADD3 %3d  ISETP %3d\n",
                    f, n[f], k[f, "LOP3"], k[f, "SHF"], k[f, "IMAD"], k[f, "PRMT"], k[f, "IADD3"], k[f, "ISETP"]
        }' "$OUTDIR/sass.txt" | sort | tee "$OUTDIR/sass-summary.txt"
    gzip -f "$OUTDIR/sass.txt"
else
    echo "cuobjdump not found"
fi
echo "== clocks during the run: $OUTDIR/smi-clocks.csv"
tail -3 "$OUTDIR/smi-clocks.csv"
exit $rc
