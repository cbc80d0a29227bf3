#include "manager/logbroker/routed_log_reader.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "testing/fake_clock.h"

namespace capsule::logbroker {
namespace {

api::LogLine Line(int64_t nanos, const std::string& text) {
  api::LogLine l;
  l.set_task_id("t1");
  l.set_time_unix_nanos(nanos);
  l.set_stream(1);
  l.set_data(text);
  return l;
}

api::LogSelector Selector(bool follow, int64_t tail = 5, int64_t since = 0) {
  api::LogSelector s;
  s.set_stdout_lines(true);
  s.set_follow(follow);
  s.set_tail(tail);
  s.set_since_unix_nanos(since);
  return s;
}

// One read as the reader made it: where it went ("" = this manager's broker) and the selector.
struct Call {
  std::string route;
  std::string node_id;
  api::LogSelector selector;
};

// A cluster whose node sessions and per-route answers the test sets. Each read through a route
// sends that route's next scripted lines, then ends with its scripted status.
struct Fixture {
  std::mutex mu;
  std::map<std::string, NodeSession> sessions;
  // route → a queue of (lines, end status), one per read; an empty queue ends UNAVAILABLE.
  std::map<std::string, std::vector<std::pair<std::vector<api::LogLine>, Status>>> script;
  std::vector<Call> calls;
  testing::FakeClock clock;
  RoutedLogOptions options;

  Status Serve(const std::string& route, const std::string& node_id,
               const api::LogSelector& selector, const LineSink& sink) {
    std::vector<api::LogLine> lines;
    Status end = absl::UnavailableError("no answer scripted");
    {
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back({route, node_id, selector});
      auto& q = script[route];
      if (!q.empty()) {
        lines = q.front().first;
        end = q.front().second;
        q.erase(q.begin());
      }
    }
    for (const api::LogLine& l : lines) {
      if (!sink(l)) return absl::OkStatus();
    }
    return end;
  }

  void SetSession(const std::string& node, NodeSession s) {
    std::lock_guard<std::mutex> lock(mu);
    sessions[node] = std::move(s);
  }

  RoutedLogReader Reader() {
    return RoutedLogReader(
        "m1",
        [this](const std::string& node) {
          std::lock_guard<std::mutex> lock(mu);
          auto it = sessions.find(node);
          return it == sessions.end() ? NodeSession{} : it->second;
        },
        [this](const std::string& node, const std::string&, const api::LogSelector& sel,
               const std::function<bool()>&,
               const LineSink& sink) { return Serve("", node, sel, sink); },
        [this](const std::string& addr, const std::string& node, const std::string&,
               const api::LogSelector& sel, const std::function<bool()>&,
               const LineSink& sink) { return Serve(addr, node, sel, sink); },
        clock, options);
  }
};

NodeSession ReadyWith(const std::string& manager, const std::string& addr) {
  return NodeSession{true, true, manager, addr};
}

std::vector<std::string> Texts(const std::vector<api::LogLine>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.data());
  return out;
}

TEST(RoutedLogReader, NodeWithSessionHereIsReadFromThisManagersBroker) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m1", "127.0.0.1:2377"));
  f.script[""] = {{{Line(1, "a\n")}, absl::OkStatus()}};
  std::vector<api::LogLine> got;
  Status s = f.Reader().Read("w1", "t1", Selector(false), nullptr, [&](const api::LogLine& l) {
    got.push_back(l);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(f.calls.size(), 1u);
  EXPECT_EQ(f.calls[0].route, "");
  EXPECT_EQ(Texts(got), std::vector<std::string>{"a\n"});
}

TEST(RoutedLogReader, NodeWithSessionOnAnotherManagerIsReadThroughThatManager) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));
  f.script["127.0.0.2:2377"] = {{{Line(1, "a\n"), Line(2, "b\n")}, absl::OkStatus()}};
  std::vector<api::LogLine> got;
  Status s = f.Reader().Read("w1", "t1", Selector(false), nullptr, [&](const api::LogLine& l) {
    got.push_back(l);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(f.calls.size(), 1u);
  EXPECT_EQ(f.calls[0].route, "127.0.0.2:2377");
  EXPECT_EQ(f.calls[0].node_id, "w1");
  EXPECT_EQ(f.calls[0].selector.tail(), 5);  // passed on unchanged
  EXPECT_EQ(Texts(got), (std::vector<std::string>{"a\n", "b\n"}));
}

TEST(RoutedLogReader, UnknownSessionManagerOrAddressFallsBackToThisManager) {
  RoutedLogReader r = Fixture().Reader();
  EXPECT_EQ(r.RouteOf(NodeSession{true, true, "", ""}), "");
  EXPECT_EQ(r.RouteOf(NodeSession{true, true, "m2", ""}), "");  // no ManagerStatus.Addr known
  EXPECT_EQ(r.RouteOf(NodeSession{}), "");                      // a removed node
  EXPECT_EQ(r.RouteOf(ReadyWith("m1", "127.0.0.1:2377")), "");
  EXPECT_EQ(r.RouteOf(ReadyWith("m3", "127.0.0.3:2377")), "127.0.0.3:2377");
}

TEST(RoutedLogReader, ReadWithoutFollowIsNotRetriedElsewhere) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));
  f.script["127.0.0.2:2377"] = {{{}, absl::UnavailableError("gone")}};
  Status s = f.Reader().Read("w1", "t1", Selector(false), nullptr,
                             [](const api::LogLine&) { return true; });
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(f.calls.size(), 1u);
}

TEST(RoutedLogReader, FollowMovesToTheNodesNewManagerAfterTheLastLine) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));
  f.script["127.0.0.2:2377"] = {{{Line(100, "a\n"), Line(200, "b\n")},
                                 absl::UnavailableError("node w1 stopped sending logs")}};
  f.script["127.0.0.3:2377"] = {{{Line(300, "c\n")}, absl::OkStatus()}};
  std::vector<api::LogLine> got;
  Status s;
  std::thread reader([&] {
    s = f.Reader().Read("w1", "t1", Selector(true, 5, 50), nullptr, [&](const api::LogLine& l) {
      got.push_back(l);
      return true;
    });
  });
  ASSERT_TRUE(f.clock.AwaitWaiters(1));  // waiting for w1 to show up elsewhere
  f.SetSession("w1", ReadyWith("m3", "127.0.0.3:2377"));
  f.clock.Advance(f.options.reroute_poll);
  reader.join();
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(f.calls.size(), 2u);
  EXPECT_EQ(f.calls[1].route, "127.0.0.3:2377");
  EXPECT_TRUE(f.calls[1].selector.follow());
  EXPECT_EQ(f.calls[1].selector.tail(), -1);               // the tail was already served
  EXPECT_EQ(f.calls[1].selector.since_unix_nanos(), 201);  // just after the last line
  EXPECT_EQ(Texts(got), (std::vector<std::string>{"a\n", "b\n", "c\n"}));
}

TEST(RoutedLogReader, FollowMovingBeforeAnyLineKeepsTheSelector) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m1", "127.0.0.1:2377"));
  f.script[""] = {{{}, absl::UnavailableError("node w1 stopped sending logs")}};
  f.script["127.0.0.2:2377"] = {{{}, absl::OkStatus()}};
  Status s;
  std::thread reader([&] {
    s = f.Reader().Read("w1", "t1", Selector(true, 5, 50), nullptr,
                        [](const api::LogLine&) { return true; });
  });
  ASSERT_TRUE(f.clock.AwaitWaiters(1));
  f.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));  // moved away from this manager
  f.clock.Advance(f.options.reroute_poll);
  reader.join();
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(f.calls.size(), 2u);
  EXPECT_EQ(f.calls[1].route, "127.0.0.2:2377");
  EXPECT_EQ(f.calls[1].selector.tail(), 5);
  EXPECT_EQ(f.calls[1].selector.since_unix_nanos(), 50);
}

TEST(RoutedLogReader, FollowRetriesTheNewManagerUntilTheNodesStreamIsUpThere) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));
  f.script["127.0.0.2:2377"] = {{{Line(100, "a\n")}, absl::UnavailableError("m2 went away")}};
  // w1's session moved here; its log stream is not up yet on the first try.
  f.script[""] = {{{}, absl::UnavailableError("node w1 is not sending logs")},
                  {{Line(200, "b\n")}, absl::OkStatus()}};
  std::vector<api::LogLine> got;
  Status s;
  std::thread reader([&] {
    s = f.Reader().Read("w1", "t1", Selector(true), nullptr, [&](const api::LogLine& l) {
      got.push_back(l);
      return true;
    });
  });
  ASSERT_TRUE(f.clock.AwaitWaiters(1));
  f.SetSession("w1", ReadyWith("m1", "127.0.0.1:2377"));
  f.clock.Advance(f.options.reroute_poll);  // → read here, which fails at once
  ASSERT_TRUE(f.clock.AwaitWaiters(1));     // → a pause before trying here again
  f.clock.Advance(f.options.reroute_poll);
  reader.join();
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(f.calls.size(), 3u);
  EXPECT_EQ(f.calls[1].route, "");
  EXPECT_EQ(f.calls[2].route, "");
  EXPECT_EQ(f.calls[2].selector.since_unix_nanos(), 101);
  EXPECT_EQ(Texts(got), (std::vector<std::string>{"a\n", "b\n"}));
}

TEST(RoutedLogReader, FollowOfANodeThatWentDownEndsAtOnce) {
  Fixture f;
  f.SetSession("w1", NodeSession{true, false, "", ""});
  f.script[""] = {{{}, absl::UnavailableError("node w1 is down")}};
  Status s = f.Reader().Read("w1", "t1", Selector(true), nullptr,
                             [](const api::LogLine&) { return true; });
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(f.calls.size(), 1u);
}

TEST(RoutedLogReader, FollowOfANodeThatStaysWithItsManagerEndsAfterTheWait) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));
  f.script["127.0.0.2:2377"] = {{{}, absl::UnavailableError("no log for task t1")}};
  Status s;
  std::thread reader([&] {
    s = f.Reader().Read("w1", "t1", Selector(true), nullptr,
                        [](const api::LogLine&) { return true; });
  });
  ASSERT_TRUE(f.clock.AwaitWaiters(1));
  f.clock.Advance(f.options.reroute_wait);
  reader.join();
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(f.calls.size(), 1u);
}

TEST(RoutedLogReader, FollowWhoseReaderWentAwayIsNotRerouted) {
  Fixture f;
  f.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));
  f.script["127.0.0.2:2377"] = {{{Line(1, "a\n")}, absl::UnavailableError("gone")}};
  Status s = f.Reader().Read("w1", "t1", Selector(true), nullptr,
                             [](const api::LogLine&) { return false; });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(f.calls.size(), 1u);
  Fixture g;
  g.SetSession("w1", ReadyWith("m2", "127.0.0.2:2377"));
  s = g.Reader().Read(
      "w1", "t1", Selector(true), [] { return true; }, [](const api::LogLine&) { return true; });
  EXPECT_EQ(g.calls.size(), 1u);
}

}  // namespace
}  // namespace capsule::logbroker
