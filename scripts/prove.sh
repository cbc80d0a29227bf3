#!/usr/bin/env bash
# The proof suite of issue 5 — faults, hostile input, leak checks, load — and its report.
#   scripts/prove.sh            full run: 20+20 kill -9 rounds of capsuled and of its etcd member,
#                               3 worker-kill rounds, each fuzzer for $FUZZ_SECONDS (300), the
#                               hostile-client and leak modules, the 10,000-secret / 1,000-service
#                               / 200-worker load; writes docs/prove/<date>/ (JSON + REPORT.md)
#   scripts/prove.sh --short    the CI form (scripts/test.sh runs the same tests): the `prove`
#                               CTest label — 2+2 kill rounds and 2 worker rounds, hostile input,
#                               leaks, a 500-secret / 50-service / 20-worker load, corpus replays
#                               and each fuzzer for 10 s (prove.fuzz_short)
# Environment: PROVE_OUT (result dir), FUZZ_SECONDS, SKIP_BUILD=1 (use the existing build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
short=0
[[ "${1:-}" == "--short" ]] && short=1
if [[ $short == 1 ]]; then
  out=${PROVE_OUT:-$root/build/prove-short}
else
  out=${PROVE_OUT:-$root/docs/prove/$(date -u +%Y-%m-%d)}
fi
mkdir -p "$out"
export PROVE_OUT=$out
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  "$root/scripts/install-deps.sh"
  "$root/scripts/build.sh"
fi
export CAPSULED=$root/build/bin/capsuled CAPSULE_CLI=$root/build/bin/capsule PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH=$root/tests${PYTHONPATH:+:$PYTHONPATH}  # the harness package (tests/harness)
status=0
step() {  # step NAME COMMAND...: runs one part, remembers a failure, goes on with the others
  local name=$1
  shift
  echo "== prove: $name" >&2
  local t0=$SECONDS
  if "$@"; then
    echo "== prove: $name passed in $((SECONDS - t0)) s" >&2
  else
    echo "== prove: $name FAILED" >&2
    status=1
  fi
}

if [[ $short == 1 ]]; then
  step "ctest -L prove" ctest --test-dir "$root/build" --output-on-failure -L prove --timeout 900
else
  step "crash safety" python3 "$root/tests/fault/crash_safety.py" \
    --capsuled-rounds 20 --etcd-rounds 20 --worker-rounds 3
  step "HA faults" python3 "$root/tests/fault/ha_faults.py" \
    --kill-rounds 10 --stop-rounds 5 --restart-all-rounds 1
  step "hostile input" bash -c "cd '$root/tests/integration' && python3 -m unittest -v test_hostile_input"
  step "leaks" bash -c "cd '$root/tests/integration' && python3 -m unittest -v test_leaks"
  step "fuzz ${FUZZ_SECONDS:-300} s per target" "$root/scripts/fuzz.sh" \
    --seconds "${FUZZ_SECONDS:-300}" --out "$out/fuzz.json"
  step "load and scale" env SWARM_LOAD="$root/build/bin/swarm_load" python3 "$root/bench/scale_bench.py" \
    --secrets 10000 --services 1000 --workers 200 --reps 3
fi
python3 "$root/scripts/prove_report.py" "$out" | tee "$out/REPORT.md"
exit $status
