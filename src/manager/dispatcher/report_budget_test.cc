#include "manager/dispatcher/report_budget.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace capsule::dispatcher {
namespace {

TEST(ReportBudgetTest, ANodeStartsWithAFullBurst) {
  testing::FakeClock clock;
  ReportBudget budget(clock, {.burst = 100, .per_second = 10});
  EXPECT_TRUE(budget.Take("n1", 100));
  EXPECT_FALSE(budget.Take("n1", 1));
}

TEST(ReportBudgetTest, ARefusedBatchTakesNothing) {
  testing::FakeClock clock;
  ReportBudget budget(clock, {.burst = 100, .per_second = 10});
  EXPECT_TRUE(budget.Take("n1", 60));
  EXPECT_FALSE(budget.Take("n1", 50));  // only 40 left
  EXPECT_TRUE(budget.Take("n1", 40));
}

TEST(ReportBudgetTest, RefillsAtTheRateUpToTheBurst) {
  testing::FakeClock clock;
  ReportBudget budget(clock, {.burst = 100, .per_second = 10});
  ASSERT_TRUE(budget.Take("n1", 100));
  clock.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(budget.Take("n1", 20));
  EXPECT_FALSE(budget.Take("n1", 1));
  clock.Advance(std::chrono::hours(1));
  EXPECT_FALSE(budget.Take("n1", 101));  // never more than the burst
  EXPECT_TRUE(budget.Take("n1", 100));
}

TEST(ReportBudgetTest, NodesHaveSeparateBuckets) {
  testing::FakeClock clock;
  ReportBudget budget(clock, {.burst = 10, .per_second = 1});
  ASSERT_TRUE(budget.Take("hostile", 10));
  EXPECT_FALSE(budget.Take("hostile", 1));
  EXPECT_TRUE(budget.Take("honest", 10));
}

TEST(ReportBudgetTest, HostileWorkerIsHeldToTheSustainedRate) {
  testing::FakeClock clock;
  ReportBudget budget(clock, {.burst = 1000, .per_second = 50});
  int accepted = 0;
  // One update every millisecond for 60 s.
  for (int i = 0; i < 60000; ++i) {
    if (budget.Take("w", 1)) ++accepted;
    clock.Advance(std::chrono::milliseconds(1));
  }
  EXPECT_LE(accepted, 1000 + 60 * 50 + 1);
  EXPECT_GE(accepted, 1000 + 59 * 50);
}

TEST(ReportBudgetTest, ForgetsRefilledNodesBeyondTheCap) {
  testing::FakeClock clock;
  ReportBudget budget(clock, {.burst = 10, .per_second = 1, .max_nodes = 2});
  ASSERT_TRUE(budget.Take("a", 10));
  ASSERT_TRUE(budget.Take("b", 1));
  clock.Advance(std::chrono::seconds(20));  // both full again: both may be forgotten
  EXPECT_TRUE(budget.Take("c", 10));
  EXPECT_TRUE(budget.Take("a", 10));
}

TEST(ReportBudgetTest, NegativeCountIsRefused) {
  testing::FakeClock clock;
  ReportBudget budget(clock);
  EXPECT_FALSE(budget.Take("n", -1));
}

}  // namespace
}  // namespace capsule::dispatcher
