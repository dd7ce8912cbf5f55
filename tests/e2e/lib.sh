# Shared harness of the end-to-end tests (sourced by every tests/e2e/case_*.sh).
#
# Each case gets its own network on loopback, as separate processes: one `lilypad solver`, two
# `lilypad provider`s (executor/process under bubblewrap, storage/local, verifier/ledger), and
# `lilypad run` job creators. Everything lives in a private temp folder that is also
# $LILYPAD_HOME. Whatever a case starts is killed and reaped on exit, failure included, and
# every wait is bounded.
#
# The environment comes from tests/e2e/CMakeLists.txt: LILYPAD (the binary), E2E_SIGN (the
# signed-request helper), E2E_IMAGES (the example image tarballs, built once by the
# e2e_images fixture with scripts/build-example-images.sh).
set -euo pipefail

E2E_NAME=${E2E_NAME:-$(basename "$0" .sh)}
LP_E2E_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_PIDS=()
declare -A E2E_WHAT=() # pid -> what it is, for messages
E2E_T=""

e2e_what() { echo "${E2E_WHAT[$1]:-?}"; }

e2e_log() { printf '%s: %s\n' "$E2E_NAME" "$*" >&2; }

# e2e_fail MESSAGE: the case fails with this message (the logs follow from the exit trap).
e2e_fail() {
    printf '%s: FAIL: %s\n' "$E2E_NAME" "$*" >&2
    exit 1
}

# e2e_skip REASON: this machine cannot run the case; ctest reports it skipped, with the reason.
e2e_skip() {
    printf '%s: SKIP: %s\n' "$E2E_NAME" "$*" >&2
    exit 77
}

e2e_now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# e2e_stop PID [GRACE_S]: SIGTERM, then SIGKILL after GRACE_S (default 5), then reap. Sets
# E2E_STOP_STATUS: the exit status, or "hung" when SIGTERM was not enough.
e2e_stop() {
    local pid=$1 grace=${2:-5} i
    E2E_STOP_STATUS=0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -KILL "$pid" 2>/dev/null; then
        E2E_STOP_STATUS=hung
        wait "$pid" 2>/dev/null || true
    else
        wait "$pid" 2>/dev/null || E2E_STOP_STATUS=$?
    fi
}

e2e_cleanup() {
    local rc=$? f i problems=()
    trap - EXIT INT TERM
    # Newest first: job creators, then providers, then the solver they talk to. Each must
    # stop cleanly on SIGTERM (a sanitizer's exit report shows up here as a non-zero status).
    for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
        e2e_stop "${E2E_PIDS[i]}" 5
        [[ $E2E_STOP_STATUS == 0 ]] ||
            problems+=("pid ${E2E_PIDS[i]} ($(e2e_what "${E2E_PIDS[i]}")) stopped with $E2E_STOP_STATUS")
    done
    if [[ -n $E2E_T && -d $E2E_T ]]; then
        # A sanitizer report anywhere (a daemon's log included) fails the case.
        for f in "$E2E_T"/*.log "$E2E_T"/*.err; do
            [[ -f $f ]] || continue
            if grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$f"; then
                problems+=("sanitizer report in ${f##*/}")
            fi
        done
        if ((${#problems[@]})); then
            for f in "${problems[@]}"; do printf '%s: FAIL: %s\n' "$E2E_NAME" "$f" >&2; done
            ((rc != 0)) || rc=1
        fi
        if ((rc != 0)); then
            for f in "$E2E_T"/*.log "$E2E_T"/*.out "$E2E_T"/*.err; do
                [[ -f $f ]] || continue
                printf '\n----- %s (last 40 lines) -----\n' "${f#"$E2E_T"/}" >&2
                tail -n 40 "$f" >&2
            done
        fi
        if ((rc != 0)) && [[ -n ${E2E_KEEP:-} ]]; then
            e2e_log "kept $E2E_T"
        else
            rm -rf "$E2E_T"
        fi
    fi
    exit "$rc"
}

# e2e_wait_for TIMEOUT_S WHAT COMMAND...: polls COMMAND every 100 ms until it succeeds; fails
# the case with WHAT after TIMEOUT_S seconds.
e2e_wait_for() {
    local timeout_s=$1 what=$2
    shift 2
    local deadline=$(($(e2e_now_ms) + timeout_s * 1000))
    until "$@"; do
        (($(e2e_now_ms) < deadline)) || e2e_fail "timed out after ${timeout_s}s waiting for $what"
        sleep 0.1
    done
}

# e2e_spawn NAME COMMAND...: starts COMMAND in the background, output appended to
# $E2E_T/NAME.log; its pid is in $E2E_LAST_PID and is stopped on exit.
e2e_spawn() {
    local name=$1
    shift
    "$@" >>"$E2E_T/$name.log" 2>&1 </dev/null &
    E2E_LAST_PID=$!
    E2E_PIDS+=("$E2E_LAST_PID")
    E2E_WHAT[$E2E_LAST_PID]=$name
}

# e2e_forget PID: after a case killed and reaped a process itself.
e2e_forget() {
    local keep=() p
    for p in "${E2E_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    E2E_PIDS=("${keep[@]}")
}

# e2e_sigkill PID: SIGKILL, reaped, forgotten.
e2e_sigkill() {
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    e2e_forget "$1"
}

# ---- setup ---------------------------------------------------------------------------------

e2e_init() {
    [[ -x ${LILYPAD:-} ]] || e2e_fail "LILYPAD=${LILYPAD:-} is not an executable (run through ctest)"
    # CI installs bubblewrap and busybox-static: their absence is a failure, not a skip.
    [[ -x /usr/bin/bwrap ]] ||
        e2e_fail "/usr/bin/bwrap is missing: apt-get install bubblewrap (scripts/install-deps.sh)"
    local img
    for img in cowsay wordcount; do
        [[ -f ${E2E_IMAGES:-}/$img.tar ]] ||
            e2e_fail "example image ${E2E_IMAGES:-?}/$img.tar is missing: the e2e_images fixture" \
                "(scripts/build-example-images.sh) failed; it needs busybox-static"
    done
    E2E_T=$(mktemp -d "${TMPDIR:-/tmp}/lp-e2e-$E2E_NAME-XXXXXX")
    trap e2e_cleanup EXIT
    trap 'exit 130' INT TERM
    export LILYPAD_HOME=$E2E_T/home
    mkdir -p "$LILYPAD_HOME" "$E2E_T/modules"
    for img in cowsay wordcount; do
        "$LILYPAD" image import "$E2E_IMAGES/$img.tar" --store "$LILYPAD_HOME/images" \
            >>"$E2E_T/setup.log" 2>&1 || e2e_fail "importing $img.tar into the test's image store"
    done
    "$LILYPAD" key new --out "$E2E_T/jc.key" >/dev/null 2>>"$E2E_T/setup.log"
    E2E_JC_ADDR=$("$LILYPAD" key show "$E2E_T/jc.key")
}

# e2e_module NAME SCRIPT [RAM_MB]: a folder module on the cowsay image (busybox) running
# `sh -c SCRIPT`, asking for RAM_MB of memory (default 64).
# SCRIPT must not hold quotes or backslashes (it is pasted into JSON as is).
e2e_module() {
    local dir=$E2E_T/modules/$1 ram=${3:-64}
    mkdir -p "$dir"
    cat >"$dir/lilypad_module.json.tmpl" <<EOF
{"machine": {"gpu": 0, "cpu": 500, "ram": $ram},
 "job": {"APIVersion": "V1beta1", "Spec": {
  "Docker": {"Image": "lilypad-example/cowsay:v1",
             "Entrypoint": ["/bin/sh", "-c", "$2"]},
  "Network": {"Type": "None"}, "Timeout": 60}}}
EOF
    echo "$dir"
}

# e2e_git_module NAME SCRIPT [RAM_MB]: the same module committed to a git repository (one
# commit on branch main); prints its reference, file://DIR. Unlike a folder module, which
# travels as a bundle named by its hash, it keeps its repository as its name, so allow, deny
# and block lists can name it. The solver and providers clone it from DIR themselves.
e2e_git_module() {
    local dir
    dir=$(e2e_module "$@")
    git -C "$dir" init -q -b main >>"$E2E_T/setup.log" 2>&1 &&
        git -C "$dir" add lilypad_module.json.tmpl &&
        git -C "$dir" -c user.name=e2e -c user.email=e2e@example.org commit -q -m "$1" \
            >>"$E2E_T/setup.log" 2>&1 || e2e_fail "committing module $1 to git"
    echo "file://$dir"
}

# ---- the solver ----------------------------------------------------------------------------

E2E_SOLVER_EXTRA=""

# e2e_solver_start: starts the solver on a free port the kernel picks (listen on port 0, the
# port read back from its start line, so no other process can take it between pick and bind);
# a restart keeps that port and the data dir. Ready when /healthz answers.
e2e_solver_start() {
    local dir=$E2E_T/solver listen init=()
    mkdir -p "$dir"
    if [[ ! -f $dir/solver.key ]]; then
        init=(--init) # a new network: the database is created on this first start only
        "$LILYPAD" key new --out "$dir/solver.key" >/dev/null 2>>"$E2E_T/setup.log"
        cat >"$dir/solver.cfg" <<EOF
solver: {
  listen = "127.0.0.1:0"; data_dir = "data"; key = "solver.key";
  tick = "200ms"; match_timeout = "20s"; execution_grace = "5s"; rate_limit = 0;
  $E2E_SOLVER_EXTRA
};
EOF
    fi
    listen=127.0.0.1:${E2E_PORT:-0}
    local before=0
    [[ -f $E2E_T/solver.log ]] && before=$(wc -l <"$E2E_T/solver.log")
    e2e_spawn solver env LILYPAD_LOG=info "$LILYPAD" solver -c "$dir/solver.cfg" --listen "$listen" "${init[@]}"
    E2E_SOLVER_PID=$E2E_LAST_PID
    local line=""
    e2e_solver_line() {
        line=$(tail -n +$((before + 1)) "$E2E_T/solver.log" | grep -m1 -o 'listening on http://127\.0\.0\.1:[0-9]*' || true)
        [[ -n $line ]] || { kill -0 "$E2E_SOLVER_PID" 2>/dev/null || e2e_fail "the solver exited at start"; return 1; }
    }
    e2e_wait_for 15 "the solver's start line" e2e_solver_line
    E2E_PORT=${line##*:}
    E2E_URL=http://127.0.0.1:$E2E_PORT
    export E2E_SIGN_HOST=127.0.0.1:$E2E_PORT # requests are signed for the solver's host
    e2e_wait_for 15 "$E2E_URL/healthz" curl -fsS -m 2 -o /dev/null "$E2E_URL/healthz"
}

# e2e_metric NAME: the solver's gauge or counter NAME (lilypad_solver_NAME), or -1.
e2e_metric() {
    curl -fsS -m 2 "$E2E_URL/metrics" 2>/dev/null | awk -v m="lilypad_solver_$1" '$1 == m { print $2; f = 1 } END { if (!f) print -1 }'
}

e2e_offers_at_least() { (($(e2e_metric open_resource_offers) >= $1)); }

# ---- providers -----------------------------------------------------------------------------

# e2e_provider_start N [PROVIDER_LINES]: provider N (1, 2...) with its own key, work dirs and
# ledger, on the test's image store; PROVIDER_LINES go into its provider { } section. Ready
# when its resource offer is open at the solver (waits for the offers of every provider
# started so far). A restart reuses the key, configuration and work dirs. Sets
# E2E_PROVIDER<N>_PID and E2E_PROVIDER<N>_ADDR.
e2e_provider_start() {
    local n=$1 extra=${2:-} dir=$E2E_T/p$1 executor
    executor=${E2E_EXECUTOR:-"executor: { backend = \"process\";
            process: { work_dir = \"jobs\"; image_store = \"$LILYPAD_HOME/images\"; kill_grace = \"1s\"; }; };"}
    if [[ ! -f $dir/provider.cfg ]]; then
        mkdir -p "$dir"
        "$LILYPAD" key new --out "$dir/provider.key" >/dev/null 2>>"$E2E_T/setup.log"
        cat >"$dir/provider.cfg" <<EOF
gpu = "none";
hashrate: { backend = "cpu"; cpu: { threads = 1; }; };
$executor
storage: { backend = "local"; local: { root = "storage"; }; };
verifier: { backend = "ledger"; ledger: { path = "ledger.sqlite"; }; };
provider: { solver = "$E2E_URL"; key = "provider.key"; work_dir = "work";
            image_store = "$LILYPAD_HOME/images"; poll_wait = "1s"; mining_duty = 0;
            $extra };
EOF
        E2E_PROVIDERS=$((${E2E_PROVIDERS:-0} + 1))
    fi
    # Relative paths in the executor, storage and verifier sections are taken from the working
    # directory, so each provider runs in its own folder.
    (cd "$dir" && LILYPAD_LOG=info exec "$LILYPAD" provider -c "$dir/provider.cfg") >>"$E2E_T/p$n.log" 2>&1 </dev/null &
    E2E_LAST_PID=$!
    E2E_PIDS+=("$E2E_LAST_PID")
    E2E_WHAT[$E2E_LAST_PID]="provider $n"
    printf -v "E2E_PROVIDER${n}_PID" %s "$E2E_LAST_PID"
    printf -v "E2E_PROVIDER${n}_ADDR" %s "$("$LILYPAD" key show "$dir/provider.key")"
    e2e_wait_for 20 "provider $n's resource offer" e2e_offers_at_least "$E2E_PROVIDERS"
}

# E2E_EXECUTOR, when set, is the providers' executor section instead of executor/process's (the
# tests of the container engines run the same network on them).

# e2e_network [PROVIDER1_LINES] [PROVIDER2_LINES]: the solver and two providers.
e2e_network() {
    e2e_solver_start
    e2e_provider_start 1 "${1:-}"
    e2e_provider_start 2 "${2:-}"
}

# ---- job creators --------------------------------------------------------------------------

# e2e_run NAME TIMEOUT_S ARGS...: `lilypad run ARGS` against the test's solver with the job
# creator key; stdout in $E2E_T/NAME.out, stderr in $E2E_T/NAME.err; sets E2E_RC. A run
# still going after TIMEOUT_S is a hang: the case fails.
e2e_run() {
    local name=$1 timeout_s=$2
    shift 2
    E2E_RC=0
    timeout -k 2 "$timeout_s" "$LILYPAD" run --network "$E2E_URL" --key "$E2E_T/jc.key" "$@" \
        >"$E2E_T/$name.out" 2>"$E2E_T/$name.err" </dev/null || E2E_RC=$?
    ((E2E_RC != 124 && E2E_RC != 137)) || e2e_fail "lilypad run $* hung (killed after ${timeout_s}s)"
}

# e2e_run_bg NAME ARGS...: the same in the background; E2E_RUN_PID; e2e_run_wait collects it.
e2e_run_bg() {
    local name=$1
    shift
    "$LILYPAD" run --network "$E2E_URL" --key "$E2E_T/jc.key" "$@" \
        >"$E2E_T/$name.out" 2>"$E2E_T/$name.err" </dev/null &
    E2E_RUN_PID=$!
    E2E_PIDS+=("$E2E_RUN_PID")
    E2E_WHAT[$E2E_RUN_PID]="lilypad run $name"
}

# e2e_run_wait PID TIMEOUT_S: waits for a background run; E2E_RC is its exit status.
e2e_run_wait() {
    local pid=$1 timeout_s=$2
    e2e_wait_for "$timeout_s" "lilypad run (pid $pid) to finish" e2e_not_running "$pid"
    E2E_RC=0
    wait "$pid" || E2E_RC=$?
    e2e_forget "$pid"
}

e2e_not_running() { ! kill -0 "$1" 2>/dev/null; }

# e2e_expect_in FILE TEXT: FILE holds TEXT literally.
e2e_expect_in() {
    grep -qF -- "$2" "$1" || e2e_fail "${1##*/} lacks \"$2\""
}

e2e_expect_not_in() {
    ! grep -qF -- "$2" "$1" || e2e_fail "${1##*/} holds \"$2\""
}

# e2e_reason NAME: the reason line `lilypad run` NAME ended with ("lilypad: run: ...").
e2e_reason() {
    grep -m1 '^lilypad: run: ' "$E2E_T/$1.err" || true
}

# e2e_expect_reason NAME TEXT: that reason holds TEXT (not just any line: temp paths hold the
# case's name).
e2e_expect_reason() {
    local reason
    reason=$(e2e_reason "$1")
    [[ $reason == *"$2"* ]] || e2e_fail "$1: the reason \"$reason\" lacks \"$2\""
}

# e2e_deal_of NAME: the deal ID `lilypad run` printed on stderr.
e2e_deal_of() {
    grep -o 'Deal: *0x[0-9a-f]*' "$E2E_T/$1.err" | grep -o '0x[0-9a-f]*' | head -n1
}

# ---- signed requests (curl + e2e_sign) ------------------------------------------------------

# e2e_signed KEY METHOD TARGET [BODYFILE]: sends one signed request; body in $E2E_T/resp,
# prints the HTTP status. The headers stay in $E2E_T/hdrs for a replay.
e2e_signed() {
    local key=$1 method=$2 target=$3 body=${4:-}
    "$E2E_SIGN" "$key" "$method" "$target" ${body:+"$body"} >"$E2E_T/hdrs" ||
        e2e_fail "e2e_sign $method $target"
    e2e_send "$method" "$target" "$body"
}

# e2e_send METHOD TARGET [BODYFILE]: sends with the headers in $E2E_T/hdrs as they are.
e2e_send() {
    local method=$1 target=$2 body=${3:-}
    local args=(-sS -m 10 -o "$E2E_T/resp" -w '%{http_code}' -X "$method" -H @"$E2E_T/hdrs")
    [[ -z $body ]] || args+=(--data-binary @"$body" -H 'Content-Type: application/octet-stream')
    curl "${args[@]}" "$E2E_URL$target"
}

# e2e_json_field KEY [FILE]: the first string value of "KEY" in FILE (default the last answer).
# grep, not jq: the tests need nothing CI does not already install.
e2e_json_field() {
    grep -o "\"$1\": *\"[^\"]*\"" "${2:-$E2E_T/resp}" | head -n1 | sed 's/.*: *"\(.*\)"/\1/'
}
