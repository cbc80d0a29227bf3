#!/usr/bin/env bash
# Sets up and runs Capsule on its defaults: installs the Debian packages running needs
# (`install-deps.sh run`: nothing only the tests need), builds the three binaries it runs
# (capsuled, capsule, capsule-shim; CAPSULE_BUILD_TESTS=OFF, so GoogleTest is not needed;
# scripts/test.sh builds the tests), starts
# capsuled (data root /var/lib/capsule, socket /run/capsule/capsule.sock, log
# /var/log/capsuled.log) and, if this node is in no swarm yet, initialises a single-node
# swarm on loopback. Safe to run again: a running capsuled is reused.
# Progress goes to stderr; stdout is only the last line, `export DOCKER_HOST=…`, for eval.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" run >&2
"$root/scripts/build.sh" --target capsuled --target capsule --target capsule-shim \
  -DCAPSULE_BUILD_TESTS=OFF >&2
bin=$root/build/bin
sock=/run/capsule/capsule.sock
pidfile=/run/capsule-capsuled.pid
log=/var/log/capsuled.log

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "capsuled already running (pid $(cat "$pidfile"))" >&2
else
  setsid "$bin/capsuled" --data-root /var/lib/capsule --exec-root /run/capsule \
    -H "unix://$sock" </dev/null >>"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    [ -S "$sock" ] && "$bin/capsule" -H "unix://$sock" version >/dev/null 2>&1 && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "capsuled exited; see $log" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "capsuled started (pid $(cat "$pidfile")), log: $log" >&2
fi

if ! "$bin/capsule" -H "unix://$sock" info 2>/dev/null | grep -q 'Swarm: active'; then
  "$bin/capsule" -H "unix://$sock" swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >&2
fi
echo "Stop it with: kill \$(cat $pidfile)" >&2
echo "export DOCKER_HOST=unix://$sock"
