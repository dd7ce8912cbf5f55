#!/usr/bin/env bash
# The test command of the README: installs what the build needs, builds, and runs the whole
# suite three times: a normal build, an ASan+UBSan build, and a ThreadSanitizer build. With --fuzz it also runs every
# libFuzzer target for a short bounded time (CI does). With --all-plugins the normal build pins
# every WITH_<PLUGIN> option ON, so a missing toolchain (nvcc, hipcc) stops the build instead of
# skipping its plugin (CI does); by default each is AUTO: built where its toolchain is found.
#   scripts/test.sh [--all-plugins] [--fuzz] [--fuzz-seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz=0
plain_args=()
fuzz_seconds=${LILYPAD_FUZZ_SECONDS:-20}
while (($#)); do
    case "$1" in
    --all-plugins)
        # every option plugins/*/*/CMakeLists.txt declares, so a new plugin is pinned too
        for opt in $(grep -rhoE 'lp_plugin_wanted\(WITH_[A-Z0-9_]+' plugins | cut -d'(' -f2 | sort -u); do
            plain_args+=("-D$opt=ON")
        done ;;
    --fuzz) fuzz=1 ;;
    --fuzz-seconds) fuzz_seconds=$2; shift ;;
    *) echo "usage: scripts/test.sh [--all-plugins] [--fuzz] [--fuzz-seconds N]" >&2; exit 2 ;;
    esac
    shift
done

scripts/install-deps.sh
if [[ -f tests/ethers/package-lock.json ]]; then
    command -v npm >/dev/null || { echo "test.sh: npm is missing (apt-get install npm)" >&2; exit 1; }
    npm ci --prefix tests/ethers --no-audit --no-fund --loglevel=error
fi

jobs=$(nproc)
run_suite() { # build-dir extra-cmake-args...
    local dir=$1; shift
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" | tee "$dir/ctest-output.txt"
    skip_reasons "$dir"
}

# ctest names the tests it skipped but not why: print each one's reason from its output (its
# "skipped: ..." lines, else its first line).
skip_reasons() { # build-dir
    local name
    for name in $(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$1/ctest-output.txt"); do
        awk -v t="$name" '
            /^[0-9]+\/[0-9]+ Test: / { cur = $3; out = 0; next }
            cur != t { next }
            /^Output:$/ { getline; out = 1; next }
            /^<end of output>$/ { if (!n && first != "") print "  " t ": " first; exit }
            out && /^skipped: / { print "  " t ": " substr($0, 10); n++ }
            out && first == "" { first = $0 }' "$1/Testing/Temporary/LastTest.log" | sort -u
    done
}

echo "== build and test (RelWithDebInfo)"
run_suite build "${plain_args[@]}"
echo "== build and test under ASan+UBSan"
# tests/lsan.supp: a leak inside Debian 12's libgit2, fixed upstream.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DLP_SANITIZE=ON -DWITH_CUDA=OFF -DWITH_ROCM=OFF
echo "== build and test under ThreadSanitizer"
# A data race or a lock-order inversion fails the test it happens in (exit 66), and the e2e
# harness fails a case whose daemons logged one.
TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 \
    run_suite build-tsan -DCMAKE_BUILD_TYPE=Debug -DLP_TSAN=ON -DWITH_CUDA=OFF -DWITH_ROCM=OFF

if ((fuzz)); then
    echo "== libFuzzer targets, ${fuzz_seconds}s each, under ASan+UBSan"
    CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLP_FUZZ=ON \
        -DLP_SANITIZE=ON -DLP_PLUGINS_DEFAULT=OFF -DBUILD_TESTING=ON >/dev/null
    # Only the fuzz targets: the suite itself already ran three times above.
    targets=()
    for src in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$src" .c)"); done
    cmake --build build-fuzz -j "$jobs" --target "${targets[@]}"
    scripts/run-fuzzers.sh build-fuzz "$fuzz_seconds"
fi
