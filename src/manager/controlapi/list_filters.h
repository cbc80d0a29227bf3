// What the list calls of the control API filter on: plain values, as the engine hands them
// over after parsing Docker's `filters` query (dockerapi parses; controlapi matches). In
// every struct an empty list means "no filtering on this field"; the values of one field are
// OR'ed and the fields AND'ed — except labels, whose values must all match (Docker's
// Args.MatchKVList). Every member is initialised, so designated initializers may name only
// the fields they set. Pure functions; no store access.
#pragma once

#include <string>
#include <vector>

#include "objects/objects.h"

namespace capsule::controlapi {

// GET /secrets: `names`, `name`, `id`, `label`.
struct SecretFilters {
  std::vector<std::string> names{};          // exact names, case-insensitively
  std::vector<std::string> name_prefixes{};  // case-insensitively
  std::vector<std::string> id_prefixes{};
  std::vector<std::string> labels{};  // "key" or "key=value"
};

// GET /services: `id`, `name`, `label`, `mode`, `runtime`.
struct ServiceFilters {
  std::vector<std::string> id_prefixes{};
  std::vector<std::string> name_prefixes{};  // case-insensitively; given → listed in name order
  std::vector<std::string> labels{};
  std::vector<std::string> modes{};     // "replicated" | "global"
  std::vector<std::string> runtimes{};  // only "container" matches (every service is one)
};

// GET /nodes: `id`, `name`, `role`, `membership`, `label`, `node.label`.
struct NodeFilters {
  std::vector<std::string> id_prefixes{};
  std::vector<std::string> name_prefixes{};  // of the hostname or the spec name
  std::vector<std::string> roles{};
  std::vector<std::string> memberships{};  // only "accepted" matches (every node is)
  std::vector<std::string> labels{};       // `label`: the node's labels
  std::vector<std::string> node_labels{};  // `node.label`: the same labels
};

// GET /tasks: `name`, `id`, `service`, `node`, `desired-state`, `label`, `_up-to-date`,
// `runtime`.
struct TaskFilters {
  std::vector<std::string> name_prefixes{};  // of "<service>.<slot>.<id>"
  std::vector<std::string> id_prefixes{};
  std::vector<std::string> services{};        // references: ID, name or unique ID prefix
  std::vector<std::string> nodes{};           // references: ID, hostname or unique ID prefix
  std::vector<std::string> desired_states{};  // "running", "shutdown", ... ("" is ignored)
  std::vector<std::string> labels{};          // matched against the task's service's labels
  bool up_to_date = false;                    // only tasks made from their service's spec
  std::vector<std::string> runtimes{};        // only "container" matches
};

// Docker's Args.MatchKVList: true when `filters` is empty; else every "key" or "key=value"
// must match, and an object without labels never matches.
bool MatchLabels(const std::vector<std::string>& filters, const Labels& labels);

// True when `prefixes` is empty or `s` starts with one of them.
bool MatchAnyPrefix(const std::vector<std::string>& prefixes, const std::string& s);

// True when `values` is empty or holds `v`.
bool MatchAny(const std::vector<std::string>& values, const std::string& v);

}  // namespace capsule::controlapi
