#!/usr/bin/env bash
# Configures and builds into build/ (or $BUILD_DIR).
#   scripts/build.sh [--target T]... [cmake configure args...]
# With no --target, builds everything (binaries, unit tests, test tools); each --target T
# builds only T and what it needs (capsule-up.sh builds just the three binaries this way, with
# -DCAPSULE_BUILD_TESTS=OFF so GoogleTest need not be installed).
# The remaining args go to cmake configure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
targets=()
while [ $# -gt 0 ] && [ "$1" = --target ]; do
  targets+=("$2")
  shift 2
done
# A full build includes the tests even if capsule-up.sh configured this tree without them.
[ ${#targets[@]} -gt 0 ] || set -- -DCAPSULE_BUILD_TESTS=ON "$@"
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/capsule-ccache}
# Paths relative to the checkout, so a fresh clone elsewhere (CI) still hits the cache.
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
if [ ${#targets[@]} -gt 0 ]; then
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
else
  cmake --build "$build" -j"$(nproc)"
fi
