#!/usr/bin/env bash
# Installs every Debian package Capsule needs to build, run and test. Idempotent and
# non-interactive; installs only what is missing.
set -euo pipefail
pkgs=(build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-dev
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
      libboost-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libssl-dev libsodium-dev
      libabsl-dev libgtest-dev libgmock-dev
      etcd-server etcd-client runc busybox-static
      python3 curl jq openssl procps iproute2 util-linux)
# The docker CLI: 28.2 may already be at /usr/local/bin/docker; Debian's docker.io gives 20.10
# at /usr/bin/docker (the compatibility tests use both).
[ -x /usr/bin/docker ] || pkgs+=(docker.io)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  for i in $(seq 1 60); do   # wait for a concurrent apt/dpkg to release its lock
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; then break; fi
    [ "$i" = 60 ] && exit 1
    sleep 5
  done
fi
