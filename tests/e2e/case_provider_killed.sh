# Case 4: a provider is killed (SIGKILL) in the middle of a job. The job must end with a clear
# failure, or be completed by the restarted provider: never a hang, never a false success.
# Meanwhile the second provider keeps serving new jobs, and the restarted one serves again.
# Two rounds: (a) the provider stays down, so only the solver's execution timeout can end the
# job; (b) the provider is restarted at once and must settle the job it lost.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_network
mod=$(e2e_module slow "echo started; sleep 30; echo finished")

# kill_mid_job NAME [RUN ARGS]: starts the slow job on provider 1, kills provider 1 once
# the job runs in its sandbox.
kill_mid_job() {
    local name=$1 before
    shift
    before=$(grep -c "as executor job" "$E2E_T/p1.log" || true)
    e2e_run_bg "$name" "$mod" --target "$E2E_PROVIDER1_ADDR" "$@"
    running() { (($(grep -c "as executor job" "$E2E_T/p1.log" || true) > before)); }
    e2e_wait_for 20 "provider 1 to start job $name" running
    sleep 0.5 # the sandbox is up: the job is really running when the provider dies
    e2e_sigkill "$E2E_PROVIDER1_PID"
    e2e_log "$name: provider 1 killed mid-job"
}

# check_ended NAME: a clear failure, or a real completion; prints the outcome.
check_ended() {
    local name=$1
    if ((E2E_RC == 0)); then
        e2e_expect_in "$E2E_T/$name.out" "finished"
        echo "completed"
    else
        grep -q "^lilypad: run: " "$E2E_T/$name.err" || e2e_fail "$name failed without a reason"
        e2e_expect_not_in "$E2E_T/$name.out" "finished"
        grep -m1 "^lilypad: run: " "$E2E_T/$name.err"
    fi
}

# (a) provider 1 stays down; its job has a 3 s timeout, so the solver's TimeoutExecution
# (timeout + execution_grace 5 s) ends it.
kill_mid_job down --timeout 3
victim=$E2E_RUN_PID
e2e_run p2job 60 "$LP_E2E_SRC/examples/modules/cowsay" -i Message=p2-serves
((E2E_RC == 0)) || e2e_fail "a new job failed while provider 1 was down (exit $E2E_RC)"
e2e_expect_in "$E2E_T/p2job.out" "< p2-serves >"
grep -q "result posted" "$E2E_T/p2.log" || e2e_fail "provider 2 did not run the new job"
e2e_run_wait "$victim" 40
((E2E_RC != 0)) || e2e_fail "job down: exit 0 although its provider is dead"
a=$(check_ended down)
e2e_expect_reason down "timed out"

# (b) provider 1 restarts at once and settles the job it lost (its journal says RUNNING).
e2e_provider_start 1
kill_mid_job restarted
victim=$E2E_RUN_PID
e2e_provider_start 1
e2e_run_wait "$victim" 60
b=$(check_ended restarted)

# The restarted provider serves new jobs.
e2e_run p1job 60 "$LP_E2E_SRC/examples/modules/cowsay" -i Message=p1-back \
    --target "$E2E_PROVIDER1_ADDR"
((E2E_RC == 0)) || e2e_fail "the restarted provider 1 failed a new job (exit $E2E_RC)"
e2e_expect_in "$E2E_T/p1job.out" "< p1-back >"
e2e_log "ok: (a) $a"
e2e_log "ok: (b) $b"
