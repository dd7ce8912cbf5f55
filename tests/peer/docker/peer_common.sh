# Shared by dockerd.sh and podman.sh (sourced): reporting a peer that cannot start, the test
# image, and the teardown of what an engine leaves behind under its state folder.

# unavailable REASON: the reason goes to DIR/unavailable for the tests to print; exit 77 (a
# skip), or 1 where LILYPAD_REQUIRE_PEERS=1 (CI), where a peer that cannot start is a failure.
unavailable() {
    mkdir -p "$dir"
    printf '%s\n' "$*" >"$dir/unavailable"
    echo "skipped: $*"
    [[ ${LILYPAD_REQUIRE_PEERS:-0} == 1 ]] && exit 1
    exit 77
}

# api METHOD PATH [curl args...]: one Engine API call on the fixture's socket.
api() {
    local method=$1 path=$2
    shift 2
    curl -sS --max-time 60 --unix-socket "$socket" -X "$method" "$@" "http://localhost/v1.41$path"
}

# wait_ping SECONDS PID: until the engine answers /_ping, or PID died, or time is up.
wait_ping() {
    local deadline=$((SECONDS + $1)) pid=$2
    while ((SECONDS < deadline)); do
        [[ $(curl -s --max-time 2 --unix-socket "$socket" http://localhost/_ping 2>/dev/null) == OK ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# import_test_image: lilypad-test/busybox:1, a root of Debian's busybox-static and its applet
# links, imported through the API (no registry needed).
import_test_image() {
    local busybox=/bin/busybox root=$dir/image-root
    [[ -x $busybox ]] || unavailable "no $busybox for the test image (apt-get install busybox-static)"
    rm -rf "$root"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc"
    cp "$busybox" "$root/bin/busybox"
    local applet
    for applet in $("$root/bin/busybox" --list); do
        [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    tar -C "$root" -cf "$dir/image.tar" . || unavailable "cannot tar the test image"
    rm -rf "$root"
    # The tag goes in repo=: Podman 4.3 ignores the tag= parameter of an import.
    local reply
    reply=$(api POST '/images/create?fromSrc=-&repo=lilypad-test/busybox:1' \
        -H 'Content-Type: application/x-tar' --data-binary "@$dir/image.tar") ||
        unavailable "importing the test image failed: $reply"
    grep -q '"status":"sha256:' <<<"$reply" || unavailable "importing the test image failed: $reply"
    rm -f "$dir/image.tar"
}

# run_smoke_container: the test image's /bin/true run once (create, start, wait, remove), as
# the tests will: an engine that answers but cannot run a container here (a read-only cgroup
# tree in an unprivileged container, a runtime that refuses the machine's rlimits) is a peer
# that cannot start. Prints why on failure.
run_smoke_container() {
    local reply id
    reply=$(api POST '/containers/create?name=lilypad-fixture-smoke' -H 'Content-Type: application/json'         -d '{"Image":"lilypad-test/busybox:1","Cmd":["/bin/true"],"HostConfig":{"NetworkMode":"none"}}' 2>&1)
    id=$(sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p' <<<"$reply")
    [[ -n $id ]] || { echo "creating a container failed: $reply"; return 1; }
    reply=$(api POST "/containers/$id/start" 2>&1)
    if [[ -n $reply ]]; then
        api DELETE "/containers/$id?force=1" >/dev/null 2>&1
        echo "starting a container failed: $reply"
        return 1
    fi
    reply=$(api POST "/containers/$id/wait" 2>&1)
    api DELETE "/containers/$id?force=1" >/dev/null 2>&1
    grep -q '"StatusCode":0' <<<"$reply" || { echo "a container of /bin/true did not exit 0: $reply"; return 1; }
}

# remove_containers: every container of the engine, forced (their processes die with them).
remove_containers() {
    local ids id
    ids=$(curl -s --max-time 10 --unix-socket "$socket" 'http://localhost/v1.41/containers/json?all=1' |
        grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4) || return 0
    for id in $ids; do
        curl -s --max-time 30 --unix-socket "$socket" -X DELETE \
            "http://localhost/v1.41/containers/$id?force=1&v=1" >/dev/null
    done
}

# engine_pids: the engine's processes whose command line names the state folder: dockerd,
# containerd and its shims, podman, conmon, the runtimes. By name too, so the shell that runs
# this script (its command line names the folder as well) is never among them.
engine_pids() {
    local f pid comm
    for f in $(grep -l -s -F -- "$dir" /proc/[0-9]*/cmdline 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/cmdline}
        comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
        case $comm in
        dockerd | containerd | containerd-shim* | podman | conmon | runc | crun | catatonit) echo "$pid" ;;
        esac
    done
}

# kill_under_dir: the engine_pids, TERM then KILL.
kill_under_dir() {
    local sig pids
    for sig in TERM KILL; do
        pids=$(engine_pids)
        [[ -z $pids ]] && return 0
        kill -"$sig" $pids 2>/dev/null
        sleep 0.5
    done
}

# unmount_under_dir: mounts the engine left (overlays, shm, netns), deepest first.
unmount_under_dir() {
    local m
    for m in $(awk -v d="$dir" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null
    done
}

# stop_pid PIDFILE: TERM, up to 20 s, then KILL.
stop_pid() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 0
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
}
