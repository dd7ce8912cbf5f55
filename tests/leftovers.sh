#!/usr/bin/env bash
# Run last (the cleanup of the `suite_processes` fixture every process-starting test requires):
# fails when a process the tests started is still running, and kills it so the next run starts
# clean. The tests' processes carry LP_TEST_SUITE=<build dir> in their environment (ctest sets
# it for every test; what they start inherits it), so a developer's own devnet, or another build
# tree's test run, is never taken for one. Processes still exiting get a few seconds.
#   tests/leftovers.sh BUILD_DIR
set -u
marker="LP_TEST_SUITE=$1"
list_leftovers() {
    local f pid
    # one grep over every process's environment (NUL-separated entries, -z)
    for f in $(grep -lzx -- "$marker" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/environ}
        [[ $pid == "$$" || $pid == "$PPID" ]] && continue
        printf '%s\t%s\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
    done
}
for _ in $(seq 50); do
    left=$(list_leftovers)
    [[ -z $left ]] && { echo "no process of the test suite is left running"; exit 0; }
    sleep 0.1
done
echo "processes the test suite started are still running:" >&2
echo "$left" >&2
cut -f1 <<<"$left" | xargs -r kill -KILL 2>/dev/null
exit 1
