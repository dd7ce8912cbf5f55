# Case 5: the solver is killed with SIGKILL while a deal is running and restarted on the same
# data dir and port: no deal is lost. The deal created before the kill is still visible to its
# job creator and reaches a terminal state; the job creator and the provider carry on.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network
mod=$(e2e_module slow "sleep 4; echo survived the solver")
e2e_run_bg jc "$mod"
jc=$E2E_RUN_PID
agreed() { grep -q "Deal agreed" "$E2E_T/jc.err"; }
e2e_wait_for 20 "the deal" agreed
[[ $(e2e_signed "$E2E_T/jc.key" GET /api/v1/deals) == 200 ]] || e2e_fail "listing deals"
deal=$(e2e_json_field id)
[[ $deal == 0x* ]] || e2e_fail "no deal in the job creator's list: $(cat "$E2E_T/resp")"

e2e_sigkill "$E2E_SOLVER_PID"
e2e_log "solver killed with deal $deal in flight"
sleep 1
e2e_solver_start
e2e_log "solver restarted on port $E2E_PORT"

[[ $(e2e_signed "$E2E_T/jc.key" GET "/api/v1/deals/$deal") == 200 ]] ||
    e2e_fail "the deal is gone after the restart: $(cat "$E2E_T/resp")"

e2e_run_wait "$jc" 60
((E2E_RC == 0)) || e2e_fail "the job creator failed after the solver restart (exit $E2E_RC)"
e2e_expect_in "$E2E_T/jc.out" "survived the solver"
e2e_expect_in "$E2E_T/jc.err" "$deal"

[[ $(e2e_signed "$E2E_T/jc.key" GET "/api/v1/deals/$deal") == 200 ]] || e2e_fail "reading the deal"
state=$(e2e_json_field state_name)
[[ $state == ResultsAccepted || $state == RESULTS_ACCEPTED ]] ||
    e2e_fail "deal $deal ended $state, want results accepted"

# The restarted solver matches new jobs with both providers' new offers.
e2e_run after 60 "$LP_E2E_SRC/examples/modules/cowsay" -i Message=after-restart
((E2E_RC == 0)) || e2e_fail "a job after the restart failed (exit $E2E_RC)"
e2e_expect_in "$E2E_T/after.out" "< after-restart >"
e2e_log "ok: deal $deal $state"
