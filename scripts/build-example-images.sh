#!/usr/bin/env bash
# Builds the example modules' images (examples/modules/*/image) as docker-archive tarballs from
# Debian's busybox-static, with no registry and no docker daemon, then imports them into the
# local image store with `lilypad image import`.
#
#   scripts/build-example-images.sh [OUT_DIR] [--lilypad PATH] [--no-import] [--store DIR]
#
# OUT_DIR defaults to build/images. Idempotent: the tarballs are byte-for-byte reproducible
# (sorted entries, fixed owners and mtimes), so a second run yields the same digests and the
# import finds them already in the store.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/images"
lilypad=""
import=1
store_args=()
while (($#)); do
    case "$1" in
    --lilypad) lilypad=$2; shift 2 ;;
    --no-import) import=0; shift ;;
    --store) store_args=(--store "$2"); shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-example-images: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
    esac
done

busybox=/bin/busybox
# The image holds nothing but this binary, so it must not need a dynamic loader.
if [[ ! -x $busybox ]] || ldd "$busybox" >/dev/null 2>&1; then
    echo "build-example-images: need a static $busybox; install it with:" >&2
    echo "  apt-get install busybox-static" >&2
    exit 1
fi
for tool in tar sha256sum; do
    command -v "$tool" >/dev/null || { echo "build-example-images: $tool is missing" >&2; exit 1; }
done

case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Reproducible tar: same bytes for the same tree, whoever runs it and whenever.
rtar() {
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime "$@"
}

# json_str S: S as a JSON string (the inputs here are ours: plain ASCII, no control chars).
json_str() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}

# build NAME TAG ENTRYPOINT...
build() {
    local name=$1 tag=$2
    shift 2
    local src="$root/examples/modules/$name/image" dir="$work/$name"
    mkdir -p "$dir/rootfs/bin" "$dir/archive"
    # busybox and one link per applet it has, so `sh`, `awk`, `wc`... resolve in /bin
    cp "$busybox" "$dir/rootfs/bin/busybox"
    for applet in $("$busybox" --list); do
        [[ $applet == busybox ]] || ln -sf busybox "$dir/rootfs/bin/$applet"
    done
    mkdir -p "$dir/rootfs/"{usr/bin,tmp,inputs,outputs,proc,dev,sys,etc,root}
    chmod 1777 "$dir/rootfs/tmp"
    echo "root:x:0:0:root:/root:/bin/sh" >"$dir/rootfs/etc/passwd"
    echo "root:x:0:" >"$dir/rootfs/etc/group"
    cp -a "$src/." "$dir/rootfs/"
    rtar -C "$dir/rootfs" -cf "$dir/layer.tar" .
    local diff
    diff=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)

    local ep="" sep=""
    for a in "$@"; do
        ep+="$sep$(json_str "$a")"
        sep=","
    done
    printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"Entrypoint":[%s],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"scripts/build-example-images.sh"}]}' \
        "$arch" "$ep" "$diff" >"$dir/config.json"
    local cfg
    cfg=$(sha256sum "$dir/config.json" | cut -d' ' -f1)

    mkdir -p "$dir/archive/$diff"
    mv "$dir/layer.tar" "$dir/archive/$diff/layer.tar"
    mv "$dir/config.json" "$dir/archive/$cfg.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
        "$cfg" "$tag" "$diff" >"$dir/archive/manifest.json"
    rtar -C "$dir/archive" -cf "$out/$name.tar" .
    echo "build-example-images: $out/$name.tar  $tag  sha256:$cfg"
}

build cowsay lilypad-example/cowsay:v1 /usr/local/bin/cowsay
build wordcount lilypad-example/wordcount:v1 /usr/local/bin/wordcount

if ((import)); then
    if [[ -z $lilypad ]]; then
        for c in "$root/build/bin/lilypad" "$(command -v lilypad || true)"; do
            [[ -n $c && -x $c ]] && { lilypad=$c; break; }
        done
    fi
    if [[ -z $lilypad ]]; then
        echo "build-example-images: no lilypad binary (build first, or pass --lilypad PATH)" >&2
        exit 1
    fi
    for name in cowsay wordcount; do
        "$lilypad" image import "$out/$name.tar" "${store_args[@]}"
    done
fi
