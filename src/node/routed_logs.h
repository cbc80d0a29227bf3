// The manager's routed task-log reader (manager/logbroker/routed_log_reader.h) wired to this
// manager: node sessions are looked up in the read model (Node::session_manager, and that
// manager's ManagerStatus.Addr), local reads go to this manager's LogBroker, peer reads go
// through LogPeer with this manager's certificate files (re-read on every peer read, so a
// renewed certificate or rotated root is used at once; an autolocked manager's key is read
// from its identity tmpfs like every other reader's: node/identity_vault.h).
#pragma once

#include <memory>
#include <string>

#include "manager/logbroker/log_broker.h"
#include "manager/logbroker/routed_log_reader.h"
#include "node/certificates.h"
#include "store/read_model.h"

namespace capsule::node {

// `broker` and `reads` must outlive the reader.
std::unique_ptr<logbroker::RoutedLogReader> NewRoutedLogReader(logbroker::LogBroker& broker,
                                                               const store::ReadModel& reads,
                                                               const std::string& self,
                                                               const CertificatePaths& certs);

// Where the read model says `node_id`'s session is.
logbroker::NodeSession SessionOf(const store::ReadModel& reads, const std::string& node_id);

}  // namespace capsule::node
