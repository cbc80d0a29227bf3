// Where a manager's key-wrapping key lives on disk (see crypto/autolock_box.h):
//   <data-root>/swarm/kek       without autolock: the KEK itself (0600)
//   <data-root>/swarm/autolock  with autolock: the KEK sealed under the unlock key (0600)
// A manager is locked at start when the box exists and the KEK file does not. Both present
// means a switch was interrupted by a crash: the KEK file wins and the manager starts
// unlocked, then finishes the switch as the cluster spec says (manager_autolock.cc).
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::node {

std::string KekFilePath(const std::string& data_root);
std::string AutolockBoxPath(const std::string& data_root);

// Whether a manager on this data root must start locked (rules above).
StatusOr<bool> StartsLocked(const std::string& data_root);

// Removes `path` if present and fsyncs its directory. Errors name the path.
Status RemoveFileDurably(const std::string& path);

}  // namespace capsule::node
