#include "manager/logbroker/log_broker.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"

namespace capsule::logbroker {
namespace {

size_t SizeOf(const api::PublishLogsMessage& msg) {
  size_t n = 0;
  for (const api::LogLine& l : msg.lines()) n += l.data().size() + l.task_id().size() + 16;
  return n;
}

void RunAll(const std::vector<std::function<void()>>& fns) {
  for (const auto& f : fns) f();
}

}  // namespace

Subscription::Subscription(LogBroker& broker, const Clock& clock, std::string id,
                           std::string node_id, std::set<std::string> tasks,
                           size_t max_queued_bytes)
    : broker_(broker),
      clock_(clock),
      id_(std::move(id)),
      node_id_(std::move(node_id)),
      tasks_(std::move(tasks)),
      max_queued_bytes_(max_queued_bytes) {}

Subscription::Next Subscription::Pop(std::chrono::milliseconds wait, std::vector<api::LogLine>* out,
                                     Status* end) {
  std::vector<std::function<void()>> resume;
  {
    MutexLock lock(mu_);
    clock_.WaitFor(cv_, lock.native(), wait, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !queue_.empty() || ended_;
    });
    if (queue_.empty()) {
      if (!ended_) return Next::kTimeout;
      *end = end_;
      return Next::kEnd;
    }
    api::PublishLogsMessage msg = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= std::min(queued_bytes_, SizeOf(msg));
    for (api::LogLine& l : *msg.mutable_lines()) out->push_back(std::move(l));
    if (queued_bytes_ < max_queued_bytes_) resume.swap(resume_);
  }
  RunAll(resume);
  return Next::kLines;
}

std::vector<std::function<void()>> Subscription::End(Status why) {
  MutexLock lock(mu_);
  std::vector<std::function<void()>> resume;
  if (!ended_) {
    ended_ = true;
    end_ = std::move(why);
  }
  resume.swap(resume_);
  cv_.notify_all();
  return resume;
}

void Subscription::Close() {
  std::vector<std::function<void()>> resume = End(absl::CancelledError("log subscription closed"));
  {
    MutexLock lock(mu_);
    queue_.clear();
    queued_bytes_ = 0;
  }
  broker_.Forget(id_);
  if (std::shared_ptr<Listener> l = listener_.lock()) {
    api::SubscriptionMessage close;
    close.set_id(id_);
    close.set_close(true);
    l->send(close);
  }
  RunAll(resume);
}

LogBroker::LogBroker(const Clock& clock, LogBrokerOptions options)
    : clock_(clock), options_(options) {}

LogBroker::~LogBroker() { Shutdown(); }

StatusOr<std::shared_ptr<Subscription>> LogBroker::Subscribe(
    const std::string& node_id, const std::vector<std::string>& task_ids,
    const api::LogSelector& selector) {
  auto sub = std::make_shared<Subscription>(*this, clock_, NewId(), node_id,
                                            std::set<std::string>(task_ids.begin(), task_ids.end()),
                                            options_.max_queued_bytes);
  std::shared_ptr<Subscription::Listener> listener;
  {
    MutexLock lock(mu_);
    if (shut_down_) return absl::UnavailableError("the log broker is stopping");
    auto it = listeners_.find(node_id);
    if (it == listeners_.end()) {
      return absl::UnavailableError(absl::StrCat("node ", node_id, " is not sending logs"));
    }
    listener = it->second;
    sub->listener_ = listener;
    subscriptions_[sub->id()] = sub;
  }
  api::SubscriptionMessage msg;
  msg.set_id(sub->id());
  for (const std::string& t : task_ids) msg.add_task_ids(t);
  *msg.mutable_selector() = selector;
  listener->send(msg);
  return sub;
}

Status LogBroker::Read(const std::string& node_id, const std::string& task_id,
                       const api::LogSelector& selector, const std::function<bool()>& cancelled,
                       const std::function<bool(const api::LogLine&)>& sink) {
  ASSIGN_OR_RETURN(std::shared_ptr<Subscription> sub, Subscribe(node_id, {task_id}, selector));
  SteadyTime last = clock_.SteadyNow();
  Status result;
  std::vector<api::LogLine> lines;
  for (;;) {
    lines.clear();
    Status end;
    Subscription::Next n = sub->Pop(options_.poll_period, &lines, &end);
    if (n == Subscription::Next::kEnd) {
      result = end;
      break;
    }
    if (n == Subscription::Next::kTimeout) {
      if (cancelled && cancelled()) break;
      if (!selector.follow() && clock_.SteadyNow() - last >= options_.idle_timeout) {
        result = absl::DeadlineExceededError(
            absl::StrCat("node ", node_id, " sent no logs for task ", task_id));
        break;
      }
      continue;
    }
    last = clock_.SteadyNow();
    bool more = true;
    for (const api::LogLine& l : lines) {
      if (!(more = sink(l))) break;
    }
    if (!more) break;
  }
  sub->Close();
  return result;
}

std::shared_ptr<Subscription::Listener> LogBroker::Listen(
    const std::string& node_id, std::function<void(const api::SubscriptionMessage&)> send) {
  auto l = std::make_shared<Subscription::Listener>();
  l->node_id = node_id;
  l->send = std::move(send);
  MutexLock lock(mu_);
  if (!shut_down_) listeners_[node_id] = l;
  return l;
}

void LogBroker::Unlisten(const std::shared_ptr<Subscription::Listener>& listener) {
  std::vector<std::shared_ptr<Subscription>> ended;
  {
    MutexLock lock(mu_);
    auto it = listeners_.find(listener->node_id);
    if (it != listeners_.end() && it->second == listener) listeners_.erase(it);
    for (auto s = subscriptions_.begin(); s != subscriptions_.end();) {
      if (s->second->listener_.lock() == listener) {
        ended.push_back(s->second);
        s = subscriptions_.erase(s);
      } else {
        ++s;
      }
    }
  }
  for (const auto& s : ended) {
    RunAll(s->End(
        absl::UnavailableError(absl::StrCat("node ", listener->node_id, " stopped sending logs"))));
  }
}

StatusOr<bool> LogBroker::Publish(const std::string& node_id, api::PublishLogsMessage msg,
                                  std::function<void()> resume) {
  std::shared_ptr<Subscription> sub;
  {
    MutexLock lock(mu_);
    auto it = subscriptions_.find(msg.subscription_id());
    if (it == subscriptions_.end()) {
      return absl::NotFoundError(
          absl::StrCat("log subscription ", msg.subscription_id(), " not found"));
    }
    sub = it->second;
  }
  if (sub->node_id() != node_id) {
    spdlog::warn("log broker: node {} published for subscription {} of node {}: refused", node_id,
                 sub->id(), sub->node_id());
    return absl::PermissionDeniedError(
        absl::StrCat("log subscription ", sub->id(), " is not addressed to this node"));
  }
  for (const api::LogLine& l : msg.lines()) {
    if (sub->tasks_.count(l.task_id()) == 0) {
      spdlog::warn("log broker: node {} published task {} outside subscription {}: refused",
                   node_id, l.task_id(), sub->id());
      return absl::PermissionDeniedError(
          absl::StrCat("task ", l.task_id(), " is not in log subscription ", sub->id()));
    }
  }
  const bool close = msg.close();
  Status why = msg.error().empty() ? absl::OkStatus() : absl::UnavailableError(msg.error());
  bool room = true;
  {
    MutexLock lock(sub->mu_);
    if (sub->ended_) return true;  // closed by its reader: the lines are not wanted
    if (msg.lines_size() > 0) {
      sub->queued_bytes_ += SizeOf(msg);
      sub->queue_.push_back(std::move(msg));
      sub->cv_.notify_all();
    }
    if (!close && sub->queued_bytes_ >= sub->max_queued_bytes_) {
      sub->resume_.push_back(std::move(resume));
      room = false;
    }
  }
  if (close) {
    Forget(sub->id());
    RunAll(sub->End(std::move(why)));
  }
  return room;
}

void LogBroker::EndNode(const std::string& node_id) {
  std::vector<std::shared_ptr<Subscription>> ended;
  {
    MutexLock lock(mu_);
    for (auto s = subscriptions_.begin(); s != subscriptions_.end();) {
      if (s->second->node_id() == node_id) {
        ended.push_back(s->second);
        s = subscriptions_.erase(s);
      } else {
        ++s;
      }
    }
  }
  for (const auto& s : ended) {
    RunAll(s->End(absl::UnavailableError(absl::StrCat("node ", node_id, " is down"))));
  }
}

void LogBroker::Forget(const std::string& subscription_id) {
  MutexLock lock(mu_);
  subscriptions_.erase(subscription_id);
}

void LogBroker::Shutdown() {
  std::map<std::string, std::shared_ptr<Subscription>> subs;
  {
    MutexLock lock(mu_);
    shut_down_ = true;
    listeners_.clear();
    subs.swap(subscriptions_);
  }
  for (auto& [id, s] : subs) RunAll(s->End(absl::UnavailableError("the log broker is stopping")));
}

api::LogSelector MakeSelector(bool stdout_lines, bool stderr_lines, bool follow,
                              std::optional<size_t> tail, TimePoint since) {
  api::LogSelector s;
  s.set_stdout_lines(stdout_lines);
  s.set_stderr_lines(stderr_lines);
  s.set_follow(follow);
  s.set_tail(tail ? static_cast<int64_t>(*tail) : -1);
  s.set_since_unix_nanos(since == TimePoint{} ? 0 : ToUnixNanos(since));
  return s;
}

}  // namespace capsule::logbroker
