#include "cli/service_progress.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli/daemon_error.h"
#include "cli/json_fields.h"
#include "cli/query.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

constexpr std::chrono::milliseconds kPollInterval{200};
constexpr int64_t kDefaultMonitor = 5'000'000'000;
constexpr uint64_t kMaxProgressBars = 20;

int StateNumber(const std::string& state) {
  static const std::map<std::string, int> kStates = {
      {"new", 1},       {"allocated", 2}, {"pending", 3},  {"assigned", 4}, {"accepted", 5},
      {"preparing", 6}, {"ready", 7},     {"starting", 8}, {"running", 9},  {"complete", 10},
      {"shutdown", 11}, {"failed", 12},   {"rejected", 13}};
  auto it = kStates.find(state);
  return it == kStates.end() ? 0 : it->second;
}

bool Terminal(const std::string& state) { return StateNumber(state) > StateNumber("running"); }

struct Task {
  std::string id;
  std::string node_id;
  uint64_t slot = 0;
  std::string desired;
  std::string state;
  std::string err;
};

Task ParseTask(const Json& t) {
  Task out;
  out.id = StringAt(t, {"ID"});
  out.node_id = StringAt(t, {"NodeID"});
  if (t.contains("Slot") && t["Slot"].is_number_unsigned()) out.slot = t["Slot"].get<uint64_t>();
  out.desired = StringAt(t, {"DesiredState"});
  out.state = StringAt(t, {"Status", "State"});
  out.err = StringAt(t, {"Status", "Err"});
  return out;
}

// Whether `task` should replace `existing` for the same slot/node: the lowest desired
// state wins, then the lowest observed state (start-first updates).
bool Replaces(const Task& existing, const Task& task) {
  const int ed = StateNumber(existing.desired), td = StateNumber(task.desired);
  if (ed < td) return false;
  if (ed == td && StateNumber(existing.state) <= StateNumber(task.state)) return false;
  return true;
}

std::string TruncError(std::string msg) {
  msg = absl::StrReplaceAll(msg, {{"\n", " "}});
  constexpr size_t kMaxWidth = 75;
  if (msg.size() > kMaxWidth) msg = msg.substr(0, kMaxWidth - 1) + "\xE2\x80\xA6";
  return msg;
}

// What docker's non-terminal JSON-message display prints: "<id>: <action>".
class ProgressOut {
 public:
  ProgressOut(std::ostream& out, bool quiet) : out_(out), quiet_(quiet) {}
  void Write(const std::string& id, const std::string& action) {
    if (quiet_) return;
    out_ << id << ": " << action << "\n";
    out_.flush();
  }
  void Overall(uint64_t n, uint64_t of, bool rollback) {
    Write("overall progress",
          rollback ? absl::StrCat("rolling back update: ", n, " out of ", of, " tasks")
                   : absl::StrCat(n, " out of ", of, " tasks"));
  }

 private:
  std::ostream& out_;
  bool quiet_;
};

class Updater {
 public:
  virtual ~Updater() = default;
  virtual bool Update(const Json& service, const std::vector<Task>& tasks,
                      const std::set<std::string>& active_nodes, bool rollback) = 0;
};

class ReplicatedUpdater : public Updater {
 public:
  explicit ReplicatedUpdater(ProgressOut& out) : out_(out) {}

  bool Update(const Json& service, const std::vector<Task>& tasks,
              const std::set<std::string>& active, bool rollback) override {
    const uint64_t replicas = service["Spec"]["Mode"]["Replicated"]["Replicas"].get<uint64_t>();
    if (!initialized_) {
      out_.Overall(0, replicas, rollback);
      if (replicas <= kMaxProgressBars) {
        for (uint64_t i = 1; i <= replicas; ++i) out_.Write(absl::StrCat(i, "/", replicas), " ");
      }
      initialized_ = true;
    }
    std::map<uint64_t, Task> by_slot;
    for (const Task& t : tasks) {
      if (StateNumber(t.desired) == 0 || StateNumber(t.state) == 0) continue;
      auto it = by_slot.find(t.slot);
      if (it != by_slot.end() && !Replaces(it->second, t)) continue;
      if (!t.node_id.empty() && active.count(t.node_id) == 0) continue;
      by_slot[t.slot] = t;
    }
    if (done_) {
      for (const auto& [slot, t] : by_slot) {
        if (t.state != "running") done_ = false;
      }
    }
    uint64_t running = 0;
    for (const auto& [slot, t] : by_slot) {
      uint64_t& mapped = slot_map_[slot];
      if (mapped == 0) mapped = slot_map_.size();
      if (!Terminal(t.desired) && t.state == "running") ++running;
      if (!done_ && replicas <= kMaxProgressBars && mapped <= replicas && !t.err.empty()) {
        out_.Write(absl::StrCat(mapped, "/", replicas), TruncError(t.err));
      }
      // A task's own progress bar is not shown without a terminal.
    }
    if (!done_) {
      out_.Overall(running, replicas, rollback);
      if (running == replicas) done_ = true;
    }
    return running == replicas;
  }

 private:
  ProgressOut& out_;
  std::map<uint64_t, uint64_t> slot_map_;
  bool initialized_ = false;
  bool done_ = false;
};

class GlobalUpdater : public Updater {
 public:
  explicit GlobalUpdater(ProgressOut& out) : out_(out) {}

  bool Update(const Json&, const std::vector<Task>& tasks, const std::set<std::string>& active,
              bool rollback) override {
    std::map<std::string, Task> by_node;
    for (const Task& t : tasks) {
      if (StateNumber(t.desired) == 0 || StateNumber(t.state) == 0) continue;
      auto it = by_node.find(t.node_id);
      if (it != by_node.end() && !Replaces(it->second, t)) continue;
      by_node[t.node_id] = t;
    }
    const uint64_t node_count = by_node.size();
    if (!initialized_) {
      if (node_count == 0) {
        out_.Write("overall progress", "waiting for new tasks");
        return false;
      }
      out_.Overall(0, node_count, rollback);
      initialized_ = true;
    }
    if (done_) {
      for (const auto& [node, t] : by_node) {
        if (t.state != "running") done_ = false;
      }
    }
    uint64_t running = 0;
    for (const auto& [node, t] : by_node) {
      if (active.count(node) == 0) continue;
      if (!Terminal(t.desired) && t.state == "running") ++running;
      if (!done_ && node_count <= kMaxProgressBars && !t.err.empty()) {
        out_.Write(TruncateId(node), TruncError(t.err));
      }
    }
    if (!done_) {
      out_.Overall(running, node_count, rollback);
      if (running == node_count) done_ = true;
    }
    return running == node_count;
  }

 private:
  ProgressOut& out_;
  bool initialized_ = false;
  bool done_ = false;
};

StatusOr<Json> GetJson(HttpClient& client, const HttpRequest& request) {
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, request));
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InternalError(absl::StrCat("invalid JSON from GET ", request.path));
  }
  return j;
}

}  // namespace

std::string TruncateId(const std::string& id) {
  std::string out = id;
  if (size_t colon = out.find(':'); colon != std::string::npos) out = out.substr(colon + 1);
  if (out.size() > 12) out.resize(12);
  return out;
}

Status WaitOnService(CommandContext& ctx, HttpClient& client, const std::string& ref, bool quiet) {
  ProgressOut out(ctx.out(), quiet);
  std::unique_ptr<Updater> updater;
  bool converged = false;
  bool converging = false;  // converged_at is set
  TimePoint converged_at{};
  bool rollback = false;
  std::optional<std::pair<std::string, std::string>> message;
  while (true) {
    HttpRequest get{"GET", "/services/" + PathEscape(ref), {{"insertDefaults", "false"}}, "", ""};
    StatusOr<HttpResponse> raw = client.Do(get);
    if (!raw.ok()) return raw.status();
    if (raw->status == 404) return NoSuchObject("service", ref);
    if (raw->status < 200 || raw->status > 299) return DaemonError(*raw);
    Json service = Json::parse(raw->body, nullptr, /*allow_exceptions=*/false);
    if (!service.is_object()) return absl::InternalError("invalid JSON from service inspect");
    const Json spec = service.value("Spec", Json::object());

    int64_t monitor = kDefaultMonitor;
    if (spec.contains("UpdateConfig") && spec["UpdateConfig"].is_object()) {
      const Json m = spec["UpdateConfig"].value("Monitor", Json(0));
      if (m.is_number_integer() && m.get<int64_t>() != 0) monitor = m.get<int64_t>();
    }
    if (updater == nullptr) {
      const Json mode = spec.value("Mode", Json::object());
      if (mode.contains("Replicated") && mode["Replicated"].is_object() &&
          mode["Replicated"].contains("Replicas") &&
          mode["Replicated"]["Replicas"].is_number_unsigned()) {
        updater = std::make_unique<ReplicatedUpdater>(out);
      } else if (mode.contains("Global")) {
        updater = std::make_unique<GlobalUpdater>(out);
      } else {
        return absl::InvalidArgumentError("unrecognized service mode");
      }
    }

    const std::string update_state = StringAt(service, {"UpdateStatus", "State"});
    const std::string update_message = StringAt(service, {"UpdateStatus", "Message"});
    if (update_state == "updating") {
      rollback = false;
    } else if (update_state == "completed") {
      if (!converged) return absl::OkStatus();
    } else if (update_state == "paused") {
      return absl::FailedPreconditionError(absl::StrCat("service update paused: ", update_message));
    } else if (update_state == "rollback_started") {
      if (!rollback && !update_message.empty()) out.Write("rollback", update_message);
      rollback = true;
    } else if (update_state == "rollback_paused") {
      return absl::FailedPreconditionError(
          absl::StrCat("service rollback paused: ", update_message));
    } else if (update_state == "rollback_completed") {
      if (!converged) message = std::make_pair("rollback", update_message);
      rollback = true;
    }

    const TimePoint now = ctx.clock().Now();
    if (converged && converging &&
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - converged_at).count() >=
            monitor) {
      out.Write("verify", "Service converged");  // docker 20.10 names no service here
      if (message) out.Write(message->first, message->second);
      return absl::OkStatus();
    }

    FilterArgs filters;
    filters["service"].push_back(StringAt(service, {"ID"}));
    filters["_up-to-date"].push_back("true");
    ASSIGN_OR_RETURN(
        Json task_list,
        GetJson(client, {"GET", "/tasks", {{"filters", FiltersToJson(filters)}}, "", ""}));
    ASSIGN_OR_RETURN(Json node_list, GetJson(client, {"GET", "/nodes", {}, "", ""}));
    std::vector<Task> tasks;
    if (task_list.is_array()) {
      for (const Json& t : task_list) tasks.push_back(ParseTask(t));
    }
    std::set<std::string> active;
    if (node_list.is_array()) {
      for (const Json& n : node_list) {
        if (StringAt(n, {"Status", "State"}) != "down") active.insert(StringAt(n, {"ID"}));
      }
    }

    converged = updater->Update(service, tasks, active, rollback);
    if (converged) {
      if (!converging) {
        converging = true;
        converged_at = now;
      }
      const int64_t wait = monitor - std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         ctx.clock().Now() - converged_at)
                                         .count();
      if (wait >= 0) {
        // Docker prints wait/1s + 1, measured a moment after converging, so a whole 5 s reads
        // "5": rounding up gives the same text without depending on that moment.
        const int64_t seconds = wait > 0 ? (wait - 1) / 1'000'000'000 + 1 : 1;
        out.Write("verify",
                  absl::StrCat("Waiting ", seconds, " seconds to verify that tasks are stable..."));
      }
    } else {
      if (converging) out.Write("verify", "Detected task failure");
      converging = false;
    }
    ctx.Sleep(kPollInterval);
  }
}

}  // namespace capsule::cli
