# Shared part of the cases that run whole jobs through a container engine (sourced after
# tests/e2e/lib.sh). The engine is the fixture's daemon (tests/peer/docker): PEER_ENGINE is
# docker or podman, PEER_SOCKET its API socket, PEER_DIR its state folder, where a daemon
# that could not start left its reason in `unavailable`.

# engine_init: e2e_init, then the engine checked, the example images loaded into it and the
# providers' executor section pointed at it (E2E_EXECUTOR).
engine_init() {
    e2e_init
    if ! curl -sf --unix-socket "$PEER_SOCKET" http://engine/_ping >/dev/null 2>&1; then
        local why="no $PEER_ENGINE daemon answers at $PEER_SOCKET"
        [[ -f $PEER_DIR/unavailable ]] && why="$why: $(cat "$PEER_DIR/unavailable")"
        [[ ${LILYPAD_REQUIRE_PEERS:-} == 1 ]] && e2e_fail "$why"
        e2e_skip "$why"
    fi
    local img
    for img in cowsay wordcount; do
        curl -sf --unix-socket "$PEER_SOCKET" -X POST -H 'Content-Type: application/x-tar' \
            --data-binary "@$E2E_IMAGES/$img.tar" "http://engine/v1.41/images/load?quiet=1" \
            >>"$E2E_T/setup.log" 2>&1 || e2e_fail "loading $img.tar into $PEER_ENGINE"
    done
    E2E_EXECUTOR="executor: { backend = \"docker\";
            docker: { socket = \"$PEER_SOCKET\"; kill_grace = \"1s\"; }; };"
}

# engine_api METHOD PATH [CURL ARGS...]: the engine's reply body on stdout.
engine_api() {
    local method=$1 path=$2
    shift 2
    curl -s --unix-socket "$PEER_SOCKET" -X "$method" "http://engine/v1.41$path" "$@"
}

# engine_owned ADDRESS: how many containers, running or not, carry the provider's label.
engine_owned() {
    local owner=${1,,}
    engine_api GET "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.lilypad.owner%3D$owner%22%5D%7D" |
        { grep -o '"Id":' || true; } | wc -l
}
