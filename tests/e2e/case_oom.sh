# Case: a module that needs more memory than it asked for is killed by its memory limit, and
# `lilypad run` says "killed: out of memory" (from the signed result's termination), not
# "exited with status 137". The module asks for 16 MiB and allocates a 64 MiB buffer. Needs a
# writable memory cgroup on the provider's machine (root): without one the limit is an rlimit,
# the allocation fails instead of being killed, and the case skips with the reason.
source "$(dirname "$0")/lib.sh"
e2e_init
if [[ $(id -u) -ne 0 ]] || ! { [[ -w /sys/fs/cgroup/memory ]] ||
    grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; }; then
    e2e_skip "no writable memory cgroup here (needs root and cgroup v1 memory or v2): the limit would be an rlimit"
fi
e2e_network
mod=$(e2e_module hog "dd if=/dev/zero of=/dev/null bs=64M count=1 && echo survived" 16)
e2e_run hog 60 "$mod"
((E2E_RC != 0)) || e2e_fail "lilypad run exited 0 for a job killed out of memory"
e2e_expect_reason hog "the job was killed: out of memory: memory limit 16.0 MiB reached"
e2e_expect_not_in "$E2E_T/hog.out" "survived"
e2e_log "ok (exit $E2E_RC): $(e2e_reason hog)"
