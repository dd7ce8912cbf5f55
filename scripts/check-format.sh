#!/usr/bin/env bash
# Fails when a tracked C, CUDA or HIP file does not follow .clang-format; lists the files.
#   scripts/check-format.sh        (fix with: clang-format -i FILE)
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r -d '' f; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files -z '*.c' '*.h' '*.cu' '*.hip')
if ((${#bad[@]})); then
    printf 'check-format: not formatted (clang-format -i FILE):\n' >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "check-format: every C/CUDA/HIP file follows .clang-format"
