// GET /services/{id}/logs and /tasks/{id}/logs: the lines of this node's tasks in Docker's
// log stream format (log_frames.h). Tasks running on other nodes are not served yet: their
// logs live on those nodes.
#include <mutex>
#include <thread>

#include "common/go_time.h"
#include "manager/controlapi/resolve.h"
#include "manager/dockerapi/error_table.h"
#include "manager/dockerapi/log_frames.h"
#include "manager/dockerapi/route_helpers.h"
#include "manager/dockerapi/routes.h"

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

StatusOr<std::vector<LogTarget>> ServiceTasks(const store::ReadModel& reads,
                                              const std::string& ref) {
  store::ServiceEntry service = reads.ServiceById(ref);
  if (!service) service = reads.ServiceByName(ref);
  if (!service) {
    ASSIGN_OR_RETURN(
        service, controlapi::UniqueIdPrefix(reads.Services(), "service", ref,
                                            absl::NotFoundError("service " + ref + " not found")));
  }
  std::vector<LogTarget> out;
  for (const store::TaskEntry& t : reads.TasksOfService(service->object.id)) {
    out.push_back({t->object.id, t->object.service_id, t->object.node_id});
  }
  return out;
}

StatusOr<std::vector<LogTarget>> OneTask(const store::ReadModel& reads, const std::string& ref) {
  store::TaskEntry task = reads.TaskById(ref);
  if (!task) {
    ASSIGN_OR_RETURN(task,
                     controlapi::UniqueIdPrefix(reads.Tasks(), "task", ref,
                                                absl::NotFoundError("task " + ref + " not found")));
  }
  return std::vector<LogTarget>{{task->object.id, task->object.service_id, task->object.node_id}};
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
  agent::LogQuery query;
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
  const store::ReadModel& reads = *(*mgr)->reads;
  if (Status fresh = reads.WaitFresh(); !fresh.ok()) return ErrorResponse(fresh);
  const std::string& ref = params.at("id");
  StatusOr<std::vector<LogTarget>> targets =
      service ? ServiceTasks(reads, ref) : OneTask(reads, ref);
  if (!targets.ok()) return ErrorResponse(targets.status());

  if (!out.Begin(200, {{"Content-Type", ContentType(params)}})) return Response{};
  const agent::TaskLogs* logs = backend.Logs();
  if (logs == nullptr) return Response{};
  query.cancelled = [&out] { return out.ClientGone(); };

  std::mutex write_mu;
  bool client_ok = true;
  auto read_one = [&](const LogTarget& t) {
    LogFrameOptions opts = frame;
    if (details) opts.details = SwarmLogDetails(t.node_id, t.service_id, t.task_id);
    Status st = logs->Read(t.task_id, query, [&](const agent::LogLine& line) {
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
