#!/bin/bash
# Runs bench/secrets_bench.py (BENCH=services: bench/services_bench.py) against the real Docker swarm (the oracle in
# ../shared/oracle/docker-swarm beside the checkout, or $ORACLE_DIR; unchanged: its own start/stop scripts and
# registry guards) and then against a capsuled on temp roots, and prints the
# Capsule/Docker ratios next to the goals. Builds nothing.
#
#   bench/compare_oracle.sh [extra secrets_bench.py args, e.g. --quick]
# env: CAPSULED (default build/bin/capsuled of this checkout), ORACLE_DIR, OUT (results dir, default a temp dir),
#      SKIP_DOCKER=1 / SKIP_CAPSULE=1 to run one side only (reuses $OUT/docker.json).
# Only unix sockets and loopback: the oracle swarm on 127.0.0.1, capsuled on 127.0.9.1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=${ORACLE_DIR:-$here/../../shared/oracle/docker-swarm}
CAPSULED=${CAPSULED:-$here/../build/bin/capsuled}
[ -x "$oracle/start.sh" ] || [ "${SKIP_DOCKER:-0}" = 1 ] ||
  { echo "no Docker oracle at $oracle (set ORACLE_DIR, or SKIP_DOCKER=1)"; exit 1; }
OUT=${OUT:-$(mktemp -d /tmp/capsule-bench.XXXXXX)}
mkdir -p "$OUT"
BENCH=${BENCH:-secrets}  # secrets | services (bench/<BENCH>_bench.py)
bench() { PYTHONPATH="$here/../tests${PYTHONPATH:+:$PYTHONPATH}" python3 "$here/${BENCH}_bench.py" "$@"; }
echo "results in $OUT"

# ---- Docker oracle --------------------------------------------------------
if [ "${SKIP_DOCKER:-0}" != 1 ]; then
  if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ]; then
    "$oracle/install.sh" || { echo "oracle install failed"; exit 1; }
  fi
  . "$oracle/env.sh"
  was_running=0
  if [ -s "$ANCHOR_PIDFILE" ] && kill -0 "$(cat "$ANCHOR_PIDFILE")" 2>/dev/null; then was_running=1; fi
  "$oracle/start.sh" || exit 1
  "$oracle/swarm-init.sh" || { [ $was_running = 1 ] || "$oracle/stop.sh"; exit 1; }
  bench --socket "$ANCHOR_SOCK" --label docker-20.10 --prefix cmpbench- --json "$OUT/docker.json" "$@"
  rc=$?
  if [ $was_running = 0 ]; then "$oracle/stop.sh"; else echo "(oracle was already running: left up)"; fi
  [ $rc = 0 ] || { echo "bench against docker failed ($rc)"; exit 1; }
fi

# ---- capsuled -------------------------------------------------------------
if [ "${SKIP_CAPSULE:-0}" != 1 ]; then
  [ -x "$CAPSULED" ] || { echo "no capsuled at $CAPSULED"; exit 1; }
  root=$(mktemp -d /tmp/cpb-XXXXXX)
  sock=$root/api.sock
  ip=127.0.9.1
  "$CAPSULED" --data-root "$root/data" --exec-root "$root/exec" -H "unix://$sock" \
    --etcd-binary /usr/bin/etcd --log-level info 2>"$root/capsuled.log" </dev/null &
  cpid=$!
  stop_capsuled() {
    kill "$cpid" 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$cpid" 2>/dev/null && kill -9 "$cpid"
    wait "$cpid" 2>/dev/null
    epid=$(cat "$root/data/etcd/etcd.pid" 2>/dev/null || true)
    if [ -n "$epid" ] && kill -0 "$epid" 2>/dev/null && grep -q etcd "/proc/$epid/cmdline"; then
      kill "$epid"; sleep 1; kill -0 "$epid" 2>/dev/null && kill -9 "$epid"
    fi
  }
  trap 'stop_capsuled; rm -rf "$root"' EXIT
  for i in $(seq 1 150); do
    curl -s --unix-socket "$sock" http://localhost/_ping 2>/dev/null | grep -q OK && break
    kill -0 "$cpid" 2>/dev/null || { echo "capsuled exited:"; tail -30 "$root/capsuled.log"; exit 1; }
    sleep 0.2
  done
  curl -sS --unix-socket "$sock" -H 'Content-Type: application/json' -X POST \
    http://localhost/v1.41/swarm/init \
    -d "{\"ListenAddr\":\"$ip:2377\",\"AdvertiseAddr\":\"$ip\",\"Spec\":{}}" >/dev/null || exit 1
  bench --socket "$sock" --label capsule --prefix cmpbench- --json "$OUT/capsule.json" "$@"
  rc=$?
  stop_capsuled; trap - EXIT; cp "$root/capsuled.log" "$OUT/" 2>/dev/null; rm -rf "$root"
  [ $rc = 0 ] || { echo "bench against capsuled failed ($rc)"; exit 1; }
fi

# ---- ratios ---------------------------------------------------------------
if [ -s "$OUT/docker.json" ] && [ -s "$OUT/capsule.json" ]; then
  echo
  echo "Capsule / Docker (loadavg docker: $(jq -c .loadavg_start "$OUT/docker.json"), capsule: $(jq -c .loadavg_start "$OUT/capsule.json"))"
  python3 "$here/compare.py" "$OUT/docker.json" "$OUT/capsule.json"
fi
