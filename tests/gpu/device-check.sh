#!/usr/bin/env bash
# The hashrate/cuda device check for a GPU machine that has nvcc, cmake and nvidia-smi but none
# of the core's Debian libraries. Run from the repository root:
#
#   bash tests/gpu/device-check.sh [PREBUILT_DIR] [OUT_DIR] [SECONDS_PER_SHAPE]
#
# PREBUILT_DIR (default gpu-carry/) holds hashrate_cuda.so and cuda_check built on the dev
# machine (tests/gpu/build-carry.sh); when they do not run here, both are rebuilt from source
# with nvcc and gcc (tests/gpu/build-standalone.sh, sm_90). Steps: GPU and clocks; correctness of every rotation mode against
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
    local b=/tmp/lp-device-build
    echo "== building from source into $b (sm_90)"
    bash tests/gpu/build-standalone.sh "$b" -gencode arch=compute_90,code=sm_90 || return 1
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

echo "== rates, ${SECS}s per shape (difficulty 0x149a6a3 << 204)"
timeout 150 "$CHECK" "$SO" bench "$SECS"

echo "== SASS per kernel: lp_pow_search<ROT, FORM>, ROT 0 shf / 1 imad / 2 mixed; FORM 0 unrolled"
echo "   (one hash), 1 unrolled64 (one hash), 2 looped (static code; the 2-round body runs 11x),"
echo "   3 pair (two hashes)"
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
