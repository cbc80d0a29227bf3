#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build-fuzz/ and runs each for a
# fixed time on a temporary copy of its committed seed corpus (the repo never grows).
#   scripts/fuzz.sh [--seconds N] [--out FILE] [--targets "a b"] [--build-only]
# Short form (CI): --seconds 10; full: --seconds 300. Prints executions, crashes and corpus
# size per target; exits 1 if any target crashed (the crashing input is kept under
# build-fuzz/crashes/ and its path printed; replay it with build-fuzz/bin/fuzz_<target> FILE).
# If PROVE_OUT is set, also writes $PROVE_OUT/fuzz.json; --out FILE writes the same JSON there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=10 out="" targets="" build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    *) echo "usage: $0 [--seconds N] [--out FILE] [--targets \"a b\"] [--build-only]" >&2; exit 2 ;;
  esac
done
all_targets="secret_spec service_spec secret_refs filters http_target go_json tar_import"
targets=${targets:-$all_targets}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}

export CCACHE_DIR=${CCACHE_DIR:-/var/cache/capsule-ccache}
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/install-deps.sh)" >&2; exit 1; }
echo "== fuzz: building $build" >&2
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAPSULE_FUZZ=ON >/dev/null
ninja -C "$build" -j"$jobs" $(for t in $targets; do echo "fuzz_$t"; done) >&2
[ "$build_only" = 1 ] && exit 0

work=$(mktemp -d /tmp/capsule-fuzz-run-XXXXXX)
# The tar target builds a rootfs per input: on tmpfs when there is one (20x faster than disk).
scratch=$(mktemp -d /dev/shm/capsule-fuzz-XXXXXX 2>/dev/null || mktemp -d "$work/scratch-XXXXXX")
trap 'rm -rf "$work" "$scratch"' EXIT
crashdir=$build/crashes
mkdir -p "$crashdir"
json_rows=() failed=0
# ASan's leak check stays on (libFuzzer reports leaks as crashes); the tar target runs as root
# in its own temp dirs below $work.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in $targets; do
  corpus=$work/corpus-$t
  mkdir -p "$corpus" "$scratch/tmp-$t"
  cp "$root/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  log=$work/$t.log
  echo "== fuzz: $t for ${seconds}s" >&2
  set +e
  TMPDIR=$scratch/tmp-$t "$build/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=20 -print_final_stats=1 -artifact_prefix="$crashdir/$t-" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  files=$(find "$corpus" -type f | wc -l)
  crashes=0
  if [ "$rc" != 0 ]; then
    crashes=1 failed=1
    tail -40 "$log" >&2
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz: $t CRASHED (exit $rc); input kept at ${art:-<none written>}" >&2
  fi
  printf '%-14s %4ss  %10s execs  %d crashes  %5d corpus files\n' "$t" "$seconds" "$execs" \
    "$crashes" "$files"
  json_rows+=("{\"name\":\"$t\",\"seconds\":$seconds,\"executions\":$execs,\"crashes\":$crashes,\"corpus_files\":$files}")
done
json="{\"targets\":[$(IFS=,; echo "${json_rows[*]}")]}"
[ -n "$out" ] && echo "$json" >"$out"
[ -n "${PROVE_OUT:-}" ] && mkdir -p "$PROVE_OUT" && echo "$json" >"$PROVE_OUT/fuzz.json"
exit $failed
