#include "agent/task_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/config_files.h"
#include "agent/secret_templating.h"
#include "agent/spec_templating.h"
#include "objects/secret_refresh.h"
#include "objects/secret_versions.h"

namespace capsule::agent {
namespace {

std::atomic<int> abandoned_calls{0};

}  // namespace

StatusOr<uint32_t> ParseId(const std::string& s, const char* what) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid secret ", what, " \"", s, "\""));
  }
  return v;
}

// One task's thread. It wakes on a change or every poll interval and takes one step towards
// what the assignment asks.
class TaskWorker::Runner {
 public:
  // adopted: the executor already had this task when the worker started.
  Runner(TaskWorker& w, TaskAssignment a, bool adopted)
      : w_(w),
        id_(a.task.id),
        task_(std::move(a.task)),
        service_(std::move(a.service)),
        adopted_(adopted) {
    thread_ = std::thread([this] { Run(); });
  }
  // A task the executor has that nobody assigned: torn down at once.
  Runner(TaskWorker& w, std::string orphan_id) : w_(w), id_(std::move(orphan_id)) {
    removed_ = true;
    adopted_ = true;
    thread_ = std::thread([this] { Run(); });
  }
  ~Runner() { Join(); }

  void Update(Task task, TaskService service) {
    {
      MutexLock lock(mu_);
      task_ = std::move(task);
      service_ = std::move(service);
      dirty_ = true;
    }
    cv_.notify_all();
  }
  void MarkRemoved() {
    {
      MutexLock lock(mu_);
      removed_ = true;
    }
    cv_.notify_all();
  }
  void RequestStop() {
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }
  void Join() {
    RequestStop();
    if (thread_.joinable()) thread_.join();
  }
  bool done() const {
    MutexLock lock(mu_);
    return done_;
  }

  // Waits (on `clock`, until `deadline`) for r's thread to end: true then (join it). A thread
  // still inside an executor call at the deadline is abandoned: false, and the runner now
  // belongs to its own thread, which ends once the call returns, never touching the worker
  // again. A thread between calls is waited for past the deadline (it is about to end or to
  // enter a call; neither takes long).
  static bool EndOrAbandon(std::unique_ptr<Runner>& r, const Clock& clock, SteadyTime deadline) {
    Runner& me = *r;
    MutexLock lock(me.mu_);
    for (;;) {
      if (clock.WaitUntil(me.cv_, lock.native(), deadline,
                          [&me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(me.mu_) { return me.done_; })) {
        return true;
      }
      if (me.in_call_) break;
      me.cv_.wait(lock.native(), [&me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(me.mu_) {
        return me.done_ || me.in_call_;
      });
      if (me.done_) return true;
    }
    spdlog::warn("task {}: still busy in the executor after the stop timeout; not waiting for it",
                 me.id_);
    me.thread_.detach();
    me.abandoned_ = true;
    me.self_ = std::move(r);
    abandoned_calls.fetch_add(1);
    return false;
  }

 private:
  // Runs one executor call. The worker is not touched while it runs, so Stop() may abandon the
  // runner meanwhile: then (and for every later call) the result is Cancelled, gone_ is set,
  // and the runner ends without touching the worker again.
  template <typename F>
  auto Call(F f) -> decltype(f(std::declval<Executor&>())) {
    Executor* executor;
    {
      MutexLock lock(mu_);
      if (abandoned_) {
        gone_ = true;
        return absl::CancelledError("the agent stopped");
      }
      in_call_ = true;
      executor = &w_.executor_;
    }
    cv_.notify_all();
    auto result = f(*executor);
    {
      MutexLock lock(mu_);
      in_call_ = false;
      gone_ = abandoned_;
    }
    cv_.notify_all();
    return result;
  }

  void Run() {
    std::unique_ptr<Runner> self;  // set once abandoned: this thread then owns the runner
    bool first = true;
    while (true) {
      Task task;
      TaskService service;
      bool removed;
      {
        MutexLock lock(mu_);
        if (abandoned_) break;
        if (!first) {
          w_.clock_.WaitFor(cv_, lock.native(), w_.options_.poll_interval,
                            [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                              return stopping_ || dirty_ || removed_;
                            });
        }
        first = false;
        if (stopping_ && !removed_) break;
        dirty_ = false;
        removed = removed_;
        task = task_;
        service = service_;
      }
      if (removed) {
        Teardown();
        break;
      }
      Step(task, service);
    }
    {
      MutexLock lock(mu_);
      done_ = true;
      if (abandoned_) {
        self = std::move(self_);
        abandoned_calls.fetch_sub(1);
      }
    }
    cv_.notify_all();
  }  // an abandoned runner is destroyed here, by its own thread (detached: nothing to join)

  void Report(TaskState state, std::string message, std::string err = "",
              std::optional<ContainerStatus> container = std::nullopt) {
    if (gone_) return;            // abandoned: the worker may be gone
    if (state <= state_) return;  // the manager has it already (or a later state)
    state_ = state;
    TaskStatus s;
    s.timestamp = w_.clock_.Now();
    s.state = state;
    s.message = std::move(message);
    s.err = std::move(err);
    s.container = std::move(container);
    if (!s.container && last_container_) s.container = last_container_;
    spdlog::info("task {}: {}{}{}", id_, TaskStateName(state), s.err.empty() ? "" : ": ", s.err);
    w_.status_.Enqueue({id_, std::move(s)});
  }

  // Everything the executor holds for the task goes (container, tmpfs, bundle, logs).
  void Teardown() {
    if (has_container_ || adopted_) {
      Status s = Call([&](Executor& e) { return e.Stop(id_); });
      if (gone_) return;
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        spdlog::warn("task {}: stop failed: {}", id_, s.ToString());
      }
    }
    Status s = Call([&](Executor& e) { return e.Remove(id_); });
    if (gone_) return;
    if (!s.ok()) spdlog::warn("task {}: remove failed: {}", id_, s.ToString());
    s = Call([&](Executor& e) { return e.RemoveLogs(id_); });
    if (gone_) return;
    if (!s.ok()) spdlog::warn("task {}: removing logs failed: {}", id_, s.ToString());
    has_container_ = false;
  }

  // Deletes the container and unmounts the secrets of a task that reached a terminal state.
  void RemoveContainer() {
    if (!has_container_) return;
    // E.g. an adopted task the manager already marked terminal (orphaned) still runs.
    StatusOr<RunStatus> rs = Call([&](Executor& e) { return e.Inspect(id_); });
    if (rs.ok() && rs->state == RunStatus::State::kRunning) {
      Status s = Call([&](Executor& e) { return e.Stop(id_); });
      if (!s.ok() && !gone_) spdlog::warn("task {}: stop failed: {}", id_, s.ToString());
    }
    Status s = Call([&](Executor& e) { return e.Remove(id_); });
    if (gone_) return;
    if (!s.ok()) {
      spdlog::warn("task {}: remove failed: {}", id_, s.ToString());
      return;  // tried again next step
    }
    has_container_ = false;
  }

  // The adopted container's state, once (after a capsuled restart).
  void Adopt() {
    adopted_ = false;
    StatusOr<RunStatus> rs = Call([&](Executor& e) { return e.Inspect(id_); });
    if (!rs.ok()) return;
    has_container_ = true;
    if (rs->state == RunStatus::State::kCreated) {
      // Prepared but never started: start over from a clean slate.
      RemoveContainer();
      return;
    }
    started_ = true;
    last_container_ = ContainerStatus{rs->container_id, rs->pid, 0};
    spdlog::info("task {}: re-adopted its container", id_);
  }

  void Step(const Task& task, const TaskService& service) {
    if (adopted_) Adopt();
    state_ = std::max(state_, task.status.state);
    if (task.desired_state > TaskState::kRunning) {
      if (!IsTerminal(state_)) {
        if (has_container_) {
          Status s = Call([&](Executor& e) { return e.Stop(id_); });
          if (!s.ok() && !gone_) spdlog::warn("task {}: stop failed: {}", id_, s.ToString());
        }
        Report(TaskState::kShutdown, "shutdown");
      }
      RemoveContainer();
      return;
    }
    if (IsTerminal(state_)) {
      RemoveContainer();
      return;
    }
    if (state_ < TaskState::kAssigned) return;  // not this node's to run yet
    if (!started_) {
      if (state_ == TaskState::kRunning) {
        // The manager thinks it runs, but this node has no container for it.
        Report(TaskState::kFailed, "started", "task: container is gone");
        return;
      }
      if (!has_container_ && !start_error_ && !PrepareTask(task, service)) return;
      // Prepared (READY). It starts only when the manager says so: a replacement waits out
      // its restart delay, and in a stop-first update the task it replaces stops first.
      if (task.desired_state != TaskState::kRunning) return;
      StartTask();
      return;
    }
    if (!task.secret_refresh.empty()) RefreshSecrets(task, service);
    Poll();
  }

  // Live refresh (objects/secret_refresh.h): each refreshed secret whose version (delivery ID)
  // differs from the one in the task's tmpfs is swapped in place and the task signalled
  // (Executor::RefreshSecret). A version not delivered yet is tried again at the next step.
  // After a capsuled restart nothing is known to be in place: the executor then compares
  // contents and swaps (and signals) only what differs.
  void RefreshSecrets(const Task& task, const TaskService& service) {
    for (const SecretReference& ref : task.spec.container.secrets) {
      auto policy = task.secret_refresh.find(ref.secret_id);
      if (policy == task.secret_refresh.end()) continue;
      const int64_t version = PinnedVersion(task.secret_versions, ref.secret_id);
      const std::string cache_id = DeliveryId(ref.secret_id, version);
      auto in_place = in_place_.find(ref.target);
      if (in_place != in_place_.end() && in_place->second == cache_id) continue;
      std::shared_ptr<const SecretBytes> data = w_.secrets_.Get(cache_id);
      if (!data) continue;  // on its way
      StatusOr<uint32_t> uid = ParseId(ref.uid, "uid");
      StatusOr<uint32_t> gid = ParseId(ref.gid, "gid");
      if (!uid.ok() || !gid.ok()) continue;  // the task was prepared with them: not reached
      if (std::optional<std::string> driver = w_.secrets_.TemplatingOf(cache_id)) {
        StatusOr<SecretBytes> expanded = ExpandTemplatedPayload(
            "secret", ref.secret_id, *driver, *data, PayloadTaskContext(task, service),
            TaskSecretLookup(w_.secrets_, task), TaskConfigLookup(w_.secrets_, task));
        if (!expanded.ok()) {
          spdlog::warn("task {}: secret {} version {} not refreshed: {}", id_, ref.secret_name,
                       version, expanded.status().ToString());
          in_place_[ref.target] = cache_id;  // not again for this version
          continue;
        }
        data = std::make_shared<const SecretBytes>(*std::move(expanded));
      }
      const SecretFile file{ref.secret_id, ref.target, *uid, *gid, ref.mode, data.get()};
      const int signal = RefreshSignal(policy->second);
      StatusOr<bool> swapped =
          Call([&](Executor& e) { return e.RefreshSecret(id_, file, signal); });
      if (gone_) return;
      data.reset();  // the old version's bytes go with the cache entry the dispatcher withdraws
      if (!swapped.ok()) {
        spdlog::warn("task {}: secret {} version {} not refreshed: {}", id_, ref.secret_name,
                     version, swapped.status().ToString());
        // A layout or target that cannot be refreshed will not become one: not again.
        if (absl::IsFailedPrecondition(swapped.status()) ||
            absl::IsInvalidArgument(swapped.status()) || absl::IsUnimplemented(swapped.status())) {
          in_place_[ref.target] = cache_id;
        }
        continue;
      }
      in_place_[ref.target] = cache_id;
      if (*swapped) {
        spdlog::info("task {}: secret {} refreshed to version {}{}", id_, ref.secret_name, version,
                     signal == 0 ? "" : absl::StrCat(", signal ", signal));
      }
    }
  }

  // ACCEPTED → PREPARING → READY: secrets, bundle, rootfs. Returns whether the task is
  // prepared (false: rejected, or still waiting for a secret). A templated secret that does
  // not expand leaves the task READY with start_error_ set: it fails when started, with
  // Docker's message (Docker expands secrets while starting the container).
  bool PrepareTask(const Task& task, const TaskService& service) {
    if (gone_) return false;
    tmpl::SwarmTask context = PayloadTaskContext(task, service);
    context.node = w_.options_.node;
    std::vector<std::string> env = task.spec.container.env;
    std::string hostname = task.spec.container.hostname;
    if (Status s = ExpandContainerSpec(context, &env, &hostname); !s.ok()) {
      Report(TaskState::kRejected, "resolving controller failed", std::string(s.message()));
      return false;
    }
    Report(TaskState::kAccepted, "accepted");
    Report(TaskState::kPreparing, "preparing");
    const ContainerSpec& c = task.spec.container;
    TaskRun run;
    run.task_id = task.id;
    run.service_id = task.service_id;
    run.node_id = task.node_id;
    run.slot = task.slot;
    run.image = c.image;
    run.command = c.command;
    run.args = c.args;
    run.env = std::move(env);
    run.dir = c.dir;
    run.user = c.user;
    run.hostname = std::move(hostname);
    run.labels = c.labels;
    if (c.stop_grace_period_ns) {
      run.stop_grace_period = std::chrono::nanoseconds(*c.stop_grace_period_ns);
    }
    if (task.spec.resources && task.spec.resources->limits) {
      const ResourceLimits& l = *task.spec.resources->limits;
      run.limits = TaskLimits{l.nano_cpus, l.memory_bytes, l.pids};
    }
    std::vector<std::shared_ptr<const SecretBytes>> held;  // alive through Prepare
    // A secret's or a config's file on the task's secret tmpfs; false: not prepared (the
    // data has not arrived yet, or the task was rejected).
    // `cache_id`: the item's ID in the secret cache (a secret's delivery ID, which names its
    // version: objects/secret_versions.h); `id` names the file on the tmpfs.
    auto add_file = [&](const std::string& kind, const std::string& id, const std::string& cache_id,
                        const std::string& what, std::shared_ptr<const SecretBytes> data,
                        const std::string& target, const std::string& uid_text,
                        const std::string& gid_text, uint32_t mode) {
      if (!data) {
        const SteadyTime now = w_.clock_.SteadyNow();
        if (!waiting_since_) waiting_since_ = now;
        if (now - *waiting_since_ < w_.options_.secret_wait) {
          return false;  // it may still arrive: next step
        }
        Report(TaskState::kRejected, "preparing",
               absl::StrCat(what, " is not available on this node"));
        return false;
      }
      StatusOr<uint32_t> uid = ParseId(uid_text, "uid");
      StatusOr<uint32_t> gid = ParseId(gid_text, "gid");
      if (!uid.ok() || !gid.ok()) {
        Report(TaskState::kRejected, "preparing",
               std::string((uid.ok() ? gid.status() : uid.status()).message()));
        return false;
      }
      if (std::optional<std::string> driver = w_.secrets_.TemplatingOf(cache_id)) {
        StatusOr<SecretBytes> expanded = ExpandTemplatedPayload(
            kind, id, *driver, *data, PayloadTaskContext(task, service),
            TaskSecretLookup(w_.secrets_, task), TaskConfigLookup(w_.secrets_, task));
        if (!expanded.ok()) {
          start_error_ = TemplatedSecretTaskError(expanded.status(), kind);
          return false;
        }
        data = std::make_shared<const SecretBytes>(*std::move(expanded));
      }
      run.secrets.push_back({id, target, *uid, *gid, mode, data.get()});
      held.push_back(std::move(data));
      return true;
    };
    // add_file said no: the task waits for its data, was rejected, or (start_error_) has a
    // template that does not expand — then it is READY and fails at start, as in Docker.
    auto not_prepared = [&] {
      if (!start_error_) return false;
      Report(TaskState::kReady, "prepared");
      return true;
    };
    run.refresh_layout = !task.secret_refresh.empty();
    std::map<std::string, std::string> in_place;  // target → delivery ID mounted there
    for (const SecretReference& ref : c.secrets) {
      // The version this task was created with (1 for tasks made before versions existed).
      const std::string cache_id =
          DeliveryId(ref.secret_id, PinnedVersion(task.secret_versions, ref.secret_id));
      if (!add_file("secret", ref.secret_id, cache_id, absl::StrCat("secret ", ref.secret_name),
                    w_.secrets_.Get(cache_id), ref.target, ref.uid, ref.gid, ref.mode)) {
        return not_prepared();
      }
      in_place[ref.target] = cache_id;
    }
    for (const ConfigReference& ref : c.configs) {
      if (!ref.has_file) continue;  // a Runtime config is for the runtime, not a file
      if (!add_file("config", ref.config_id, ref.config_id,
                    absl::StrCat("config ", ref.config_name), ConfigData(w_.secrets_, task, ref),
                    ConfigDestination(ref), ref.uid, ref.gid, ref.mode)) {
        return not_prepared();
      }
    }
    if (!service.registry_auth_id.empty()) {
      // Delivered with the task (sealed like a secret); wait for it as for a secret.
      std::shared_ptr<const SecretBytes> auth = w_.secrets_.Get(service.registry_auth_id);
      if (!auth) {
        const SteadyTime now = w_.clock_.SteadyNow();
        if (!waiting_since_) waiting_since_ = now;
        if (now - *waiting_since_ < w_.options_.secret_wait) return false;
        Report(TaskState::kRejected, "preparing",
               "registry credentials are not available on this node");
        return false;
      }
      run.registry_auth = auth.get();
      held.push_back(std::move(auth));
    }
    Status prepared = Call([&](Executor& e) { return e.Prepare(run); });
    held.clear();
    if (!prepared.ok()) {
      Report(TaskState::kRejected, "preparing", std::string(prepared.message()));
      return false;
    }
    has_container_ = true;
    in_place_ = std::move(in_place);
    Report(TaskState::kReady, "prepared");
    return true;
  }

  // READY → STARTING → RUNNING (or FAILED when the executor cannot start it).
  void StartTask() {
    Report(TaskState::kStarting, "starting");
    if (start_error_) {
      Report(TaskState::kFailed, "starting", *start_error_);
      return;
    }
    if (Status s = Call([&](Executor& e) { return e.Start(id_); }); !s.ok()) {
      Report(TaskState::kFailed, "starting", std::string(s.message()));
      RemoveContainer();
      return;
    }
    started_ = true;
    StatusOr<RunStatus> rs = Call([&](Executor& e) { return e.Inspect(id_); });
    if (rs.ok()) last_container_ = ContainerStatus{rs->container_id, rs->pid, 0};
    Report(TaskState::kRunning, "started");
    if (rs.ok() && rs->state == RunStatus::State::kExited) Poll();
  }

  void Poll() {
    StatusOr<RunStatus> rs = Call([&](Executor& e) { return e.Inspect(id_); });
    if (!rs.ok()) {
      if (rs.status().code() == StatusCode::kNotFound) {
        Report(TaskState::kFailed, "started", "task: container is gone");
      }
      return;
    }
    if (rs->state != RunStatus::State::kExited) {
      if (rs->state == RunStatus::State::kRunning && state_ < TaskState::kRunning) {
        last_container_ = ContainerStatus{rs->container_id, rs->pid, 0};
        Report(TaskState::kRunning, "started");
      }
      return;
    }
    ContainerStatus cs{rs->container_id, 0, rs->exit_code};
    if (rs->exit_code == 0) {
      Report(TaskState::kComplete, "finished", "", cs);
    } else {
      Report(TaskState::kFailed, "started",
             absl::StrCat("task: non-zero exit (", rs->exit_code, ")"), cs);
    }
    RemoveContainer();
  }

  TaskWorker& w_;
  const std::string id_;
  // Only the runner's thread touches these.
  TaskState state_ = TaskState::kNew;  // the furthest state known (ours or the manager's)
  bool has_container_ = false;         // the executor holds a prepared/started container
  bool started_ = false;               // started (or adopted running/exited)
  std::optional<ContainerStatus> last_container_;
  std::optional<SteadyTime> waiting_since_;
  std::optional<std::string> start_error_;  // the task fails with it when started
  // Live refresh: secret target → the delivery ID (version) its file holds; empty after a
  // re-adoption (RefreshSecrets then lets the executor compare contents).
  std::map<std::string, std::string> in_place_;
  bool gone_ = false;  // abandoned by Stop(): touch nothing of the worker's again

  mutable Mutex mu_;
  std::condition_variable cv_;
  Task task_ ABSL_GUARDED_BY(mu_);
  TaskService service_ ABSL_GUARDED_BY(mu_);
  bool adopted_ = false;  // set before the thread starts; then the thread's
  bool removed_ ABSL_GUARDED_BY(mu_) = false;
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool in_call_ ABSL_GUARDED_BY(mu_) = false;          // inside an executor call (Call)
  bool abandoned_ ABSL_GUARDED_BY(mu_) = false;        // by Stop(): the worker may be gone
  std::unique_ptr<Runner> self_ ABSL_GUARDED_BY(mu_);  // ownership, once abandoned
  std::thread thread_;
};

TaskWorker::TaskWorker(Executor& executor, const SecretCache& secrets, StatusQueue& status,
                       const Clock& clock, TaskWorkerOptions options)
    : executor_(executor), secrets_(secrets), status_(status), clock_(clock), options_(options) {}

TaskWorker::~TaskWorker() { Stop(); }

void TaskWorker::Start() {
  std::vector<std::string> known = executor_.Known();
  MutexLock lock(mu_);
  known_.insert(known.begin(), known.end());
  if (!known_.empty()) {
    spdlog::info("agent: {} task(s) on disk from a previous run; waiting for the assignments",
                 known_.size());
  }
}

void TaskWorker::Apply(bool full_set, std::vector<TaskAssignment> tasks,
                       const std::vector<std::string>& removed) {
  MutexLock lock(mu_);
  if (stopped_) return;
  ReapLocked();
  std::set<std::string> named;
  for (TaskAssignment& a : tasks) {
    const std::string id = a.task.id;
    named.insert(id);
    auto it = runners_.find(id);
    if (it != runners_.end()) {
      it->second->Update(std::move(a.task), std::move(a.service));
      continue;
    }
    const bool adopted = known_.erase(id) > 0;
    runners_[id] = std::make_unique<Runner>(*this, std::move(a), adopted);
  }
  auto remove = [this](std::map<std::string, std::unique_ptr<Runner>>::iterator it) {
    it->second->MarkRemoved();
    leaving_.push_back(std::move(it->second));
    return runners_.erase(it);
  };
  for (const std::string& id : removed) {
    auto it = runners_.find(id);
    if (it != runners_.end()) remove(it);
  }
  if (full_set) {
    for (auto it = runners_.begin(); it != runners_.end();) {
      it = named.count(it->first) > 0 ? std::next(it) : remove(it);
    }
    if (!got_full_set_) {
      got_full_set_ = true;
      // Whatever the executor had that the manager does not assign is an orphan.
      for (const std::string& id : known_) {
        spdlog::info("agent: task {} is no longer assigned; removing it", id);
        leaving_.push_back(std::make_unique<Runner>(*this, id));
      }
      known_.clear();
    }
  }
}

void TaskWorker::ReapLocked() {
  for (auto it = leaving_.begin(); it != leaving_.end();) {
    it = (*it)->done() ? leaving_.erase(it) : std::next(it);
  }
}

void TaskWorker::Stop() {
  std::map<std::string, std::unique_ptr<Runner>> runners;
  std::vector<std::unique_ptr<Runner>> leaving;
  {
    MutexLock lock(mu_);
    stopped_ = true;
    runners.swap(runners_);
    leaving.swap(leaving_);
  }
  for (auto& [id, r] : runners) r->RequestStop();
  // Removals in progress finish first — within the same bound.
  const SteadyTime deadline = clock_.SteadyNow() + options_.stop_timeout;
  for (auto& [id, r] : runners) Finish(std::move(r), deadline);
  for (auto& r : leaving) Finish(std::move(r), deadline);
}

void TaskWorker::Finish(std::unique_ptr<Runner> r, SteadyTime deadline) {
  if (Runner::EndOrAbandon(r, clock_, deadline)) r.reset();  // joins
}

int TaskWorker::AbandonedCalls() { return abandoned_calls.load(); }

std::vector<std::string> TaskWorker::TaskIds() const {
  MutexLock lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, r] : runners_) ids.push_back(id);
  return ids;
}

}  // namespace capsule::agent
