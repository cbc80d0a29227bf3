#!/usr/bin/env bash
# Fails if a tracked file names the folder this checkout sits in (an absolute path of the
# machine the file was written on): the repository must work from any clone location.
# The folder is computed at run time, so this script names no path itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
parent=$(dirname "$root")
[ "$parent" = / ] && exit 0
# A clone straight in a shared temp folder (git clone . /tmp/x): that folder says nothing
# about the machine, and the repository rightly names it (mktemp -d /tmp/...), so look for
# the checkout's own path instead.
case "$parent" in /tmp | /var/tmp) parent=$root ;; esac
if hits=$(git -C "$root" grep -n -I -F "$parent/" -- . 2>/dev/null); then
  echo "absolute paths of this machine ($parent/) in the repository:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "no absolute path of this machine ($parent/) in the repository" >&2
