# Case 3: execution timeout: --timeout 1 on a module that sleeps 30 s ends with a non-zero exit
# and "timed out", long before the module would have finished. The provider stops the job and
# says so in its signed result's termination (timed_out), which is what `lilypad run` reports;
# the solver's own execution timeout (1 s + 5 s grace) would come later and read differently.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network
mod=$(e2e_module sleeps "sleep 30; echo woke up")
t0=$(e2e_now_ms)
e2e_run sleeps 25 "$mod" --timeout 1
elapsed=$(($(e2e_now_ms) - t0))
((E2E_RC != 0)) || e2e_fail "lilypad run exited 0 for a job past its timeout"
e2e_expect_reason sleeps "lilypad: run: timed out: the job timed out on the provider"
e2e_expect_not_in "$E2E_T/sleeps.out" "woke up"
e2e_log "ok (exit $E2E_RC after ${elapsed} ms): $(e2e_reason sleeps)"
