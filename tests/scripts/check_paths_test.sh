#!/usr/bin/env bash
# Tests scripts/check-no-machine-paths.sh on throwaway clones of this checkout's HEAD:
# a clean clone passes; the same clone with one planted absolute path of its own location
# fails and names the file (the positive control: the check can fail). Then the same for a clone
# straight in /tmp (git clone . /tmp/x), where the repository's own /tmp uses are fine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/capsule-pathcheck.XXXXXX)
top=$(mktemp -d /tmp/capsule-pathcheck-top.XXXXXX)  # a clone directly under /tmp
trap 'rm -rf "$tmp" "$top"' EXIT
git clone -q "$root" "$tmp/clone"
cp "$root/scripts/check-no-machine-paths.sh" "$tmp/clone/scripts/"
cd "$tmp/clone"
git add scripts/check-no-machine-paths.sh
git -c user.email=t@t -c user.name=t commit -qm script --allow-empty
./scripts/check-no-machine-paths.sh 2>/dev/null || { echo "FAIL: a clean clone is refused"; exit 1; }
echo "data=$tmp/clone/build/bin" >planted.cfg
git add planted.cfg && git -c user.email=t@t -c user.name=t commit -qm planted
if out=$(./scripts/check-no-machine-paths.sh 2>&1); then
  echo "FAIL: a planted absolute path was not found"; exit 1
fi
grep -q 'planted.cfg:1:' <<<"$out" || { echo "FAIL: the report does not name the file: $out"; exit 1; }
echo "ok: clean clone passes, planted path refused"
git clone -q "$root" "$top"
cp "$root/scripts/check-no-machine-paths.sh" "$top/scripts/"
cd "$top"
./scripts/check-no-machine-paths.sh 2>/dev/null || { echo "FAIL: a clean clone in /tmp is refused"; exit 1; }
echo "data=$top/build/bin" >planted.cfg
git add planted.cfg
if out=$(./scripts/check-no-machine-paths.sh 2>&1); then
  echo "FAIL: a planted path of a clone in /tmp was not found"; exit 1
fi
grep -q 'planted.cfg:1:' <<<"$out" || { echo "FAIL: the report does not name the file: $out"; exit 1; }
echo "ok: a clone straight in /tmp passes, its planted path refused"
