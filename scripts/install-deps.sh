#!/usr/bin/env bash
# Installs the Debian 12 packages lilypad builds and tests with. Idempotent: packages already
# present are skipped, so a second run does nothing and needs no network.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --gpu    also hipcc (compiles the ROCm plugin; nvcc comes from CUDA)
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config git
    libconfig-dev libsecp256k1-dev libmsgpack-dev libssl-dev libsqlite3-dev
    libjansson-dev libmicrohttpd-dev libgit2-dev libcurl4-openssl-dev
    libcmocka-dev clang clang-format libclang-rt-14-dev libarchive-dev
    bubblewrap busybox-static nodejs
    slirp4netns nftables # executor/process: outbound-only network for modules that ask for it
    ipfs-cid
    npm  # Debian's nodejs does not pull it; the ethers.js cross-check runs `npm ci`
    curl # the end-to-end tests send their requests with it
    docker.io podman # executor/docker's tests start their own dockerd and podman service
    # executor/docker's pull tests: a private registry on 127.0.0.1 (Docker Distribution) with
    # htpasswd auth, whose password file needs bcrypt hashes (htpasswd -B from apache2-utils)
    docker-registry apache2-utils
)
if [[ " $* " == *" --gpu "* ]]; then
    packages+=(hipcc libamdhip64-dev)
fi

# A command that may come from another package: NodeSource's nodejs bundles npm (and
# conflicts with Debian's npm package), so npm on the PATH is enough.
command_satisfies() { [[ $1 == npm ]] && command -v npm >/dev/null 2>&1; }

missing=()
for p in "${packages[@]}"; do
    command_satisfies "$p" && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: need root to install packages (run with sudo)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "install-deps: all ${#packages[@]} packages present"
fi
