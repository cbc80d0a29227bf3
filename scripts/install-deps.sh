#!/usr/bin/env bash
# Installs the Debian packages one command needs. Idempotent and non-interactive; installs only
# what is missing.
#   install-deps.sh run    what building and running Capsule needs (scripts/capsule-up.sh):
#                          build tools, the libraries, etcd, runc — and a docker CLI (Debian's
#                          docker.io, 20.10) only when this machine has no docker CLI at all.
#   install-deps.sh test   what only the tests add on top of `run`:
#                          GoogleTest/GMock, clang and libclang-rt (fuzzers), busybox-static
#                          (the test image), etcdctl, python3, jq, curl, openssl, procps,
#                          iproute2, docker-registry and skopeo (test_pull.py's registry)
#                          — and Debian's docker CLI 20.10 at /usr/bin/docker, which
#                          every compatibility test uses (a docker 28.x elsewhere is extra).
#   install-deps.sh [all]  both (scripts/test.sh, scripts/prove.sh).
set -euo pipefail
what=${1:-all}
run_pkgs=(build-essential cmake ninja-build ccache pkg-config git
          libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
          libboost-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libssl-dev libsodium-dev
          libabsl-dev libzstd-dev zlib1g-dev etcd-server runc util-linux)
test_pkgs=(clang libclang-rt-dev libgtest-dev libgmock-dev busybox-static etcd-client
           python3 curl jq openssl procps iproute2 docker-registry skopeo)
pkgs=()
case "$what" in
  run)  pkgs=("${run_pkgs[@]}") ;;
  test) pkgs=("${test_pkgs[@]}") ;;
  all)  pkgs=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [run|test|all]" >&2; exit 2 ;;
esac
if [ "$what" = run ]; then
  # Any docker CLI will do for using Capsule; install Debian's only when there is none.
  command -v docker >/dev/null 2>&1 || [ -x /usr/bin/docker ] || [ -x /usr/local/bin/docker ] ||
    pkgs+=(docker.io)
else
  # The tests need Debian's 20.10 at /usr/bin/docker (tests/harness/docker_cli.py).
  [ -x /usr/bin/docker ] || pkgs+=(docker.io)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ($what): ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  for i in $(seq 1 60); do   # wait for a concurrent apt/dpkg to release its lock
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; then break; fi
    [ "$i" = 60 ] && exit 1
    sleep 5
  done
fi
