#include "manager/orchestrator/orchestrator.h"

#include <algorithm>
#include <set>

#include "common/log.h"

namespace capsule::orchestrator {
namespace {

constexpr auto kCatchUpTimeout = std::chrono::seconds(10);
constexpr auto kErrorBackoff = std::chrono::milliseconds(500);

const char* KindName(Write::Kind k) {
  switch (k) {
    case Write::Kind::kCreateTask:
      return "create task";
    case Write::Kind::kUpdateTask:
      return "update task";
    case Write::Kind::kDeleteTask:
      return "delete task";
    case Write::Kind::kUpdateService:
      return "update service";
  }
  return "?";
}

}  // namespace

Orchestrator::Orchestrator(store::Store& store, store::ReadModel& reads, const Clock& clock,
                           OrchestratorOptions options)
    : store_(store), reads_(reads), clock_(clock), options_(options), planner_(clock) {}

Orchestrator::~Orchestrator() { Stop(); }

void Orchestrator::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
    changed_ = true;  // a first pass at once
  }
  subscription_ = reads_.Subscribe([this](int64_t) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      changed_ = true;
    }
    cv_.notify_one();
  });
  thread_ = std::thread([this] { Run(); });
}

void Orchestrator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  reads_.Unsubscribe(subscription_);
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  started_ = false;
}

void Orchestrator::Run() {
  while (true) {
    {
      // Wake for the next change, the next timer the planner knows of, or the tick.
      auto wait = options_.tick;
      const TimePoint wake = planner_.NextWake();
      if (wake != TimePoint::max()) {
        const auto until = std::chrono::ceil<std::chrono::milliseconds>(wake - clock_.Now());
        wait = std::clamp(until, std::chrono::milliseconds(1), options_.tick);
      }
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, wait, [this] { return stopping_ || changed_; });
      if (stopping_) return;
      changed_ = false;
    }
    StatusOr<size_t> pass = RunOnce();
    if (pass.ok()) continue;
    const StatusCode code = pass.status().code();
    if (code == StatusCode::kAborted || code == StatusCode::kNotFound ||
        code == StatusCode::kAlreadyExists) {
      // Someone else changed an object we wrote: plan again from a fresh snapshot.
      spdlog::debug("orchestrator: {}; planning again", pass.status().ToString());
      std::lock_guard<std::mutex> lock(mu_);
      changed_ = true;
      continue;
    }
    spdlog::warn("orchestrator: pass failed: {}", pass.status().ToString());
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kErrorBackoff, [this] { return stopping_; });
  }
}

StatusOr<Snapshot> Orchestrator::TakeSnapshot() {
  // The read model's lists are taken one after another: retry until no change was applied
  // in between, so the snapshot is one revision's state.
  Snapshot snap;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int64_t before = reads_.applied_revision();
    snap.services = reads_.Services();
    snap.tasks = reads_.Tasks();
    snap.nodes = reads_.Nodes();
    snap.networks = reads_.Networks();
    store::ClusterEntry cluster = reads_.GetCluster();
    snap.task_history_retention_limit =
        cluster ? cluster->object.spec.task_history_retention_limit : 5;
    if (reads_.applied_revision() == before) return snap;
  }
  return absl::UnavailableError("the read model keeps changing; try again");
}

StatusOr<size_t> Orchestrator::RunOnce() {
  // Everything written through this store so far, ours included (read-your-writes).
  RETURN_IF_ERROR(reads_.WaitFresh(kCatchUpTimeout));
  ASSIGN_OR_RETURN(Snapshot snap, TakeSnapshot());
  const std::vector<Write> writes = planner_.Plan(snap);
  size_t applied = 0;
  Status s = Apply(writes, &applied);
  if (applied > 0) {
    // Let the next pass see these writes (read-your-writes).
    Status caught_up = reads_.WaitFor(last_written_, kCatchUpTimeout);
    if (s.ok()) s = caught_up;
  }
  if (!s.ok()) return s;
  return applied;
}

store::WriteRequest Orchestrator::Request(const Write& w, int64_t expected) {
  switch (w.kind) {
    case Write::Kind::kCreateTask:
      return {store::WriteRequest::Kind::kCreate,
              {kTasksKind, w.task.id, ""},
              0,
              {EncodeTaskMeta(w.task), {}},
              {}};
    case Write::Kind::kUpdateTask:
      return {store::WriteRequest::Kind::kUpdate,
              {kTasksKind, w.task.id, ""},
              expected,
              {EncodeTaskMeta(w.task), {}},
              {}};
    case Write::Kind::kDeleteTask:
      return {store::WriteRequest::Kind::kDelete, {kTasksKind, w.task.id, ""}, expected, {}, {}};
    case Write::Kind::kUpdateService:
      return {store::WriteRequest::Kind::kUpdate,
              {kServicesKind, w.service.id, w.service.spec.name},
              expected,
              {EncodeServiceMeta(w.service), {}},
              {}};
  }
  return {};
}

Status Orchestrator::Apply(const std::vector<Write>& writes, size_t* applied) {
  // Creates (and writes that expect a create's revision) go last, and only if every other
  // write of the pass applied: a replacement is never created while the task it replaces
  // could not be shut down (the pass's writes list the shutdown first; one write at a time,
  // a failure stopped the pass before the create).
  std::vector<bool> last(writes.size(), false);
  std::vector<size_t> order;
  order.reserve(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    last[i] = writes[i].kind == Write::Kind::kCreateTask ||
              (writes[i].after >= 0 && last[writes[i].after]);
    if (!last[i]) order.push_back(i);
  }
  const size_t first_of_last = order.size();
  for (size_t i = 0; i < writes.size(); ++i) {
    if (last[i]) order.push_back(i);
  }

  std::vector<int64_t> revisions(writes.size(), 0);
  size_t begin = 0;
  while (begin < order.size()) {
    // One WriteBatch: up to the end of this group, or to the first write that expects the
    // revision of a write in this batch (it goes in the next one, with that revision known).
    const size_t group_end = begin < first_of_last ? first_of_last : order.size();
    std::set<size_t> in_batch;
    size_t end = begin;
    while (end < group_end &&
           (writes[order[end]].after < 0 || in_batch.count(writes[order[end]].after) == 0)) {
      in_batch.insert(order[end]);
      ++end;
    }
    std::vector<store::WriteRequest> batch;
    batch.reserve(end - begin);
    for (size_t k = begin; k < end; ++k) {
      const Write& w = writes[order[k]];
      batch.push_back(Request(w, w.after >= 0 ? revisions[w.after] : w.expected_revision));
    }
    std::vector<StatusOr<int64_t>> results = store_.WriteBatch(std::move(batch));
    Status first_error;
    for (size_t k = begin; k < end; ++k) {
      const Write& w = writes[order[k]];
      const StatusOr<int64_t>& rev = results[k - begin];
      const std::string& id = w.kind == Write::Kind::kUpdateService ? w.service.id : w.task.id;
      if (!rev.ok()) {
        if (first_error.ok()) {
          first_error = Status(rev.status().code(), std::string(KindName(w.kind)) + " " + id +
                                                        ": " + std::string(rev.status().message()));
        }
        continue;
      }
      revisions[order[k]] = *rev;
      last_written_ = std::max(last_written_, *rev);
      ++*applied;
      spdlog::debug("orchestrator: {} {} (service {}, slot {}, node {}, desired {}, state {})",
                    KindName(w.kind), id,
                    w.kind == Write::Kind::kUpdateService ? w.service.id : w.task.service_id,
                    w.task.slot, w.task.node_id, TaskStateName(w.task.desired_state),
                    TaskStateName(w.task.status.state));
    }
    if (!first_error.ok()) return first_error;
    begin = end;
  }
  return absl::OkStatus();
}

}  // namespace capsule::orchestrator
