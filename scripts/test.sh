#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages, builds, runs every CTest test
# (unit tests, store tests against a real etcd, integration tests with real capsuled
# processes and the docker CLIs), then rebuilds the unit tests with AddressSanitizer +
# UBSan and runs them again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo "== no absolute path of this machine in the repository" >&2
"$root/scripts/check-no-machine-paths.sh"
# What running needs (as capsule-up.sh) and what only the tests add: GoogleTest, clang,
# busybox-static, jq, Debian's docker CLI 20.10, ...
"$root/scripts/install-deps.sh" run
"$root/scripts/install-deps.sh" test
jobs=$(nproc)

echo "== build" >&2
"$root/scripts/build.sh"
echo "== ctest (unit + integration + the short proof suite, label prove)" >&2
# The proof tests write their figures here; the report is printed at the end.
if [[ -z "${PROVE_OUT:-}" ]]; then
  export PROVE_OUT=$root/build/prove
  rm -rf "$PROVE_OUT"
fi
mkdir -p "$PROVE_OUT"
(cd "$root/build" && ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== unit tests under ASan+UBSan" >&2
BUILD_DIR="$root/build-asan" BUILD_TYPE=Debug "$root/scripts/build.sh" -DCAPSULE_SANITIZE=ON -DCAPSULE_UNIT_ONLY=ON
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j"$jobs" -L unit --timeout 600)

echo "== proof report (short form; the full run is scripts/prove.sh)" >&2
python3 "$root/scripts/prove_report.py" "$PROVE_OUT"

echo "== docker CLIs the compatibility tests ran with" >&2
# Importing the harness prints "docker 28.x: not on this machine — compatibility ran with
# 20.10 only" when the second CLI is absent (tests/harness/docker_cli.py).
PYTHONPATH="$root/tests" python3 -c 'import harness; print("docker CLIs:", *harness.DOCKER_CLIS)' 2>&1
