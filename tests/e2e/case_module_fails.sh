# Case 2: the module exits non-zero: `lilypad run` exits non-zero and shows the module's stderr.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network
mod=$(e2e_module fails "echo partial output; echo oops from the module >&2; exit 3")
e2e_run fails 60 "$mod"
((E2E_RC != 0)) || e2e_fail "lilypad run exited 0 for a module that exits 3"
e2e_expect_in "$E2E_T/fails.err" "oops from the module"
e2e_expect_reason fails "exited with status 3"
[[ ! -s $E2E_T/fails.out ]] || e2e_fail "a failed job's output went to stdout as if it succeeded"
e2e_log "ok (exit $E2E_RC)"
