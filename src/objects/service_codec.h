// The store encoding (Meta, see store/record.h) of services and tasks. It is their API JSON
// (service_json.h) without Version — Version.Index is the etcd mod_revision, supplied when
// rendering — plus the fields that are stored but never rendered (SpecVersion,
// PreviousSpecVersion), so one parser and one renderer serve both. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "objects/service_model.h"

namespace capsule {

// Decode errors are DataLoss ("stored service object is malformed[: <why>]"): stored data is
// ours.
std::string EncodeServiceMeta(const Service& s);
StatusOr<Service> DecodeServiceMeta(std::string_view meta);
std::string EncodeTaskMeta(const Task& t);
StatusOr<Task> DecodeTaskMeta(std::string_view meta);

}  // namespace capsule
