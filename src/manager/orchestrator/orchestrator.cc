#include "manager/orchestrator/orchestrator.h"

#include <algorithm>

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

Status Orchestrator::Apply(const std::vector<Write>& writes, size_t* applied) {
  std::vector<int64_t> revisions(writes.size(), 0);
  for (size_t i = 0; i < writes.size(); ++i) {
    const Write& w = writes[i];
    const int64_t expected = w.after >= 0 ? revisions[w.after] : w.expected_revision;
    StatusOr<int64_t> rev = absl::InternalError("unknown write");
    switch (w.kind) {
      case Write::Kind::kCreateTask:
        rev = store_.Create({kTasksKind, w.task.id, ""}, {EncodeTaskMeta(w.task), {}});
        break;
      case Write::Kind::kUpdateTask:
        rev = store_.Update({kTasksKind, w.task.id, ""}, expected, {EncodeTaskMeta(w.task), {}});
        break;
      case Write::Kind::kDeleteTask:
        rev = store_.Delete({kTasksKind, w.task.id, ""}, expected);
        break;
      case Write::Kind::kUpdateService:
        rev = store_.Update({kServicesKind, w.service.id, w.service.spec.name}, expected,
                            {EncodeServiceMeta(w.service), {}});
        break;
    }
    if (!rev.ok()) {
      return Status(rev.status().code(),
                    std::string(KindName(w.kind)) + " " +
                        (w.kind == Write::Kind::kUpdateService ? w.service.id : w.task.id) + ": " +
                        std::string(rev.status().message()));
    }
    revisions[i] = *rev;
    last_written_ = std::max(last_written_, *rev);
    ++*applied;
    spdlog::debug(
        "orchestrator: {} {} (service {}, slot {}, node {}, desired {}, state {})",
        KindName(w.kind), w.kind == Write::Kind::kUpdateService ? w.service.id : w.task.id,
        w.kind == Write::Kind::kUpdateService ? w.service.id : w.task.service_id, w.task.slot,
        w.task.node_id, TaskStateName(w.task.desired_state), TaskStateName(w.task.status.state));
  }
  return absl::OkStatus();
}

}  // namespace capsule::orchestrator
