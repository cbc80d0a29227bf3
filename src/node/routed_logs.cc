#include "node/routed_logs.h"

#include "ca/node_key.h"
#include "common/clock.h"
#include "common/file_read.h"
#include "manager/logbroker/peer_log_client.h"

namespace capsule::node {
namespace {

StatusOr<logbroker::PeerCredentials> LoadCredentials(const CertificatePaths& certs) {
  logbroker::PeerCredentials c;
  ASSIGN_OR_RETURN(c.root_ca_pem, ReadWholeFile(certs.root_ca));
  ASSIGN_OR_RETURN(c.identity.cert_pem, ReadWholeFile(certs.cert));
  ASSIGN_OR_RETURN(c.identity.key_pem, ca::ReadNodeKeyFile(certs.key));
  return c;
}

}  // namespace

logbroker::NodeSession SessionOf(const store::ReadModel& reads, const std::string& node_id) {
  logbroker::NodeSession s;
  store::NodeEntry n = reads.NodeById(node_id);
  if (!n) return s;
  s.exists = true;
  s.ready = n->object.state == "ready";
  s.manager_id = n->object.session_manager;
  if (s.manager_id.empty()) return s;
  if (store::NodeEntry m = reads.NodeById(s.manager_id)) s.manager_addr = m->object.manager_addr;
  return s;
}

std::unique_ptr<logbroker::RoutedLogReader> NewRoutedLogReader(logbroker::LogBroker& broker,
                                                               const store::ReadModel& reads,
                                                               const std::string& self,
                                                               const CertificatePaths& certs) {
  auto client = std::make_shared<logbroker::PeerLogClient>(
      [certs] { return LoadCredentials(certs); }, RealClock());
  return std::make_unique<logbroker::RoutedLogReader>(
      self, [&reads](const std::string& node_id) { return SessionOf(reads, node_id); },
      [&broker](const std::string& node_id, const std::string& task_id,
                const api::LogSelector& selector, const std::function<bool()>& cancelled,
                const logbroker::LineSink& sink) {
        return broker.Read(node_id, task_id, selector, cancelled, sink);
      },
      [client](const std::string& addr, const std::string& node_id, const std::string& task_id,
               const api::LogSelector& selector, const std::function<bool()>& cancelled,
               const logbroker::LineSink& sink) {
        return client->Read(addr, node_id, task_id, selector, cancelled, sink);
      },
      RealClock());
}

}  // namespace capsule::node
