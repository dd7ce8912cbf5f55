# The disk under the solver's data fills up (an attacker uploading within its quota from many
# keys, or anything else on that disk). The solver must answer 507 with a hint, log the full
# disk once (not once per request), and /healthz must answer 503 with the reason, until writes
# succeed again. Also: without --init, a solver whose database is missing refuses to start.
#
# The data dir is a 6 MiB tmpfs mounted in a private mount namespace (unshare -m, or -rm
# where user namespaces are allowed): skipped where neither is possible.
source "$(dirname "$0")/../e2e/lib.sh"
e2e_init

dir=$E2E_T/solver
mkdir -p "$dir/data"
"$LILYPAD" key new --out "$dir/solver.key" >/dev/null 2>>"$E2E_T/setup.log"
cat >"$dir/solver.cfg" <<CFG
solver: { listen = "127.0.0.1:0"; data_dir = "data"; key = "solver.key"; rate_limit = 0; };
CFG

# A missing database is not silently re-created.
if "$LILYPAD" solver -c "$dir/solver.cfg" >"$E2E_T/noinit.out" 2>"$E2E_T/noinit.err"; then
    e2e_fail "the solver started without a database and without --init"
fi
e2e_expect_in "$E2E_T/noinit.err" "does not exist"
e2e_expect_in "$E2E_T/noinit.err" "--init"
[[ ! -e $dir/data/solver.db ]] || e2e_fail "a database was created without --init"

ns=()
for try in "unshare -m" "unshare -rm"; do
    # shellcheck disable=SC2086
    if $try sh -c "mount -t tmpfs -o size=1m tmpfs '$dir/data'" 2>/dev/null; then
        read -ra ns <<<"$try"
        break
    fi
done
((${#ns[@]})) || e2e_skip "cannot mount a tmpfs in a private mount namespace here (no root, no user namespaces)"

e2e_spawn solver env LILYPAD_LOG=info "${ns[@]}" sh -c \
    "mount -t tmpfs -o size=6m tmpfs '$dir/data' && exec '$LILYPAD' solver -c '$dir/solver.cfg' --init"
line=""
solver_line() {
    line=$(grep -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*' "$E2E_T/solver.log" || true)
    [[ -n $line ]] || { kill -0 "$E2E_LAST_PID" 2>/dev/null || e2e_fail "the solver exited at start"; return 1; }
}
e2e_wait_for 15 "the solver's start line" solver_line
E2E_URL=http://127.0.0.1:${line##*:}
export E2E_SIGN_HOST=${E2E_URL#http://}
e2e_wait_for 15 "$E2E_URL/healthz" curl -fsS -m 2 -o /dev/null "$E2E_URL/healthz"

# Upload 1 MiB files until the disk is full.
full=0
for i in $(seq 1 12); do
    head -c 1048576 /dev/urandom >"$E2E_T/blob"
    status=$(e2e_signed "$E2E_T/jc.key" POST /api/v1/files "$E2E_T/blob")
    if [[ $status == 507 ]]; then
        full=$((full + 1))
        e2e_expect_in "$E2E_T/resp" "hint"
    elif [[ $status != 200 ]]; then
        e2e_fail "upload $i: HTTP $status, want 200 or 507: $(cat "$E2E_T/resp")"
    fi
done
((full >= 3)) || e2e_fail "only $full of 12 uploads of 1 MiB to a 6 MiB disk were refused as 507"

# Logged once, with a hint, however many requests met the full disk.
n=$(grep -c 'is full' "$E2E_T/solver.log" || true)
((n == 1)) || e2e_fail "the full disk was logged $n times, want once"
e2e_expect_in "$E2E_T/solver.log" "hint: free space"

code=$(curl -sS -m 5 -o "$E2E_T/health" -w '%{http_code}' "$E2E_URL/healthz")
[[ $code == 503 ]] || e2e_fail "/healthz answered $code on a full disk, want 503"
e2e_expect_in "$E2E_T/health" "failing"
e2e_log "ok: $full uploads refused with 507, the full disk logged once, /healthz 503"
