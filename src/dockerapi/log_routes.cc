// GET /services/{id}/logs and /tasks/{id}/logs: the lines of this node's tasks in Docker's
// log stream format (log_frames.h). Tasks running on other nodes are not served yet: their
// logs live on those nodes.
#include <mutex>
#include <thread>

#include "common/go_time.h"
#include "dockerapi/error_table.h"
#include "dockerapi/log_frames.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "manager/controlapi/task.h"

namespace capsule::dockerapi {
namespace {

using http::BodyReader;
using http::Params;
using http::Request;
using http::Response;
using http::ResponseStream;

struct LogTarget {
  std::string task_id;
  std::string service_id;
  std::string node_id;
};

LogTarget TargetOf(const store::TaskEntry& t) {
  return {t->object.id, t->object.service_id, t->object.node_id};
}

StatusOr<std::vector<LogTarget>> Targets(const controlapi::TaskApi& tasks, const std::string& ref,
                                         bool service) {
  std::vector<LogTarget> out;
  if (!service) {
    ASSIGN_OR_RETURN(store::TaskEntry task, tasks.ResolveById(ref));
    out.push_back(TargetOf(task));
    return out;
  }
  ASSIGN_OR_RETURN(std::vector<store::TaskEntry> of_service, tasks.TasksOfService(ref));
  for (const store::TaskEntry& t : of_service) out.push_back(TargetOf(t));
  return out;
}

// API >= 1.42 names the multiplexed format; older versions (ours: 1.41) call it raw-stream.
std::string ContentType(const Params& params) {
  auto v = params.find("__version");
  int major = 1, minor = 41;
  if (v != params.end()) std::sscanf(v->second.c_str(), "%d.%d", &major, &minor);
  return major > 1 || minor >= 42 ? "application/vnd.docker.multiplexed-stream"
                                  : "application/vnd.docker.raw-stream";
}

Response Logs(Backend& backend, const Request& req, const Params& params, ResponseStream& out,
              bool service) {
  LogQuery query;
  query.stdout_lines = BoolQuery(req, "stdout");
  query.stderr_lines = BoolQuery(req, "stderr");
  if (!query.stdout_lines && !query.stderr_lines) {
    return ErrorResponse(
        absl::InvalidArgumentError("Bad parameters: you must choose at least one stream"));
  }
  query.follow = BoolQuery(req, "follow");
  if (auto since = req.query.find("since"); since != req.query.end() && !since->second.empty()) {
    StatusOr<TimePoint> t = ParseDockerTimestamp(since->second, RealClock().Now());
    if (!t.ok()) return ErrorResponse(t.status());
    query.since = *t;
  }
  if (auto tail = req.query.find("tail"); tail != req.query.end()) {
    uint64_t n = 0;
    if (ParseUint64(tail->second, &n)) query.tail = static_cast<size_t>(n);
  }
  LogFrameOptions frame;
  frame.timestamps = BoolQuery(req, "timestamps");
  const bool details = BoolQuery(req, "details");

  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<std::vector<LogTarget>> targets = Targets(*(*mgr)->tasks, params.at("id"), service);
  if (!targets.ok()) return ErrorResponse(targets.status());

  if (!out.Begin(200, {{"Content-Type", ContentType(params)}})) return Response{};
  const TaskLogSource* logs = backend.Logs();
  if (logs == nullptr) return Response{};
  query.cancelled = [&out] { return out.ClientGone(); };

  std::mutex write_mu;
  bool client_ok = true;
  auto read_one = [&](const LogTarget& t) {
    LogFrameOptions opts = frame;
    if (details) opts.details = SwarmLogDetails(t.node_id, t.service_id, t.task_id);
    Status st = logs->Read(t.task_id, query, [&](const LogLine& line) {
      const std::string bytes = LogFrame(line, opts);
      std::lock_guard<std::mutex> lock(write_mu);
      if (client_ok) client_ok = out.Write(bytes) && !out.ClientGone();
      return client_ok;
    });
    // NotFound: the task runs on another node (or has not started yet): nothing to send.
    (void)st;
  };
  if (!query.follow || targets->size() == 1) {
    for (const LogTarget& t : *targets) read_one(t);
    return Response{};
  }
  // Following several tasks: one reader each, their lines interleaved as they come.
  std::vector<std::thread> readers;
  for (const LogTarget& t : *targets) readers.emplace_back(read_one, t);
  for (std::thread& r : readers) r.join();
  return Response{};
}

}  // namespace

void RegisterLogRoutes(http::Router& router, Backend& backend) {
  AddStreamRoute(router, "GET", "/services/{id}/logs",
                 [&backend](const Request& r, const Params& p, BodyReader&, ResponseStream& out) {
                   return Logs(backend, r, p, out, true);
                 });
  AddStreamRoute(router, "GET", "/tasks/{id}/logs",
                 [&backend](const Request& r, const Params& p, BodyReader&, ResponseStream& out) {
                   return Logs(backend, r, p, out, false);
                 });
}

}  // namespace capsule::dockerapi
