// `capsule swarm ca [--rotate] [--cert-expiry D] [-d] [-q]`, as docker's `swarm ca`:
//   without --rotate: GET /swarm, print TLSInfo.TrustRoot (--cert-expiry alone is refused with
//   docker's "`--cert-expiry` flag requires the `--rotate` flag to update the CA");
//   with --rotate: GET /swarm, POST /swarm/update with the spec, CAConfig.ForceRotate + 1 (and
//   NodeCertExpiry when given); unless --detach, poll GET /swarm and GET /nodes every `poll` —
//   a progress line (unless --quiet) whenever the counts change — until the rotation is done
//   and every node presents a certificate of the cluster's root and trusts it (docker's
//   convergence rule), then print the new root.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct SwarmCaOptions {
  bool rotate = false;
  bool detach = false;
  bool quiet = false;
  std::optional<std::string> cert_expiry;  // a Go duration
  std::chrono::milliseconds poll{500};
};

Status SwarmCa(CommandContext& ctx, const SwarmCaOptions& options);

}  // namespace capsule::cli
