#!/usr/bin/env bash
# The podman peer of the executor tests: Debian's podman serving its Docker-compatible API on
# a unix socket, with its storage, run root, temporary files and log under DIR, and the test
# image lilypad-test/busybox:1 imported; with LP_REGISTRY_DIR set (the test registry's state
# folder), the registry marked insecure in DIR/registries.conf.
#   podman.sh start DIR    (exit 77 with DIR/unavailable when it cannot start here)
#   podman.sh stop DIR     (the service, conmon and containers, mounts, DIR: all gone)
#   podman.sh kill DIR     (SIGKILL to the service alone, as a crash: for the restart test)
#   podman.sh restart DIR  (after kill: the service again, on the same state)
set -u
cmd=${1:-} dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop|kill|restart DIR" >&2; exit 2; }
dir=$(realpath -m "$dir")
socket=$dir/podman.sock
source "$(dirname "$0")/peer_common.sh"
# Podman refuses a run root path longer than 50 characters, which a deep build tree exceeds:
# then the run root is a short folder under /tmp, named after DIR so a restart finds it.
runroot=$dir/run
if ((${#runroot} > 50)); then
    runroot=/tmp/lp-podman-$(printf '%s' "$dir" | sha256sum | cut -c1-12)
fi

stop() {
    if [[ -S $socket ]]; then
        remove_containers
    fi
    stop_pid "$dir/podman.pid"
    kill_under_dir
    unmount_under_dir
    if [[ $runroot != "$dir/run" ]]; then
        dir=$runroot unmount_under_dir
        rm -rf "$runroot"
    fi
}

start_service() {
    # runc, as podman runs it, sets the default ulimits, which needs CAP_SYS_RESOURCE where
    # they exceed the hard limits; ones within them work in a container without it.
    cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
events_logger = "file"
CONF
    # Written by start (below), kept for a restart.
    local registries=()
    [[ -f $dir/registries.conf ]] && registries=("CONTAINERS_REGISTRIES_CONF=$dir/registries.conf")
    env "${registries[@]}" CONTAINERS_CONF="$dir/containers.conf" \
        podman --root "$dir/root" --runroot "$runroot" \
        --tmpdir "$dir/tmp" system service --time=0 "unix://$socket" \
        >>"$dir/podman.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/podman.pid"
    wait_ping 60 "$pid" || return 1
}

case $cmd in
start)
    stop
    rm -rf "$dir"
    mkdir -p "$dir"
    command -v podman >/dev/null || unavailable "podman is not installed (apt-get install podman)"
    command -v curl >/dev/null || unavailable "curl is not installed"
    ((EUID == 0)) || unavailable "this fixture runs podman as root (running as uid $EUID)"
    ((${#socket} < 100)) || unavailable "the socket path $socket is too long for a unix socket"
    # The test registry (registry.sh, started first where LP_REGISTRY_DIR is set) serves plain
    # HTTP on 127.0.0.1: Podman, unlike Docker, pulls from it only when registries.conf marks
    # it insecure. The service reads the file once, so it must name the registry's port now.
    if [[ -n ${LP_REGISTRY_DIR:-} && -s $LP_REGISTRY_DIR/address ]]; then
        printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' \
            "$(cat "$LP_REGISTRY_DIR/address")" >"$dir/registries.conf"
    fi
    start_service || {
        reason="podman system service did not answer on $socket: $(tail -n 3 "$dir/podman.log" | tr '\n' ' ')"
        stop
        unavailable "$reason"
    }
    import_test_image
    if ! why=$(run_smoke_container); then
        stop
        unavailable "podman answers but cannot run a container here: $why"
    fi
    rm -f "$dir/unavailable"
    echo "podman ready on $socket"
    ;;
restart)
    start_service || { echo "podman did not come back: $(tail -n 3 "$dir/podman.log")" >&2; exit 1; }
    echo "podman back on $socket"
    ;;
kill)
    pid=$(cat "$dir/podman.pid" 2>/dev/null) && kill -KILL "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    ;;
stop)
    stop
    rm -rf "$dir"
    echo "podman stopped"
    ;;
*)
    echo "usage: $0 start|stop|kill|restart DIR" >&2
    exit 2
    ;;
esac
