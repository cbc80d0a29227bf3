// Fuzz target: the body of POST /networks/create → ParseNetworkCreate (Go-compatible decoding
// and type checks) → the IPAM checks of its configs (ipam::CompleteConfigs). Errors are 400s
// from the decoder; completed configs have a subnet that parses and a gateway inside it; a
// network built from the request survives the store encoding and renders as JSON Go can read;
// the addresses allocated inside it are distinct and inside its subnets.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "dockerapi/http/go_json.h"
#include "dockerapi/network_spec_json.h"
#include "fuzz_check.h"
#include "manager/ipam/pool.h"
#include "objects/network.h"

namespace {

using capsule::Network;
using capsule::StatusOr;
using capsule::controlapi::NetworkCreateRequest;
namespace ipam = capsule::ipam;

void CheckNetwork(const NetworkCreateRequest& req, const std::vector<capsule::IpamConfig>& done) {
  Network n;
  n.id = "0123456789abcdefghijklmno";
  n.name = req.name;
  n.labels = req.labels;
  n.options = req.options;
  n.ipam_spec = req.ipam_configs;
  n.ipam = done;
  n.vxlan_ids = {4096};
  StatusOr<Network> back = capsule::DecodeNetworkMeta(capsule::EncodeNetworkMeta(n));
  FUZZ_CHECK(back.ok(), "stored meta does not decode: %s", back.status().ToString().c_str());
  FUZZ_CHECK(back->name == n.name && back->labels == n.labels && back->options == n.options,
             "meta round trip changed the network");
  FUZZ_CHECK(back->ipam.size() == n.ipam.size(), "meta round trip changed the IPAM configs");
  StatusOr<nlohmann::json> j = capsule::http::UnmarshalGoJson(capsule::RenderNetwork(n));
  FUZZ_CHECK(j.ok(), "rendered network is not JSON: %s", j.status().ToString().c_str());
  FUZZ_CHECK((*j)["Name"] == n.name, "rendered name differs");

  std::vector<ipam::Ipv4Prefix> subnets;
  for (const capsule::IpamConfig& c : done) {
    StatusOr<ipam::Ipv4Prefix> s = ipam::ParseIpv4Prefix(c.subnet);
    FUZZ_CHECK(s.ok(), "completed subnet does not parse: %s", c.subnet.c_str());
    StatusOr<uint32_t> gw = ipam::ParseIpv4(c.gateway);
    FUZZ_CHECK(gw.ok() && s->Contains(*gw), "gateway %s outside %s", c.gateway.c_str(),
               c.subnet.c_str());
    subnets.push_back(*s);
  }
  // A few allocations: distinct, inside a subnet, never a gateway.
  ipam::NetworkAddresses addresses(n);
  std::set<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    StatusOr<std::string> a = addresses.Allocate();
    if (!a.ok()) break;
    FUZZ_CHECK(seen.insert(*a).second, "address %s handed out twice", a->c_str());
    StatusOr<uint32_t> ip = ipam::ParseIpv4(a->substr(0, a->find('/')));
    FUZZ_CHECK(ip.ok(), "allocated address does not parse: %s", a->c_str());
    bool inside = false;
    for (size_t k = 0; k < subnets.size(); ++k) {
      inside = inside || subnets[k].Contains(*ip);
      FUZZ_CHECK(ipam::FormatIpv4(*ip) != done[k].gateway, "gateway handed out: %s", a->c_str());
    }
    FUZZ_CHECK(inside, "address %s outside the network's subnets", a->c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  StatusOr<NetworkCreateRequest> req = capsule::dockerapi::ParseNetworkCreate(body);
  if (!req.ok()) {
    FUZZ_CHECK(req.status().code() == capsule::StatusCode::kInvalidArgument,
               "decode error is not a 400: %s", req.status().ToString().c_str());
    return 0;
  }
  // Keep the address walk bounded: huge subnets are fine to check, not to fill.
  StatusOr<std::vector<capsule::IpamConfig>> done = ipam::CompleteConfigs(req->ipam_configs);
  if (!done.ok()) return 0;
  CheckNetwork(*req, *done);
  return 0;
}
