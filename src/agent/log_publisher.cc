#include "agent/log_publisher.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <vector>

#include "capsule/logbroker.grpc.pb.h"
#include "common/log.h"

namespace capsule::agent {
namespace {

constexpr std::chrono::milliseconds kChannelPoll{500};
// Lines sent per message when not following (a follow sends each line as it comes).
constexpr size_t kBatchBytes = 32 << 10;

LogQuery QueryOf(const api::LogSelector& s, std::function<bool()> cancelled) {
  LogQuery q;
  q.stdout_lines = s.stdout_lines();
  q.stderr_lines = s.stderr_lines();
  if (s.tail() >= 0) q.tail = static_cast<size_t>(s.tail());
  if (s.since_unix_nanos() > 0) q.since = FromUnixNanos(s.since_unix_nanos());
  q.follow = s.follow();
  q.cancelled = std::move(cancelled);
  return q;
}

}  // namespace

// One subscription being served: its cancel flag and the context of its PublishLogs call.
struct LogPublisher::Active {
  std::atomic<bool> closed{false};
  Mutex mu;
  grpc::ClientContext* ctx ABSL_GUARDED_BY(mu) = nullptr;
  std::thread thread;

  void Cancel() {
    closed = true;
    MutexLock lock(mu);
    if (ctx != nullptr) ctx->TryCancel();
  }
};

LogPublisher::LogPublisher(ChannelFn channel, const TaskLogs& logs, const Clock& clock)
    : channel_(std::move(channel)), logs_(logs), clock_(clock) {
  thread_ = std::thread([this] { Run(); });
}

LogPublisher::~LogPublisher() { Stop(); }

void LogPublisher::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogPublisher::Run() {
  for (;;) {
    std::shared_ptr<grpc::Channel> ch = channel_();
    if (ch) Listen(ch);
    MutexLock lock(mu_);
    if (clock_.WaitFor(cv_, lock.native(), kChannelPoll,
                       [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; })) {
      return;
    }
  }
}

void LogPublisher::Listen(const std::shared_ptr<grpc::Channel>& channel) {
  std::unique_ptr<api::LogBroker::Stub> stub = api::LogBroker::NewStub(channel);
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<api::SubscriptionMessage>> reader =
      stub->ListenSubscriptions(&ctx, api::ListenSubscriptionsRequest());
  std::atomic<bool> done{false};
  // Watches for Stop() and for the session's channel changing; cancels the stream then.
  std::thread watcher([&] {
    MutexLock lock(mu_);
    for (;;) {
      if (clock_.WaitFor(
              cv_, lock.native(), kChannelPoll,
              [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || done.load(); })) {
        break;
      }
      lock.Unlock();
      const bool changed = channel_() != channel;
      lock.Lock();
      if (changed) break;
    }
    ctx.TryCancel();
  });
  std::map<std::string, std::shared_ptr<Active>> active;
  api::SubscriptionMessage msg;
  while (reader->Read(&msg)) {
    for (auto it = active.begin(); it != active.end();) {  // reap finished subscriptions
      if (it->second->closed && it->second->thread.joinable()) {
        it->second->thread.join();
        it = active.erase(it);
      } else {
        ++it;
      }
    }
    if (msg.close()) {
      if (auto it = active.find(msg.id()); it != active.end()) it->second->Cancel();
      continue;
    }
    if (active.count(msg.id()) > 0) continue;
    auto a = std::make_shared<Active>();
    active[msg.id()] = a;
    a->thread = std::thread([this, channel, msg, a] {
      Serve(channel, msg, a);
      a->closed = true;
    });
  }
  grpc::Status st = reader->Finish();
  if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    spdlog::info("log publisher: subscription stream ended: {}", st.error_message());
  }
  for (auto& [id, a] : active) a->Cancel();
  for (auto& [id, a] : active) {
    if (a->thread.joinable()) a->thread.join();
  }
  {
    MutexLock lock(mu_);
    done = true;
  }
  cv_.notify_all();
  watcher.join();
}

void LogPublisher::Serve(const std::shared_ptr<grpc::Channel>& channel,
                         const api::SubscriptionMessage& sub,
                         const std::shared_ptr<Active>& active) const {
  std::unique_ptr<api::LogBroker::Stub> stub = api::LogBroker::NewStub(channel);
  grpc::ClientContext ctx;
  {
    MutexLock lock(active->mu);
    active->ctx = &ctx;
    if (active->closed) ctx.TryCancel();
  }
  api::PublishLogsResponse resp;
  std::unique_ptr<grpc::ClientWriter<api::PublishLogsMessage>> writer =
      stub->PublishLogs(&ctx, &resp);
  const bool follow = sub.selector().follow();
  api::PublishLogsMessage batch;
  batch.set_subscription_id(sub.id());
  size_t batch_bytes = 0;
  bool ok = true;
  auto flush = [&] {
    if (batch.lines_size() == 0) return ok;
    ok = ok && writer->Write(batch);
    batch.clear_lines();
    batch_bytes = 0;
    return ok;
  };
  std::string error;
  const LogQuery query = QueryOf(sub.selector(), [&active] { return active->closed.load(); });
  for (const std::string& task_id : sub.task_ids()) {
    Status s = logs_.Read(task_id, query, [&](const LogLine& line) {
      if (active->closed) return false;
      api::LogLine* l = batch.add_lines();
      l->set_task_id(task_id);
      l->set_time_unix_nanos(ToUnixNanos(line.time));
      l->set_stream(line.stream);
      l->set_data(line.text);
      batch_bytes += line.text.size();
      if (follow || batch_bytes >= kBatchBytes) return flush();
      return true;
    });
    if (!s.ok() && error.empty()) error = std::string(s.message());
    if (!ok || active->closed) break;
  }
  if (flush() && !active->closed) {
    api::PublishLogsMessage end;
    end.set_subscription_id(sub.id());
    end.set_close(true);
    end.set_error(error);
    writer->Write(end);
  }
  writer->WritesDone();
  grpc::Status st = writer->Finish();
  if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    spdlog::info("log publisher: subscription {} refused: {}", sub.id(), st.error_message());
  }
  MutexLock lock(active->mu);
  active->ctx = nullptr;
}

}  // namespace capsule::agent
