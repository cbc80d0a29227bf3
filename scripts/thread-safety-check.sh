#!/usr/bin/env bash
# Runs clang's thread-safety analysis (-Wthread-safety, as an error) over the translation units
# that use the annotated Mutex (src/common/mutex.h) or the ABSL_* lock annotations; gcc, the
# normal compiler, ignores the annotations.
#   scripts/thread-safety-check.sh [BUILD_DIR]          every such TU in BUILD_DIR/compile_commands.json
#   scripts/thread-safety-check.sh --files F.cc...      just these files (-std=c++20 -Isrc)
# Syntax only (no code generation), two files at a time. Exit 0 iff no file is rejected.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v clang++ >/dev/null || { echo "thread-safety-check: clang++ not installed" >&2; exit 1; }
tsa=(-fsyntax-only -Wthread-safety -Werror=thread-safety -Wno-unknown-warning-option)
list=$(mktemp /tmp/capsule-tsa.XXXXXX)
trap 'rm -f "$list"' EXIT

if [ "${1:-}" = --files ]; then
  shift
  for f in "$@"; do
    printf '%s\0' "clang++ -std=c++20 -I$root/src ${tsa[*]} $f" >>"$list"
  done
else
  build=${1:-$root/build}
  [ -f "$build/compile_commands.json" ] || {
    echo "thread-safety-check: no $build/compile_commands.json (build first)" >&2; exit 1; }
  # The same -I/-isystem/-D/-std flags as the real build, clang++ instead of gcc.
  python3 - "$build/compile_commands.json" "$root" "${tsa[*]}" >"$list" <<'PY'
import json, re, shlex, sys
db, root, tsa = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
uses = re.compile(r'common/mutex\.h|\bMutexLock\b|\bABSL_(GUARDED_BY|EXCLUSIVE_LOCKS_REQUIRED)\b')
for e in db:
    f = e["file"]
    if not f.startswith(root + "/src/") or not f.endswith(".cc"):
        continue
    if not uses.search(open(f).read()):
        continue
    args = shlex.split(e["command"]) if "command" in e else e["arguments"]
    keep, i = [], 1
    while i < len(args):
        a = args[i]
        if a in ("-isystem", "-I", "-D", "-include"):
            keep += [a, args[i + 1]]; i += 2; continue
        if a.startswith(("-I", "-D", "-std=", "-isystem")) or a == "-pthread":
            keep.append(a)
        i += 1
    cmd = "cd %s && clang++ %s %s %s" % (shlex.quote(e["directory"]), " ".join(map(shlex.quote, keep)), tsa, shlex.quote(f))
    sys.stdout.write(cmd + "\0")
PY
fi

n=$(tr -cd '\0' <"$list" | wc -c)
[ "$n" -gt 0 ] || { echo "thread-safety-check: no file to check" >&2; exit 1; }
if xargs -0 -P2 -n1 bash -c <"$list"; then
  echo "thread-safety-check: $n files pass -Wthread-safety"
else
  echo "thread-safety-check: FAILED (see the errors above)" >&2
  exit 1
fi
