// Splits one assignment change into parts that each stay under a byte budget, so a node whose
// tasks need more secrets than fit in one gRPC message (16 MiB at the node) still gets them
// (api/capsule/dispatcher.proto, AssignmentChanges.more). Every part carries the change's
// full_set; all parts but the last have more = true. Appending the parts' repeated fields in
// order gives back the change (agent/assignment_assembler.h does that at the node). Items
// keep their order; an item larger than the budget travels alone in a part of its own (a
// secret is at most 500 KB, so with the default budget this never happens). Pure function.
#pragma once

#include <cstddef>
#include <vector>

#include "capsule/dispatcher.pb.h"

namespace capsule::dispatcher {

// Half the node's 16 MiB receive limit: room for the envelope with a wide margin.
inline constexpr size_t kAssignmentPartBudget = 8 << 20;

// `changes` is consumed (its items are moved into the parts). Always at least one part.
std::vector<api::AssignmentChanges> SplitAssignments(api::AssignmentChanges changes,
                                                     size_t budget = kAssignmentPartBudget);

}  // namespace capsule::dispatcher
