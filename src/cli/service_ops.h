// The `capsule service …` operations: thin clients of the Docker services/tasks API that send
// what the docker 20.10 CLI sends and print what it prints. Errors come back as Status whose
// message is the text to show on stderr.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/service_flags.h"
#include "common/status.h"

namespace capsule::cli {

// POST /services/create (secrets resolved by name first); prints the ID, then waits for
// convergence unless flags.detach (see service_progress.h).
Status ServiceCreate(CommandContext& ctx, const ServiceFlags& flags);

// GET /services/{ref}, changes the spec, POST /services/{id}/update?version=N; prints `ref`,
// then waits unless flags.detach.
Status ServiceUpdate(CommandContext& ctx, const std::string& ref, const ServiceFlags& flags);

// `NAME=N ...`: sets Replicas of each (replicated services only), prints "NAME scaled to N",
// then waits for each unless detach. Continues past failures; returns them joined by '\n'.
Status ServiceScale(CommandContext& ctx, const std::vector<std::string>& specs, bool detach);

// DELETE /services/{ref} for each; prints each ref; continues past failures.
Status ServiceRemove(CommandContext& ctx, const std::vector<std::string>& refs);

// GET /services/{ref}?insertDefaults=true for each; one JSON array (4-space indent), or
// docker's --pretty text. Missing → "Error: no such service: X".
Status ServiceInspect(CommandContext& ctx, const std::vector<std::string>& refs, bool pretty);

struct ServiceListOptions {
  bool quiet = false;
  std::vector<std::string> filters;  // "k=v"
  std::string format;
};

// GET /services?status=true[&filters=…]; sorted by name: ID NAME MODE REPLICAS IMAGE PORTS.
Status ServiceList(CommandContext& ctx, const ServiceListOptions& options);

struct ServicePsOptions {
  std::vector<std::string> services;
  bool quiet = false;
  bool no_trunc = false;
  bool no_resolve = false;
  std::vector<std::string> filters;
  std::string format;
};

// Finds the services (full ID, then exact name, then unique ID prefix), then
// GET /tasks?filters={"service":…}; ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR
// PORTS, older tasks of a slot indented " \_ ". Unknown services → "no such service: X".
Status ServicePs(CommandContext& ctx, const ServicePsOptions& options);

struct ServiceLogsOptions {
  std::string target;  // service or task
  bool follow = false;
  bool timestamps = false;
  std::string tail = "all";
  std::string since;
  bool details = false;
  bool raw = false;
  bool no_resolve = false;
  bool no_trunc = false;
  bool no_task_ids = false;
};

// GET /services/{ref}/logs (or /tasks/{ref}/logs when no such service) with details=1,
// demultiplexes Docker's 8-byte-header frames and prints each line as
// "<service>.<slot>.<task id>@<node>    | <line>" (stdout frames to out, stderr to err).
Status ServiceLogs(CommandContext& ctx, const ServiceLogsOptions& options);

}  // namespace capsule::cli
