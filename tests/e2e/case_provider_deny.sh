# Case 9: a module the provider does not allow (its denylist) is refused with a clear reason
# shown by `lilypad run`. The job is aimed at that provider with --target.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network 'deny = [ "e2e-denied" ];'
mod=$(e2e_git_module e2e-denied "echo this must not run")
e2e_run denied 60 "$mod" --target "$E2E_PROVIDER1_ADDR"
((E2E_RC != 0)) || e2e_fail "lilypad run exited 0 for a denied module"
e2e_expect_reason denied "refused by the provider"
e2e_expect_reason denied 'denylist (entry "e2e-denied")'
e2e_expect_not_in "$E2E_T/denied.out" "this must not run"
e2e_expect_not_in "$E2E_T/denied.err" "this must not run"
# The provider keeps serving modules it allows.
e2e_run allowed 60 "$LP_E2E_SRC/examples/modules/cowsay" -i Message=still-here \
    --target "$E2E_PROVIDER1_ADDR"
((E2E_RC == 0)) || e2e_fail "cowsay on the denying provider exited $E2E_RC"
e2e_expect_in "$E2E_T/allowed.out" "< still-here >"
e2e_log "ok: $(e2e_reason denied)"
