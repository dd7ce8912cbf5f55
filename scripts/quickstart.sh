#!/usr/bin/env bash
# First command of the README's quick start, for a fresh Debian 12 machine as root: installs
# what lilypad needs, builds it, and runs the main job on the embedded defaults.
#
# Status: the network roles (solver, provider, `lilypad run`) are issue #4 and not built yet.
# Until they land, the "main job" this runs is the part that exists end to end: the provider's
# proof of work on the embedded cpu backend, with the plugin table the provider would load.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build -j "$(nproc)"

./build/bin/lilypad version
./build/bin/lilypad plugins
if ./build/bin/lilypad --help | grep -q '^  run '; then
    exec ./build/bin/lilypad run --network local examples/modules/cowsay -i Message=hi
fi
echo
echo "lilypad run is not built yet (issue #4); running the provider's proof of work instead:"
exec ./build/bin/lilypad hashrate --backend auto --seconds 5
