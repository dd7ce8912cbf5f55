# A whole `lilypad run --network local` on `lilypad devnet -c FILE` whose file selects the
# container engine: the job creator gets the cow back, verified, and the engine is left with
# no container of the devnet's provider.
source "$(dirname "$0")/../../e2e/lib.sh"
source "$(dirname "$0")/engine_lib.sh"
engine_init

printf '%s\n' "$E2E_EXECUTOR" >"$E2E_T/devnet.cfg"
LILYPAD_LOG=info e2e_spawn devnet "$LILYPAD" devnet -c "$E2E_T/devnet.cfg"
devnet=$E2E_LAST_PID
serving() { [[ -f $LILYPAD_HOME/devnet/devnet.json ]]; }
e2e_wait_for 30 "the devnet to serve" serving

E2E_RC=0
timeout -k 2 90 "$LILYPAD" run --network local --key "$E2E_T/jc.key" \
    "$LP_E2E_SRC/examples/modules/cowsay" -i "Message=through $PEER_ENGINE" \
    >"$E2E_T/run.out" 2>"$E2E_T/run.err" </dev/null || E2E_RC=$?
((E2E_RC == 0)) || e2e_fail "lilypad run through $PEER_ENGINE failed (exit $E2E_RC)"
e2e_expect_in "$E2E_T/run.out" "< through $PEER_ENGINE >"
grep -q "as executor job lilypad-" "$E2E_T/devnet.log" ||
    e2e_fail "the job did not run as a $PEER_ENGINE container"

provider=$("$LILYPAD" key show "$LILYPAD_HOME/devnet/provider.key")
left=$(engine_owned "$provider")
((left == 0)) || e2e_fail "$left container(s) of the devnet's provider left in $PEER_ENGINE"
e2e_stop "$devnet" 10
[[ $E2E_STOP_STATUS == 0 ]] || e2e_fail "the devnet stopped with $E2E_STOP_STATUS"
e2e_forget "$devnet"
e2e_log "ok: cowsay through $PEER_ENGINE on the devnet"
