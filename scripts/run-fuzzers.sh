#!/usr/bin/env bash
# Runs every libFuzzer binary of a -DLP_FUZZ=ON build for a bounded time over a copy of its
# seed corpus (the committed corpus is never modified). Fails on the first finding.
#   scripts/run-fuzzers.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?build dir}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
found=0
for src in "$root"/tests/fuzz/fuzz_*.c; do
    target=$(basename "$src" .c)
    name=${target#fuzz_}
    bin=$(find "$build" -type f -name "$target" -perm -u+x | head -1)
    [[ -n "$bin" ]] || { echo "run-fuzzers: $target was not built" >&2; exit 1; }
    work=$(mktemp -d)
    cp -r "$root/tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
    echo "fuzz $name: ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" -print_final_stats=0 "$work" >"$work.log" 2>&1; then
        echo "run-fuzzers: $target found a problem:" >&2
        tail -40 "$work.log" >&2
        found=1
    fi
    rm -rf "$work" "$work.log"
done
exit $found
