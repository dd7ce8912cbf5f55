# Case 10: a module on the solver's blocklist is refused by the solver; `lilypad run` shows the
# reason.
source "$(dirname "$0")/lib.sh"
e2e_init
E2E_SOLVER_EXTRA="blocklist = [ \"file://$E2E_T/modules/blocked mines coins for someone else\" ];"
e2e_network
mod=$(e2e_git_module blocked "echo this must not run")
e2e_run blocked 30 "$mod"
((E2E_RC != 0)) || e2e_fail "lilypad run exited 0 for a blocked module"
e2e_expect_reason blocked "on the network blocklist"
e2e_expect_reason blocked "mines coins for someone else"
(($(e2e_metric deals_total) == 0)) || e2e_fail "the solver made a deal for a blocked module"
e2e_log "ok: $(e2e_reason blocked)"
