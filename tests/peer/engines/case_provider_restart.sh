# A provider on a container engine is killed (SIGKILL) mid-job and restarted. Its job's
# container outlives it, so the restarted provider picks it up and delivers the result; a
# container labelled with its address that no deal follows any more (one created just before a
# crash, made here by hand through the engine's API) is removed at the restart. Nothing of the
# provider's is left in the engine at the end.
source "$(dirname "$0")/../../e2e/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_init
e2e_solver_start
e2e_provider_start 1
owner=${E2E_PROVIDER1_ADDR,,}
mod=$(e2e_module slow "echo started; sleep 6; echo finished")

e2e_run_bg slow "$mod" --target "$E2E_PROVIDER1_ADDR"
victim=$E2E_RUN_PID
running() { grep -q "as executor job" "$E2E_T/p1.log"; }
e2e_wait_for 30 "provider 1 to start the job" running
sleep 1
e2e_sigkill "$E2E_PROVIDER1_PID"
e2e_log "provider 1 killed mid-job"

# The leftover of a crash: the provider's label, a deal it does not follow.
orphan=$(engine_api POST "/containers/create?name=lp-orphan-$$" -H 'Content-Type: application/json' \
    -d "{\"Image\":\"lilypad-example/cowsay:v1\",\"Entrypoint\":[\"/bin/sh\",\"-c\",\"sleep 300\"],
         \"Labels\":{\"io.lilypad.owner\":\"$owner\",\"io.lilypad.job\":\"0x$(printf '%064d' 7)\"},
         \"HostConfig\":{\"NetworkMode\":\"none\"}}" | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
[[ -n $orphan ]] || e2e_fail "could not create the orphan container"
engine_api POST "/containers/$orphan/start" >/dev/null
(($(engine_owned "$owner") == 2)) || e2e_fail "expected the job's and the orphan's containers"

e2e_provider_start 1
e2e_run_wait "$victim" 60
((E2E_RC == 0)) || e2e_fail "the job failed after its provider restarted (exit $E2E_RC)"
e2e_expect_in "$E2E_T/slow.out" "finished"
grep -q "removed 1 job an earlier run left" "$E2E_T/p1.log" ||
    e2e_fail "the restarted provider did not report removing the orphan"
[[ $(engine_api GET "/containers/$orphan/json" -o /dev/null -w '%{http_code}') == 404 ]] ||
    e2e_fail "the orphan container $orphan is still there"
gone() { (($(engine_owned "$owner") == 0)); }
e2e_wait_for 10 "the finished job's container to be removed" gone
e2e_log "ok: the job survived its provider's restart and the orphan was removed"
