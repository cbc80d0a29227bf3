#include "cli/swarm_ca_ops.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/daemon_error.h"
#include "common/go_time.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::ordered_json;

StatusOr<Json> Get(HttpClient& client, const std::string& path) {
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, {"GET", path, {}, "", ""}));
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InternalError(absl::StrCat("invalid JSON from GET ", path));
  return j;
}

std::string Field(const Json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].is_object()) return "";
  const Json& x = j[a];
  return x.contains(b) && x[b].is_string() ? x[b].get<std::string>() : "";
}

Status PrintTrustRoot(CommandContext& ctx, const Json& swarm) {
  const std::string root = Field(swarm, "TLSInfo", "TrustRoot");
  if (root.empty()) return absl::FailedPreconditionError("No CA information available");
  ctx.out() << absl::StripAsciiWhitespace(root) << "\n";
  return absl::OkStatus();
}

struct Progress {
  size_t certs = 0;  // nodes whose certificate the cluster's root issued
  size_t roots = 0;  // nodes that trust the cluster's root
  size_t total = 0;
  bool rotating = true;
  bool done() const { return !rotating && certs == total && roots == total; }
};

Progress Measure(const Json& swarm, const Json& nodes) {
  Progress p;
  const Json tls = swarm.contains("TLSInfo") ? swarm["TLSInfo"] : Json::object();
  p.rotating = swarm.value("RootRotationInProgress", false);
  if (!nodes.is_array()) return p;
  for (const Json& n : nodes) {
    ++p.total;
    const Json desc = n.contains("Description") ? n["Description"] : Json::object();
    const std::string key = Field(desc, "TLSInfo", "CertIssuerPublicKey");
    const std::string subject = Field(desc, "TLSInfo", "CertIssuerSubject");
    if (key == tls.value("CertIssuerPublicKey", "") &&
        subject == tls.value("CertIssuerSubject", "")) {
      ++p.certs;
    }
    if (Field(desc, "TLSInfo", "TrustRoot") == tls.value("TrustRoot", "")) ++p.roots;
  }
  return p;
}

}  // namespace

Status SwarmCa(CommandContext& ctx, const SwarmCaOptions& options) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(Json swarm, Get(*client, "/swarm"));
  if (!options.rotate) {
    if (options.cert_expiry) {
      return absl::InvalidArgumentError(
          "`--cert-expiry` flag requires the `--rotate` flag to update the CA");
    }
    return PrintTrustRoot(ctx, swarm);
  }
  Json spec = swarm.contains("Spec") && swarm["Spec"].is_object() ? swarm["Spec"] : Json::object();
  if (!spec.contains("CAConfig") || !spec["CAConfig"].is_object()) {
    spec["CAConfig"] = Json::object();
  }
  Json& ca = spec["CAConfig"];
  if (options.cert_expiry) {
    ASSIGN_OR_RETURN(int64_t ns, ParseGoDuration(*options.cert_expiry));
    ca["NodeCertExpiry"] = ns;
  }
  const uint64_t force = ca.contains("ForceRotate") && ca["ForceRotate"].is_number_unsigned()
                             ? ca["ForceRotate"].get<uint64_t>()
                             : 0;
  ca["ForceRotate"] = force + 1;
  ca.erase("SigningCACert");  // a fresh root, as docker when no --ca-cert is given
  const Json& index = swarm["Version"]["Index"];
  HttpRequest update{"POST", "/swarm/update", {}, spec.dump(), ""};
  update.query["version"] = index.is_number() ? std::to_string(index.get<uint64_t>()) : "0";
  update.query["rotateWorkerToken"] = "false";
  update.query["rotateManagerToken"] = "false";
  update.query["rotateManagerUnlockKey"] = "false";
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, update));
  (void)response;
  if (options.detach) return absl::OkStatus();

  std::string last;
  while (true) {
    ASSIGN_OR_RETURN(swarm, Get(*client, "/swarm"));
    ASSIGN_OR_RETURN(Json nodes, Get(*client, "/nodes"));
    const Progress p = Measure(swarm, nodes);
    // As docker: trust roots count only once every certificate is right and the rotation ended.
    const size_t roots = (p.certs == p.total && !p.rotating) ? p.roots : 0;
    const std::string line =
        absl::StrCat("rotated TLS certificates: ", p.certs, "/", p.total,
                     " nodes, rotated CA certificates: ", roots, "/", p.total, " nodes");
    if (!options.quiet && line != last) {
      ctx.out() << line << "\n" << std::flush;
      last = line;
    }
    if (p.done()) break;
    ctx.Sleep(options.poll);
  }
  return PrintTrustRoot(ctx, swarm);
}

}  // namespace capsule::cli
