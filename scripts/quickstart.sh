#!/usr/bin/env bash
# First command of the README's quick start, for a fresh Debian 12 machine as root: installs
# what lilypad needs, builds it, builds the example module images from Debian's busybox-static
# and imports them into the local image store, then runs the main job: the cowsay example on a
# local devnet (solver + provider on the embedded defaults, started in the background), run
# for real under bubblewrap, its results verified against their CID.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)"

scripts/build-example-images.sh --lilypad build/bin/lilypad

exec ./build/bin/lilypad run --network local examples/modules/cowsay -i Message=hi
