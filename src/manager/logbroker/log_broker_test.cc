#include "manager/logbroker/log_broker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace capsule::logbroker {
namespace {

// Real time with short periods: Pop and Read wait through the Clock on a condition variable
// that publishes notify, so only the timeout tests actually wait (≤ 100 ms).
LogBrokerOptions Small() {
  LogBrokerOptions o;
  o.max_queued_bytes = 100;
  o.idle_timeout = std::chrono::milliseconds(100);
  o.poll_period = std::chrono::milliseconds(10);
  return o;
}

api::PublishLogsMessage Lines(const std::string& sub, const std::string& task,
                              std::vector<std::string> texts, bool close = false) {
  api::PublishLogsMessage m;
  m.set_subscription_id(sub);
  for (const std::string& t : texts) {
    api::LogLine* l = m.add_lines();
    l->set_task_id(task);
    l->set_stream(1);
    l->set_data(t);
  }
  m.set_close(close);
  return m;
}

// A node's listener that records what it is sent.
struct FakeNode {
  std::mutex mu;
  std::vector<api::SubscriptionMessage> got;
  std::shared_ptr<Subscription::Listener> listener;
  FakeNode(LogBroker& b, const std::string& node) {
    listener = b.Listen(node, [this](const api::SubscriptionMessage& m) {
      std::lock_guard<std::mutex> lock(mu);
      got.push_back(m);
    });
  }
  std::vector<api::SubscriptionMessage> Got() {
    std::lock_guard<std::mutex> lock(mu);
    return got;
  }
};

TEST(LogBrokerTest, SubscribingToANodeWithoutListenerIsUnavailable) {
  LogBroker broker(RealClock(), Small());
  auto sub = broker.Subscribe("n1", {"t1"}, MakeSelector(true, true, false, std::nullopt, {}));
  EXPECT_EQ(sub.status().code(), absl::StatusCode::kUnavailable);
}

TEST(LogBrokerTest, SubscriptionGoesToItsNodeAndLinesComeBackInOrder) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1"), n2(broker, "n2");
  auto sub = broker.Subscribe("n1", {"t1"}, MakeSelector(true, false, false, 5, {}));
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(n1.Got().size(), 1u);
  EXPECT_TRUE(n2.Got().empty());
  const api::SubscriptionMessage m = n1.Got()[0];
  EXPECT_EQ(m.id(), (*sub)->id());
  ASSERT_EQ(m.task_ids_size(), 1);
  EXPECT_EQ(m.task_ids(0), "t1");
  EXPECT_TRUE(m.selector().stdout_lines());
  EXPECT_FALSE(m.selector().stderr_lines());
  EXPECT_EQ(m.selector().tail(), 5);

  ASSERT_TRUE(broker.Publish("n1", Lines(m.id(), "t1", {"a\n", "b\n"}), [] {}).ok());
  ASSERT_TRUE(broker.Publish("n1", Lines(m.id(), "t1", {"c\n"}, true), [] {}).ok());
  std::vector<api::LogLine> out;
  Status end;
  while ((*sub)->Pop(std::chrono::milliseconds(100), &out, &end) == Subscription::Next::kLines) {
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].data(), "a\n");
  EXPECT_EQ(out[2].data(), "c\n");
  EXPECT_TRUE(end.ok());
}

TEST(LogBrokerTest, PublishingForAnotherNodesSubscriptionIsRefusedAndNothingQueued) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1"), n2(broker, "n2");
  auto sub = broker.Subscribe("n1", {"t1"}, MakeSelector(true, true, false, std::nullopt, {}));
  ASSERT_TRUE(sub.ok());
  StatusOr<bool> r = broker.Publish("n2", Lines((*sub)->id(), "t1", {"forged\n"}), [] {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  std::vector<api::LogLine> out;
  Status end;
  EXPECT_EQ((*sub)->Pop(std::chrono::milliseconds(20), &out, &end), Subscription::Next::kTimeout);
  EXPECT_TRUE(out.empty());
}

TEST(LogBrokerTest, PublishingATaskOutsideTheSubscriptionIsRefusedWhole) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1");
  auto sub = broker.Subscribe("n1", {"t1"}, MakeSelector(true, true, false, std::nullopt, {}));
  ASSERT_TRUE(sub.ok());
  api::PublishLogsMessage m = Lines((*sub)->id(), "t1", {"ok\n"});
  api::LogLine* other = m.add_lines();
  other->set_task_id("t2");
  other->set_data("foreign\n");
  EXPECT_EQ(broker.Publish("n1", m, [] {}).status().code(), absl::StatusCode::kPermissionDenied);
  std::vector<api::LogLine> out;
  Status end;
  EXPECT_EQ((*sub)->Pop(std::chrono::milliseconds(20), &out, &end), Subscription::Next::kTimeout);
  EXPECT_TRUE(out.empty());
}

TEST(LogBrokerTest, PublishingForAnUnknownSubscriptionIsNotFound) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1");
  EXPECT_EQ(broker.Publish("n1", Lines("nosuch", "t1", {"x\n"}), [] {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(LogBrokerTest, AFullQueueMakesThePublisherWaitUntilTheReaderDrainsIt) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1");
  auto sub = broker.Subscribe("n1", {"t1"}, MakeSelector(true, true, true, std::nullopt, {}));
  ASSERT_TRUE(sub.ok());
  std::atomic<int> resumed{0};
  const std::string big(120, 'x');  // over the 100-byte bound in one message
  StatusOr<bool> r = broker.Publish("n1", Lines((*sub)->id(), "t1", {big}), [&] { ++resumed; });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(resumed.load(), 0);
  std::vector<api::LogLine> out;
  Status end;
  ASSERT_EQ((*sub)->Pop(std::chrono::milliseconds(100), &out, &end), Subscription::Next::kLines);
  EXPECT_EQ(resumed.load(), 1);
  r = broker.Publish("n1", Lines((*sub)->id(), "t1", {"small\n"}), [&] { ++resumed; });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
}

TEST(LogBrokerTest, ClosingTellsTheNodeReleasesAWaitingPublisherAndRefusesLaterLines) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1");
  auto sub = broker.Subscribe("n1", {"t1"}, MakeSelector(true, true, true, std::nullopt, {}));
  ASSERT_TRUE(sub.ok());
  std::atomic<int> resumed{0};
  ASSERT_FALSE(*broker.Publish("n1", Lines((*sub)->id(), "t1", {std::string(200, 'y')}),
                               [&] { ++resumed; }));
  (*sub)->Close();
  EXPECT_EQ(resumed.load(), 1);
  ASSERT_EQ(n1.Got().size(), 2u);
  EXPECT_TRUE(n1.Got()[1].close());
  EXPECT_EQ(n1.Got()[1].id(), (*sub)->id());
  EXPECT_EQ(broker.Publish("n1", Lines((*sub)->id(), "t1", {"late\n"}), [] {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(LogBrokerTest, TheNodesStreamEndingEndsItsSubscriptionsUnavailable) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1");
  auto sub = broker.Subscribe("n1", {"t1"}, MakeSelector(true, true, true, std::nullopt, {}));
  ASSERT_TRUE(sub.ok());
  broker.Unlisten(n1.listener);
  std::vector<api::LogLine> out;
  Status end;
  EXPECT_EQ((*sub)->Pop(std::chrono::milliseconds(100), &out, &end), Subscription::Next::kEnd);
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(broker.Subscribe("n1", {"t1"}, {}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(LogBrokerTest, ReadWithoutFollowYieldsWhatArrivedThenGivesUpOnASilentNode) {
  LogBroker broker(RealClock(), Small());
  std::string sub_id;
  std::mutex mu;
  std::condition_variable cv;
  auto listener = broker.Listen("n1", [&](const api::SubscriptionMessage& m) {
    std::lock_guard<std::mutex> lock(mu);
    if (!m.close()) sub_id = m.id();
    cv.notify_all();
  });
  std::thread node([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return !sub_id.empty(); });
    const std::string id = sub_id;
    lock.unlock();
    (void)broker.Publish("n1", Lines(id, "t1", {"one\n"}), [] {});  // then silence
  });
  std::vector<std::string> got;
  Status s = broker.Read("n1", "t1", MakeSelector(true, true, false, std::nullopt, {}), nullptr,
                         [&](const api::LogLine& l) {
                           got.push_back(l.data());
                           return true;
                         });
  node.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(got, std::vector<std::string>{"one\n"});
}

TEST(LogBrokerTest, ReadWithFollowEndsWhenCancelledAndTellsTheNode) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1");
  std::atomic<bool> cancel{false};
  std::thread reader([&] {
    (void)broker.Read(
        "n1", "t1", MakeSelector(true, true, true, std::nullopt, {}), [&] { return cancel.load(); },
        [](const api::LogLine&) { return true; });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past idle_timeout: follow waits
  EXPECT_EQ(n1.Got().size(), 1u);
  cancel = true;
  reader.join();
  ASSERT_EQ(n1.Got().size(), 2u);
  EXPECT_TRUE(n1.Got()[1].close());
}

TEST(LogBrokerTest, TheNodesErrorComesBackUnavailable) {
  LogBroker broker(RealClock(), Small());
  auto listener = broker.Listen("n1", [&](const api::SubscriptionMessage& m) {
    if (m.close()) return;
    api::PublishLogsMessage end;
    end.set_subscription_id(m.id());
    end.set_close(true);
    end.set_error("no log for task t1");
    (void)broker.Publish("n1", end, [] {});
  });
  Status s = broker.Read("n1", "t1", MakeSelector(true, true, false, std::nullopt, {}), nullptr,
                         [](const api::LogLine&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "no log for task t1");
}

TEST(LogBrokerTest, ShutdownEndsOpenSubscriptionsAndRefusesNewOnes) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1");
  auto sub = broker.Subscribe("n1", {"t1"}, {});
  ASSERT_TRUE(sub.ok());
  broker.Shutdown();
  std::vector<api::LogLine> out;
  Status end;
  EXPECT_EQ((*sub)->Pop(std::chrono::milliseconds(100), &out, &end), Subscription::Next::kEnd);
  EXPECT_EQ(broker.Subscribe("n1", {"t1"}, {}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(LogBrokerTest, ANodeGoingDownEndsItsSubscriptionsOnly) {
  LogBroker broker(RealClock(), Small());
  FakeNode n1(broker, "n1"), n2(broker, "n2");
  auto s1 = broker.Subscribe("n1", {"t1"}, MakeSelector(true, true, true, std::nullopt, {}));
  auto s2 = broker.Subscribe("n2", {"t2"}, MakeSelector(true, true, true, std::nullopt, {}));
  ASSERT_TRUE(s1.ok() && s2.ok());
  broker.EndNode("n1");
  std::vector<api::LogLine> out;
  Status end;
  EXPECT_EQ((*s1)->Pop(std::chrono::milliseconds(100), &out, &end), Subscription::Next::kEnd);
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*s2)->Pop(std::chrono::milliseconds(20), &out, &end), Subscription::Next::kTimeout);
  // Its stream is still there: a new subscription reaches it.
  EXPECT_TRUE(broker.Subscribe("n1", {"t1"}, {}).ok());
}

}  // namespace
}  // namespace capsule::logbroker
