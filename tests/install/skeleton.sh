#!/usr/bin/env bash
# Installs lilypad from a build tree to a temporary prefix, builds examples/plugin-skeleton
# against it (with the CMake package, and once more with pkg-config), installs it, and checks
# that the installed `lilypad plugins` shows it LOADED.
#   tests/install/skeleton.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$src/examples/plugin-skeleton" -B "$prefix/skeleton-build" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/skeleton-build" >/dev/null
cmake --install "$prefix/skeleton-build" >/dev/null

mkdir -p "$prefix/store"
cat >"$prefix/skeleton.cfg" <<CFG
storage: { backend = "skeleton"; skeleton: { root = "$prefix/store"; }; };
CFG
out=$(LILYPAD_PLUGIN_PATH= "$prefix/bin/lilypad" plugins -c "$prefix/skeleton.cfg")
echo "$out"
# The ABI the installed headers declare, which the skeleton was just built against.
abi=$(sed -n 's/^abi_major=//p' "$build/lilypad-plugin.pc").$(sed -n 's/^abi_minor=//p' "$build/lilypad-plugin.pc")
grep -qE "^LOADED +storage/skeleton +0\.1\.0 +${abi//./\\.} +$prefix/lib/lilypad/plugins/storage_skeleton\.so" <<<"$out"
"$prefix/bin/lilypad" config check "$prefix/skeleton.cfg"

# The pkg-config route builds the same plugin.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -shared -fPIC -fvisibility=hidden -Werror -Wall \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs lilypad-plugin) \
    -o "$prefix/storage_skeleton.so" "$src/examples/plugin-skeleton/storage_skeleton.c"
nm -D --defined-only "$prefix/storage_skeleton.so" | grep -q ' lp_plugin_descriptor$'
echo "skeleton: built out of tree and LOADED"
