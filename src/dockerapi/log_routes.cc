// GET /services/{id}/logs and /tasks/{id}/logs: the lines of every task of the service (or
// the one task), on every node, in Docker's log stream format (log_frames.h). A task on this
// node is read from its local log (Backend::Logs); a task on another node through the
// manager's log broker (ManagerServices::remote_logs: the node's agent reads its local log and
// streams the lines over its session). A node that is down or not listening yields nothing,
// one that stops sending yields what it sent (without follow the broker's wait is bounded);
// with follow, its tasks end when its stream ends. Tasks are read one after the other without
// follow; with follow each on its own thread, lines interleaved as they come, and the
// service's tasks are polled so tasks that start running after the call began are followed
// too. `tail` applies per task, as in Docker.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
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

// How often a service's tasks are listed again while following.
constexpr std::chrono::seconds kFollowTaskPoll{1};

struct LogTarget {
  std::string task_id;
  std::string service_id;
  std::string node_id;
  TaskState state = TaskState::kNew;
};

LogTarget TargetOf(const store::TaskEntry& t) {
  return {t->object.id, t->object.service_id, t->object.node_id, t->object.status.state};
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
  const RemoteTaskLogSource* remote = (*mgr)->remote_logs;
  const std::string& local_node = (*mgr)->node_id;
  query.cancelled = [&out] { return out.ClientGone(); };

  std::mutex write_mu;
  bool client_ok = true;
  auto read_one = [&](const LogTarget& t) {
    LogFrameOptions opts = frame;
    if (details) opts.details = SwarmLogDetails(t.node_id, t.service_id, t.task_id);
    auto sink = [&](const LogLine& line) {
      const std::string bytes = LogFrame(line, opts);
      std::lock_guard<std::mutex> lock(write_mu);
      if (client_ok) client_ok = out.Write(bytes) && !out.ClientGone();
      return client_ok;
    };
    // NotFound/Unavailable: the task has no log yet, or its node cannot send: nothing to send.
    if (t.node_id.empty()) return;
    if (t.node_id != local_node && remote != nullptr) {
      (void)remote->Read(t.node_id, t.task_id, query, sink);
    } else if (logs != nullptr) {
      (void)logs->Read(t.task_id, query, sink);
    }
  };
  if (!query.follow || !service) {
    for (const LogTarget& t : *targets) read_one(t);
    return Response{};
  }
  // Following a service: one reader per task, and the service's tasks listed again every
  // kFollowTaskPoll while any reader runs, so a task that starts running later is followed too.
  std::vector<std::thread> readers;
  std::set<std::string> started;
  std::mutex done_mu;
  std::condition_variable done_cv;
  int running = 0;
  auto start = [&](const LogTarget& t) {
    started.insert(t.task_id);
    std::lock_guard<std::mutex> lock(done_mu);
    ++running;
    readers.emplace_back([&, t] {
      read_one(t);
      std::lock_guard<std::mutex> l(done_mu);
      --running;
      done_cv.notify_all();
    });
  };
  for (const LogTarget& t : *targets) start(t);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(done_mu);
      RealClock().WaitFor(done_cv, lock, kFollowTaskPoll, [&] { return running == 0; });
      if (running == 0) break;
    }
    if (out.ClientGone()) break;  // the readers see it too and end
    StatusOr<std::vector<LogTarget>> now = Targets(*(*mgr)->tasks, params.at("id"), true);
    if (!now.ok()) continue;
    for (const LogTarget& t : *now) {
      if (started.count(t.task_id) > 0 || t.state < TaskState::kRunning) continue;
      if (IsTerminal(t.state) && t.state != TaskState::kComplete) continue;
      start(t);
    }
  }
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
