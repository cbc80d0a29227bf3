// TaskSweeper: every task removed; one whose executor call hangs neither holds back the others
// nor the caller beyond the budget, and is removed once the call returns.
#include "agent/task_sweeper.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include "testing/fake_clock.h"
#include "testing/fake_executor.h"

namespace capsule::agent {
namespace {

using ::capsule::testing::FakeClock;
using ::capsule::testing::FakeExecutor;
using namespace std::chrono_literals;

// A FakeExecutor whose Stop of one task blocks until the test releases it: an executor call
// stuck in the kernel with that task's lock held.
class StuckExecutor : public FakeExecutor {
 public:
  StuckExecutor(const Clock& clock, std::string stuck) : FakeExecutor(clock), stuck_(stuck) {}
  Status Stop(const std::string& task_id) override {
    if (task_id == stuck_) {
      entered_.set_value();
      release_.get_future().wait();
    }
    return FakeExecutor::Stop(task_id);
  }
  void WaitEntered() { entered_.get_future().wait(); }
  void Release() { release_.set_value(); }

 private:
  const std::string stuck_;
  std::promise<void> entered_;
  std::promise<void> release_;
};

RunStatus Running() {
  RunStatus s;
  s.state = RunStatus::State::kRunning;
  return s;
}

TEST(TaskSweeperTest, RemovesEveryTask) {
  FakeClock clock;
  FakeExecutor executor(clock);
  executor.Put("t1", Running());
  executor.Put("t2", Running());
  TaskSweeper sweeper(executor, clock);
  // Budget far beyond what the threads need: RemoveAll returns as soon as both are gone,
  // without the fake clock moving.
  EXPECT_TRUE(sweeper.RemoveAll(1h).empty());
  EXPECT_TRUE(executor.Known().empty());
  EXPECT_TRUE(executor.Called("stop t1"));
  EXPECT_TRUE(executor.Called("remove t2"));
  EXPECT_TRUE(executor.Called("removelogs t2"));
  EXPECT_TRUE(sweeper.InFlight().empty());
}

TEST(TaskSweeperTest, AStuckTaskHoldsBackNeitherTheOthersNorTheCaller) {
  FakeClock clock;
  StuckExecutor executor(clock, "t2");
  executor.Put("t1", Running());
  executor.Put("t2", Running());
  executor.Put("t3", Running());
  TaskSweeper sweeper(executor, clock);
  std::future<std::vector<std::string>> left =
      std::async(std::launch::async, [&] { return sweeper.RemoveAll(15s); });
  executor.WaitEntered();
  // t1's and t3's threads finish on their own (real time); only t2 stays in flight.
  for (int i = 0; i < 1000 && sweeper.InFlight() != std::vector<std::string>{"t2"}; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(sweeper.InFlight(), std::vector<std::string>{"t2"});
  ASSERT_TRUE(clock.AwaitWaiters(1));  // RemoveAll waits for t2
  clock.Advance(15s);
  EXPECT_EQ(left.get(), std::vector<std::string>{"t2"});
  EXPECT_FALSE(executor.Has("t1"));
  EXPECT_FALSE(executor.Has("t3"));
  EXPECT_TRUE(executor.Has("t2"));
  EXPECT_EQ(sweeper.InFlight(), std::vector<std::string>{"t2"});

  // A second sweep (a join and leave again) does not start t2 over while it is stuck.
  EXPECT_EQ(sweeper.RemoveAll(0s), std::vector<std::string>{"t2"});

  executor.Release();  // the stuck call returns: its thread finishes the removal
  std::vector<std::string> after = sweeper.RemoveAll(1h);
  EXPECT_TRUE(after.empty());
  EXPECT_FALSE(executor.Has("t2"));
  EXPECT_TRUE(sweeper.InFlight().empty());
}

// The control for the test above: with the sweep done the old way (one task after the other,
// on the caller's thread) the caller is stuck as long as t2's call is. This shows the stuck
// executor really blocks, so the test above would fail if RemoveAll waited for t2's call.
TEST(TaskSweeperTest, ControlASequentialSweepWaitsForTheStuckCall) {
  FakeClock clock;
  StuckExecutor executor(clock, "t2");
  executor.Put("t2", Running());
  std::future<void> sequential = std::async(std::launch::async, [&] {
    for (const std::string& id : executor.Known()) (void)executor.Stop(id);
  });
  executor.WaitEntered();
  EXPECT_EQ(sequential.wait_for(200ms), std::future_status::timeout);
  executor.Release();
  sequential.get();
}

}  // namespace
}  // namespace capsule::agent
