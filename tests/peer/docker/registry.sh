#!/usr/bin/env bash
# The registry peer of the executor tests: Debian's docker-registry (Docker Distribution) on
# 127.0.0.1, plain HTTP (engines treat registries on 127.0.0.0/8 as insecure, so no TLS is
# needed), with htpasswd auth for one user, its storage, config and log under DIR.
#   registry.sh start DIR   (exit 77 with DIR/unavailable when it cannot start here)
#   registry.sh stop DIR    (the registry and DIR: gone)
#   registry.sh push DIR ENGINE_SOCKET REPO TAG [unique]
#       tags the engine's lilypad-test/busybox:1 (with `unique`: a commit of it with a fresh
#       label) as <address>/REPO:TAG, pushes it through the engine with the credentials,
#       removes the local tag (so the next use of it really pulls) and prints the pushed
#       manifest's digest, sha256:...
# What start leaves in DIR: address (127.0.0.1:PORT), username, password, registry.log (the
# registry's own log, with an access-log line per request).
set -u
cmd=${1:-} dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop|push DIR [SOCKET REPO TAG [unique]]" >&2; exit 2; }
dir=$(realpath -m "$dir")
source "$(dirname "$0")/peer_common.sh"

# registry_pids: docker-registry processes serving a config under DIR.
registry_pids() {
    local f pid
    for f in $(grep -l -s -F -- "$dir/" /proc/[0-9]*/cmdline 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/cmdline}
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == docker-registry ]] && echo "$pid"
    done
}

stop() {
    stop_pid "$dir/registry.pid"
    local pids
    pids=$(registry_pids)
    [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
    return 0
}

# start_on PORT: the registry on 127.0.0.1:PORT; 0 once it answers /v2/ (401: auth is on), 1
# when it died (the port was taken) or never answered.
start_on() {
    local port=$1
    cat >"$dir/config.yml" <<YML
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: lilypad-test
    path: $dir/htpasswd
YML
    docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
    local pid=$! deadline=$((SECONDS + 30)) code
    echo "$pid" >"$dir/registry.pid"
    while ((SECONDS < deadline)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/v2/")
        [[ $code == 401 ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    stop
    return 1
}

case $cmd in
start)
    stop
    rm -rf "$dir"
    mkdir -p "$dir/storage"
    command -v docker-registry >/dev/null ||
        unavailable "docker-registry is not installed (apt-get install docker-registry)"
    command -v htpasswd >/dev/null ||
        unavailable "htpasswd is not installed (apt-get install apache2-utils)"
    command -v curl >/dev/null || unavailable "curl is not installed"
    # A fresh password each run: the tests check that it never reaches a log or a message.
    echo lilypad >"$dir/username"
    echo "pw-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')" >"$dir/password"
    # The registry's htpasswd auth accepts bcrypt hashes only (-B).
    htpasswd -Bbn "$(cat "$dir/username")" "$(cat "$dir/password")" >"$dir/htpasswd" 2>/dev/null ||
        unavailable "htpasswd -B failed"
    # A free port: a random one in 20000-59999; one that is taken makes the registry exit, and
    # the next try takes another.
    for _ in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        if start_on "$port"; then
            echo "127.0.0.1:$port" >"$dir/address"
            rm -f "$dir/unavailable"
            echo "registry ready on 127.0.0.1:$port"
            exit 0
        fi
    done
    reason="docker-registry did not answer: $(tail -n 3 "$dir/registry.log" | tr '\n' ' ')"
    stop
    unavailable "$reason"
    ;;
push)
    socket=${3:-} repo=${4:-} tag=${5:-} unique=${6:-}
    [[ -S $socket && -n $repo && -n $tag ]] || {
        echo "usage: $0 push DIR ENGINE_SOCKET REPO TAG [unique]" >&2
        exit 2
    }
    address=$(cat "$dir/address") || exit 1
    user=$(cat "$dir/username") password=$(cat "$dir/password")
    target=$address/$repo
    if [[ $unique == unique ]]; then
        # An image no engine has seen: a commit of a container of the test image with a fresh
        # label, so its manifest digest is new to the registry and to the engine's caches.
        id=$(api POST /containers/create -H 'Content-Type: application/json' \
            -d "{\"Image\":\"lilypad-test/busybox:1\",\"Cmd\":[\"true\"],\"Labels\":{\"io.lilypad.test-nonce\":\"$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')\"}}" |
            grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)
        [[ -n $id ]] || { echo "creating a container to commit failed" >&2; exit 1; }
        # Podman wants a body (the config to change): an empty one.
        api POST "/commit?container=$id&repo=$target&tag=$tag" -f -o /dev/null \
            -H 'Content-Type: application/json' -d '{}'
        rc=$?
        api DELETE "/containers/$id?force=1" -o /dev/null
        ((rc == 0)) || { echo "committing $target:$tag failed" >&2; exit 1; }
    else
        api POST "/images/lilypad-test/busybox:1/tag?repo=$target&tag=$tag" -f -o /dev/null || {
            echo "tagging lilypad-test/busybox:1 as $target:$tag failed" >&2
            exit 1
        }
    fi
    # X-Registry-Auth: base64url of {username, password, serveraddress}, as the plugin sends it.
    auth=$(printf '{"username":"%s","password":"%s","serveraddress":"%s"}' "$user" "$password" \
        "$address" | base64 -w0 | tr '+/' '-_')
    # The progress stream ends with the pushed manifest's digest (Docker: a status line and an
    # aux line; Podman: its last line); an {"error"...} line is a failure.
    reply=$(api POST "/images/$target/push?tag=$tag" -H "X-Registry-Auth: $auth")
    if grep -q '"error' <<<"$reply"; then
        echo "pushing $target:$tag failed: $reply" >&2
        exit 1
    fi
    digest=$(grep -o 'sha256:[0-9a-f]\{64\}' <<<"$reply" | tail -n 1)
    [[ -n $digest ]] || { echo "no digest in the push reply: $reply" >&2; exit 1; }
    # The registry's own word on the tag's digest must be the same.
    served=$(curl -sS -I -u "$user:$password" \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$address/v2/$repo/manifests/$tag" | tr -d '\r' |
        awk 'tolower($1) == "docker-content-digest:" { print $2 }')
    [[ $served == "$digest" ]] || {
        echo "the push said $digest, the registry serves $served" >&2
        exit 1
    }
    # Gone from the engine, so the next use of it pulls.
    api DELETE "/images/$target:$tag" -o /dev/null
    echo "$digest"
    ;;
stop)
    stop
    rm -rf "$dir"
    echo "registry stopped"
    ;;
*)
    echo "usage: $0 start|stop|push DIR [SOCKET REPO TAG [unique]]" >&2
    exit 2
    ;;
esac
