#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages, builds, runs every CTest test
# (unit tests, store tests against a real etcd, integration tests with real capsuled
# processes and both docker CLIs), then rebuilds the unit tests with AddressSanitizer +
# UBSan and runs them again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
jobs=$(nproc)

echo "== build" >&2
"$root/scripts/build.sh"
echo "== ctest (unit + integration)" >&2
(cd "$root/build" && ctest --output-on-failure -j"$jobs" --timeout 600)

echo "== unit tests under ASan+UBSan" >&2
BUILD_DIR="$root/build-asan" BUILD_TYPE=Debug "$root/scripts/build.sh" -DCAPSULE_SANITIZE=ON -DCAPSULE_UNIT_ONLY=ON
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j"$jobs" -L unit --timeout 600)
