// Capsule's error type is absl::Status / absl::StatusOr. This header adds the two
// propagation macros every layer uses and a few named constructors that keep call
// sites short. Store errors know nothing about HTTP or gRPC: the mapping to HTTP lives
// in dockerapi/error_table.*.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace capsule {

using absl::Status;
using absl::StatusCode;
using absl::StatusOr;

}  // namespace capsule

#define CAPSULE_CONCAT_INNER_(a, b) a##b
#define CAPSULE_CONCAT_(a, b) CAPSULE_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): evaluates expr (a Status) and returns it from the caller on error.
#define RETURN_IF_ERROR(expr)                           \
  do {                                                  \
    ::absl::Status capsule_status_ = (expr);            \
    if (!capsule_status_.ok()) return capsule_status_;  \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates expr (a StatusOr<T>); on error returns its status,
// otherwise move-assigns the value to lhs (which may be a declaration: `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  CAPSULE_ASSIGN_OR_RETURN_IMPL_(CAPSULE_CONCAT_(capsule_statusor_, __LINE__), lhs, expr)
#define CAPSULE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()
