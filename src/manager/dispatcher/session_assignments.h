// What one session has been sent, and the diff that brings it up to date: the node's tasks
// (by version) plus exactly the secrets referenced by its tasks in ASSIGNED…RUNNING, each sent
// once however many tasks share it and withdrawn when no such task is left (configs travel the
// same way, as AssignedSecret items under their own IDs, and so do the registry credentials
// of the services of those tasks, under Service::pull_auth_id). The first Next()
// sends the complete set. Not thread-safe: one dispatcher thread owns each instance.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "capsule/dispatcher.pb.h"
#include "manager/dispatcher/assignment_source.h"

namespace capsule::dispatcher {

// Seals a secret's data for the session (secret ID, plaintext) → sealed bytes.
using SecretSealer =
    std::function<StatusOr<std::string>(const std::string& secret_id, const SecretBytes& data)>;

class SessionAssignments {
 public:
  // Fills `out` with the changes since the last call and returns whether there is anything to
  // send (always true the first time). A secret that cannot be read or sealed now is left out
  // (and not recorded as sent); *retry is then set so the caller tries again later. Never
  // logs secret data.
  bool Next(const std::vector<store::TaskEntry>& tasks, AssignmentSource& source,
            const SecretSealer& seal, api::AssignmentChanges* out, bool* retry);

  const std::set<std::string>& sent_secrets() const { return secrets_; }
  const std::map<std::string, int64_t>& sent_tasks() const { return tasks_; }

 private:
  bool sent_full_ = false;
  std::map<std::string, int64_t> tasks_;           // task ID → version sent
  std::map<std::string, std::string> task_auths_;  // task ID → registry credentials ID sent
  std::set<std::string> secrets_;                  // secret IDs sent (and not withdrawn)
};

}  // namespace capsule::dispatcher
