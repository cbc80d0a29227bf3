// Assignment changes split into parts under a byte budget (manager/dispatcher/assignment_parts.h)
// and put back together at the node (agent/assignment_assembler.h): a 50 MB complete set of
// 100 secrets of 500 KB, which as one message is far over the node's 16 MiB receive limit.
#include "manager/dispatcher/assignment_parts.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "agent/assignment_assembler.h"

namespace capsule::grpctest {
namespace {

using agent::AssignmentAssembler;
using dispatcher::SplitAssignments;

constexpr size_t kNodeReceiveLimit = 16 << 20;  // transport/channels.cc
constexpr size_t kMaxSecretBytes = 500 * 1024;  // Docker's limit on a secret's Data

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// A complete set: `tasks` tasks and `secrets` secrets of `secret_bytes` each.
api::AssignmentChanges Change(bool full, int tasks, int secrets, size_t secret_bytes) {
  api::AssignmentChanges c;
  c.set_full_set(full);
  for (int i = 0; i < tasks; ++i) {
    api::AssignedTask* t = c.add_tasks();
    t->set_id("task-" + std::to_string(i));
    t->set_task(std::string(2000, 'j'));
    t->set_version(i + 1);
  }
  for (int i = 0; i < secrets; ++i) {
    api::AssignedSecret* s = c.add_secrets();
    s->set_id("secret-" + std::to_string(i));
    s->set_name("name-" + std::to_string(i));
    s->set_sealed_data(RandomBytes(secret_bytes, static_cast<uint32_t>(i)));
  }
  return c;
}

// Feeds parts to a fresh assembler; the change it hands out after the last one.
api::AssignmentChanges Reassemble(std::vector<api::AssignmentChanges> parts) {
  AssignmentAssembler assembler;
  api::AssignmentChanges out;
  for (size_t i = 0; i < parts.size(); ++i) {
    StatusOr<bool> complete = assembler.Add(std::move(parts[i]), &out);
    EXPECT_TRUE(complete.ok()) << complete.status();
    EXPECT_EQ(complete.ok() && *complete, i + 1 == parts.size()) << "part " << i;
  }
  EXPECT_FALSE(assembler.pending());
  return out;
}

TEST(AssignmentPartsTest, SmallChangeIsOneMessageAsBefore) {
  api::AssignmentChanges c = Change(true, 3, 2, 100);
  const std::string wire = c.SerializeAsString();
  std::vector<api::AssignmentChanges> parts = SplitAssignments(c);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_FALSE(parts[0].more());
  EXPECT_EQ(parts[0].SerializeAsString(), wire);  // byte for byte what one message was
}

TEST(AssignmentPartsTest, EmptyCompleteSetIsOneMessage) {
  api::AssignmentChanges c;
  c.set_full_set(true);
  std::vector<api::AssignmentChanges> parts = SplitAssignments(c);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_TRUE(parts[0].full_set());
  EXPECT_FALSE(parts[0].more());
}

// The positive control: as one message this set cannot reach the node.
TEST(AssignmentPartsTest, FiftyMegabyteSetIsOverTheNodeLimitAsOneMessage) {
  api::AssignmentChanges c = Change(true, 5, 100, kMaxSecretBytes);
  api::SessionMessage one;
  *one.mutable_assignments() = c;
  EXPECT_GT(one.ByteSizeLong(), 3 * kNodeReceiveLimit);
}

TEST(AssignmentPartsTest, FiftyMegabyteSetSplitsUnderTheBudgetAndReassemblesExactly) {
  api::AssignmentChanges c = Change(true, 5, 100, kMaxSecretBytes);
  const std::string wire = c.SerializeAsString();
  std::vector<api::AssignmentChanges> parts = SplitAssignments(c);
  ASSERT_GE(parts.size(), 7u);  // 51 MB / 8 MiB
  for (size_t i = 0; i < parts.size(); ++i) {
    api::SessionMessage m;
    *m.mutable_assignments() = parts[i];
    EXPECT_LE(m.ByteSizeLong(), dispatcher::kAssignmentPartBudget + 64) << "part " << i;
    EXPECT_LT(m.ByteSizeLong(), kNodeReceiveLimit);
    EXPECT_TRUE(parts[i].full_set()) << "part " << i;
    EXPECT_EQ(parts[i].more(), i + 1 < parts.size()) << "part " << i;
  }
  EXPECT_EQ(Reassemble(std::move(parts)).SerializeAsString(), wire);
}

TEST(AssignmentPartsTest, LargeIncrementalChangeKeepsEveryKindOfItem) {
  api::AssignmentChanges c = Change(false, 2, 40, kMaxSecretBytes);
  for (int i = 0; i < 3; ++i) c.add_removed_task_ids("gone-task-" + std::to_string(i));
  for (int i = 0; i < 4; ++i) c.add_removed_secret_ids("gone-secret-" + std::to_string(i));
  const std::string wire = c.SerializeAsString();
  std::vector<api::AssignmentChanges> parts = SplitAssignments(c);
  ASSERT_GE(parts.size(), 3u);
  for (const api::AssignmentChanges& p : parts) EXPECT_FALSE(p.full_set());
  api::AssignmentChanges back = Reassemble(std::move(parts));
  EXPECT_FALSE(back.full_set());
  EXPECT_EQ(back.SerializeAsString(), wire);
}

TEST(AssignmentPartsTest, ItemLargerThanTheBudgetTravelsAlone) {
  api::AssignmentChanges c = Change(true, 0, 3, 1000);
  std::vector<api::AssignmentChanges> parts = SplitAssignments(c, /*budget=*/500);
  ASSERT_EQ(parts.size(), 3u);
  for (const api::AssignmentChanges& p : parts) EXPECT_EQ(p.secrets_size(), 1);
}

TEST(AssignmentAssemblerTest, ChangeInOneMessagePassesThrough) {
  AssignmentAssembler assembler;
  api::AssignmentChanges out;
  api::AssignmentChanges c = Change(false, 1, 1, 10);
  const std::string wire = c.SerializeAsString();
  StatusOr<bool> complete = assembler.Add(c, &out);
  ASSERT_TRUE(complete.ok());
  EXPECT_TRUE(*complete);
  EXPECT_EQ(out.SerializeAsString(), wire);
}

TEST(AssignmentAssemblerTest, NothingIsHandedOutUntilTheLastPart) {
  std::vector<api::AssignmentChanges> parts =
      SplitAssignments(Change(true, 1, 3, 1000), /*budget=*/1500);
  ASSERT_EQ(parts.size(), 4u);
  AssignmentAssembler assembler;
  api::AssignmentChanges out;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    StatusOr<bool> complete = assembler.Add(parts[i], &out);
    ASSERT_TRUE(complete.ok());
    EXPECT_FALSE(*complete);
    EXPECT_TRUE(assembler.pending());
    EXPECT_EQ(out.secrets_size(), 0);  // the caller has nothing to apply yet
  }
  StatusOr<bool> complete = assembler.Add(parts.back(), &out);
  ASSERT_TRUE(complete.ok());
  EXPECT_TRUE(*complete);
  EXPECT_EQ(out.tasks_size(), 1);
  EXPECT_EQ(out.secrets_size(), 3);
  EXPECT_FALSE(out.more());
  EXPECT_TRUE(out.full_set());
}

TEST(AssignmentAssemblerTest, PartsThatDisagreeOnFullSetAreRefused) {
  AssignmentAssembler assembler;
  api::AssignmentChanges out;
  api::AssignmentChanges first = Change(true, 1, 0, 0);
  first.set_more(true);
  ASSERT_TRUE(assembler.Add(first, &out).ok());
  api::AssignmentChanges second = Change(false, 1, 0, 0);
  StatusOr<bool> complete = assembler.Add(second, &out);
  EXPECT_EQ(complete.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(assembler.pending());
}

TEST(AssignmentAssemblerTest, PendingPartsAreBounded) {
  AssignmentAssembler assembler(/*max_pending_bytes=*/10000);
  api::AssignmentChanges out;
  api::AssignmentChanges part = Change(true, 0, 1, 6000);
  part.set_more(true);
  ASSERT_TRUE(assembler.Add(part, &out).ok());
  StatusOr<bool> complete = assembler.Add(part, &out);
  EXPECT_EQ(complete.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(assembler.pending());
}

}  // namespace
}  // namespace capsule::grpctest
