// redteam_swarm_client: raw calls on a manager's swarm port with a node's real certificate, for
// the red-team suite (tests/redteam/test_earlier_attacks.py plays a hostile worker with it).
// Not a test by itself: it makes one call and prints its outcome as one JSON line,
//   {"code": "<gRPC code name>", "message": "...", ...call-specific fields}
// and exits 0 whenever the call was made (refusals included); 2 on bad usage or unreadable files.
//
//   redteam_swarm_client ADDR CERT KEY ROOT_CA COMMAND [ARGS]
//     CERT and KEY: the node's PEM files ("-" "-": no client certificate); ROOT_CA: the
//     swarm root the server must chain to.
//   COMMAND:
//     list-sessions                      Dispatcher.ListSessions (manager-only)
//                                          + "nodes": [node IDs with a session]
//     list-sessions-after SECONDS        ListSessions, then again after SECONDS on the same
//                                        channel (the connection stays open: no new handshake)
//                                          + "first": the first call's outcome
//     update-status TASK STATE MESSAGE   Dispatcher.UpdateTaskStatus for one task
//                                          + "refused": [reasons]
//     session WAIT_MS [HOSTNAME]         Dispatcher.Session with a fresh delivery key (claiming
//                                        HOSTNAME, default "redteam"); reads until
//                                        the complete assignment set arrived (or WAIT_MS passed)
//                                          + "tasks": [IDs], "secrets": [{"id","name","sha256",
//                                            "opened"}] (each opened with the key, node ID from
//                                            CERT), "full_set": bool
//     renew                              NodeCA.RenewNodeCertificate with a new key whose CSR
//                                        asks for CN=swarm-manager
//                                          + "node_id", "role"
//     add-member PEER_URL                ManagerMembership.AddMember (manager-only) with a fresh
//                                        delivery key
//                                          + "member_id", "sealed_kek": bool (one came back)
//     promote-member MEMBER_ID           ManagerMembership.PromoteMember (manager-only)
//     abort-join MEMBER_ID keep|forget   ManagerMembership.AbortJoin (manager-only); keep =
//                                        keep_node (a current manager's "0 keep" changes nothing)
#include <grpcpp/client_context.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "ca/cert_info.h"
#include "ca/node_key.h"
#include "capsule/ca.grpc.pb.h"
#include "capsule/dispatcher.grpc.pb.h"
#include "capsule/membership.grpc.pb.h"
#include "crypto/node_seal.h"
#include "crypto/random.h"
#include "transport/channels.h"

namespace {

using json = nlohmann::json;
using namespace capsule;  // a small tool: every name below is Capsule's

constexpr auto kCallTimeout = std::chrono::seconds(20);

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

std::string CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : std::to_string(i);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

json Outcome(const grpc::Status& st) {
  return {{"code", CodeName(st.error_code())}, {"message", st.error_message()}};
}

void SetDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout = kCallTimeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

json ListSessions(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = api::Dispatcher::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  api::ListSessionsResponse resp;
  json out = Outcome(stub->ListSessions(&ctx, {}, &resp));
  out["nodes"] = json::array();
  for (const auto& s : resp.sessions()) out["nodes"].push_back(s.node_id());
  return out;
}

json UpdateStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& task,
                  const std::string& state, const std::string& message) {
  auto stub = api::Dispatcher::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  api::UpdateTaskStatusRequest req;
  api::TaskStatusUpdate* u = req.add_updates();
  u->set_task_id(task);
  u->set_state(state);
  u->set_message(message);
  u->set_err(message);
  api::UpdateTaskStatusResponse resp;
  json out = Outcome(stub->UpdateTaskStatus(&ctx, req, &resp));
  out["refused"] = json::array();
  for (const auto& r : resp.refused()) out["refused"].push_back(r.reason());
  return out;
}

json Session(const std::shared_ptr<grpc::Channel>& channel, const std::string& node_id,
             std::chrono::milliseconds wait, const std::string& hostname) {
  crypto::DeliveryKeyPair keys = crypto::NewDeliveryKeyPair();
  auto stub = api::Dispatcher::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx, wait);
  api::SessionRequest req;
  req.set_hostname(hostname);
  req.set_delivery_public_key(keys.public_key);
  auto reader = stub->Session(&ctx, req);
  api::SessionMessage first;
  json out = {{"tasks", json::array()}, {"secrets", json::array()}, {"full_set", false}};
  if (!reader->Read(&first)) {
    out.update(Outcome(reader->Finish()));
    return out;
  }
  api::SessionMessage m;
  while (reader->Read(&m)) {
    if (!m.has_assignments()) continue;
    const api::AssignmentChanges& a = m.assignments();
    for (const auto& t : a.tasks()) out["tasks"].push_back(t.id());
    for (const auto& s : a.secrets()) {
      auto opened = crypto::OpenFromDispatcher(
          keys, crypto::DeliveryAad(s.id(), node_id, first.session_id()), s.sealed_data());
      json secret = {{"id", s.id()}, {"name", s.name()}, {"opened", opened.ok()}};
      if (opened.ok()) secret["sha256"] = Sha256Hex(opened->view());
      out["secrets"].push_back(secret);
    }
    if (a.full_set()) {
      out["full_set"] = true;
      break;
    }
  }
  ctx.TryCancel();
  reader->Finish();
  out.update(Outcome(grpc::Status::OK));
  return out;
}

json Renew(const std::shared_ptr<grpc::Channel>& channel) {
  auto key = ca::GenerateNodeKey("swarm-manager");
  if (!key.ok()) return {{"code", "CLIENT_ERROR"}, {"message", key.status().ToString()}};
  auto stub = api::NodeCA::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  api::RenewNodeCertificateRequest req;
  req.set_csr_pem(key->csr_pem);
  api::IssueNodeCertificateResponse resp;
  json out = Outcome(stub->RenewNodeCertificate(&ctx, req, &resp));
  out["node_id"] = resp.node_id();
  out["role"] = resp.role();
  return out;
}

json AddMember(const std::shared_ptr<grpc::Channel>& channel, const std::string& peer_url) {
  auto stub = api::ManagerMembership::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  api::AddMemberRequest req;
  req.set_peer_url(peer_url);
  req.set_kek_delivery_public_key(crypto::NewDeliveryKeyPair().public_key);
  api::AddMemberResponse resp;
  json out = Outcome(stub->AddMember(&ctx, req, &resp));
  out["member_id"] = resp.member_id();
  out["sealed_kek"] = !resp.sealed_kek().empty();
  return out;
}

json PromoteMember(const std::shared_ptr<grpc::Channel>& channel, uint64_t member_id) {
  auto stub = api::ManagerMembership::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  api::PromoteMemberRequest req;
  req.set_member_id(member_id);
  api::PromoteMemberResponse resp;
  return Outcome(stub->PromoteMember(&ctx, req, &resp));
}

json AbortJoin(const std::shared_ptr<grpc::Channel>& channel, uint64_t member_id, bool keep) {
  auto stub = api::ManagerMembership::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  api::AbortJoinRequest req;
  req.set_member_id(member_id);
  req.set_keep_node(keep);
  api::AbortJoinResponse resp;
  return Outcome(stub->AbortJoin(&ctx, req, &resp));
}

int Usage() {
  std::fprintf(stderr,
               "usage: redteam_swarm_client ADDR CERT KEY ROOT_CA "
               "list-sessions | list-sessions-after SECONDS | update-status TASK STATE MESSAGE | "
               "session WAIT_MS [HOSTNAME] | "
               "renew | add-member PEER_URL | promote-member MEMBER_ID | "
               "abort-join MEMBER_ID keep|forget\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) return Usage();
  const std::string addr = argv[1], cert_path = argv[2], key_path = argv[3], ca_path = argv[4];
  const std::string command = argv[5];
  if (!crypto::InitCrypto().ok()) return 2;
  std::string root_pem, cert_pem, key_pem;
  if (!ReadFile(ca_path, &root_pem)) return Usage();
  transport::ClientIdentity identity;
  const bool with_cert = cert_path != "-";
  std::string node_id;
  if (with_cert) {
    if (!ReadFile(cert_path, &cert_pem) || !ReadFile(key_path, &key_pem)) return Usage();
    identity = {cert_pem, SecretBytes::CopyFrom(key_pem)};
    auto info = ca::ParseCertInfo(cert_pem);
    if (info.ok()) node_id = info->node_id;
  }
  auto channel = transport::NodeChannel(addr, root_pem, with_cert ? &identity : nullptr);

  json out;
  if (command == "list-sessions" && argc == 6) {
    out = ListSessions(channel);
  } else if (command == "list-sessions-after" && argc == 7) {
    json first = ListSessions(channel);
    std::this_thread::sleep_for(std::chrono::seconds(std::stoi(argv[6])));
    out = ListSessions(channel);
    out["first"] = first;
  } else if (command == "update-status" && argc == 9) {
    out = UpdateStatus(channel, argv[6], argv[7], argv[8]);
  } else if (command == "session" && (argc == 7 || argc == 8)) {
    out = Session(channel, node_id, std::chrono::milliseconds(std::stoi(argv[6])),
                  argc == 8 ? argv[7] : "redteam");
  } else if (command == "renew" && argc == 6) {
    out = Renew(channel);
  } else if (command == "add-member" && argc == 7) {
    out = AddMember(channel, argv[6]);
  } else if (command == "promote-member" && argc == 7) {
    out = PromoteMember(channel, std::stoull(argv[6]));
  } else if (command == "abort-join" && argc == 8 &&
             (std::string(argv[7]) == "keep" || std::string(argv[7]) == "forget")) {
    out = AbortJoin(channel, std::stoull(argv[6]), std::string(argv[7]) == "keep");
  } else {
    return Usage();
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
