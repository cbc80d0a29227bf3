// Placement constraints, as swarmkit parses and matches them:
//   "<key> == <value>" or "<key> != <value>" (spaces around the parts are trimmed).
// Keys: node.id, node.hostname, node.role, node.ip, node.platform.os, node.platform.arch,
// node.labels.<label> (keys compared case-insensitively; the label name itself exactly).
// Values match case-insensitively. A missing label matches "" (so `!=` passes).
// Unknown keys never match. Parse errors carry swarmkit's messages, so controlapi can use
// ParseConstraints to validate a service spec. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "objects/objects.h"

namespace capsule::scheduler {

struct Constraint {
  enum class Op { kEq, kNotEq };
  std::string key;
  Op op = Op::kEq;
  std::string value;
};

// InvalidArgument: "constraint expected one operator from ==, !=", "key 'k' is invalid",
// "value 'v' is invalid".
StatusOr<std::vector<Constraint>> ParseConstraints(const std::vector<std::string>& exprs);

bool ConstraintMatches(const Constraint& c, const Node& node);
bool NodeMatches(const std::vector<Constraint>& constraints, const Node& node);

}  // namespace capsule::scheduler
