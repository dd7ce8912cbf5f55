#!/usr/bin/env bash
# The docker peer of the executor tests: Debian's dockerd with its state under DIR (socket,
# data root, exec root, pidfile, log), no bridge and no firewall changes, and the test image
# lilypad-test/busybox:1 imported.
#   dockerd.sh start DIR   (exit 77 with DIR/unavailable when it cannot start here)
#   dockerd.sh stop DIR    (the daemon, its containerd and shims, mounts, DIR: all gone)
#   dockerd.sh kill DIR    (SIGKILL to dockerd alone, as a crash: for the restart test)
#   dockerd.sh restart DIR (after kill: the daemon again, on the same state)
set -u
cmd=${1:-} dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop|kill DIR" >&2; exit 2; }
dir=$(realpath -m "$dir")
socket=$dir/docker.sock
source "$(dirname "$0")/peer_common.sh"

stop() {
    if [[ -S $socket ]]; then
        remove_containers
    fi
    stop_pid "$dir/docker.pid"
    kill_under_dir
    unmount_under_dir
}

start_daemon() {
    # Never the host's networking: no bridge, no iptables, no forwarding.
    dockerd --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --host "unix://$socket" --data-root "$dir/root" --exec-root "$dir/exec" \
        --pidfile "$dir/docker.pid" --exec-opt native.cgroupdriver=cgroupfs \
        >>"$dir/dockerd.log" 2>&1 </dev/null &
    local pid=$!
    wait_ping "${1:-60}" "$pid" || return 1
}

case $cmd in
start)
    stop
    rm -rf "$dir"
    mkdir -p "$dir"
    command -v dockerd >/dev/null || unavailable "dockerd is not installed (apt-get install docker.io)"
    command -v curl >/dev/null || unavailable "curl is not installed"
    ((EUID == 0)) || unavailable "dockerd needs root (running as uid $EUID)"
    ((${#socket} < 100)) || unavailable "the socket path $socket is too long for a unix socket"
    start_daemon || {
        reason="dockerd did not answer on $socket: $(tail -n 3 "$dir/dockerd.log" | tr '\n' ' ')"
        stop
        unavailable "$reason"
    }
    import_test_image
    if ! why=$(run_smoke_container); then
        stop
        unavailable "dockerd answers but cannot run a container here: $why"
    fi
    rm -f "$dir/unavailable"
    echo "dockerd ready on $socket"
    ;;
restart)
    # After `kill`: the same daemon again on the same state (its containers as the crash left
    # them). A containerd the crash left half-alive can keep the new dockerd from starting its
    # own ("timeout waiting for containerd to start"): then that containerd goes (the
    # containers' shims stay) and dockerd gets a second try.
    if ! start_daemon 30; then
        stop_pid "$dir/docker.pid"
        for pid in $(engine_pids); do
            [[ $(cat "/proc/$pid/comm" 2>/dev/null) == containerd ]] && kill -KILL "$pid"
        done
        sleep 1
        start_daemon 60 || {
            echo "dockerd did not come back: $(tail -n 20 "$dir/dockerd.log")" >&2
            exit 1
        }
    fi
    echo "dockerd back on $socket"
    ;;
kill)
    pid=$(cat "$dir/docker.pid" 2>/dev/null) && kill -KILL "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    ;;
stop)
    stop
    rm -rf "$dir"
    echo "dockerd stopped"
    ;;
*)
    echo "usage: $0 start|stop|kill|restart DIR" >&2
    exit 2
    ;;
esac
