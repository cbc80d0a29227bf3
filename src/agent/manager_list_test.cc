#include "agent/manager_list.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace capsule::agent {
namespace {

std::vector<std::string> Addrs(const std::vector<RemoteManager>& ms) {
  std::vector<std::string> out;
  for (const RemoteManager& m : ms) out.push_back(m.addr);
  return out;
}

const std::vector<RemoteManager> kThree = {{"m1", "a:1"}, {"m2", "b:1"}, {"m3", "c:1"}};

TEST(ManagerListTest, FirstConfiguredManagerIsDialledFirstAndDuplicatesDropped) {
  ManagerList list({{"", "b:1"}, {"m1", "a:1"}, {"m2", "b:1"}});
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.Pick(""), "b:1");
}

TEST(ManagerListTest, AFailedManagerIsNeverPickedAgainWhileAnotherIsKnown) {
  ManagerList list(kThree);
  list.ObserveFailure("a:1");
  EXPECT_EQ(list.Pick("a:1"), "b:1");
  list.ObserveFailure("b:1");
  EXPECT_EQ(list.Pick("b:1"), "c:1");  // the untried one, not a:1 again
  list.ObserveFailure("c:1");
  // All failed once: the earliest again, never the one that just failed.
  EXPECT_EQ(list.Pick("c:1"), "a:1");
}

TEST(ManagerListTest, TheOnlyManagerIsPickedEvenWhenItJustFailed) {
  ManagerList list(std::vector<RemoteManager>{{"m1", "a:1"}});
  list.ObserveFailure("a:1");
  EXPECT_EQ(list.Pick("a:1"), "a:1");
  EXPECT_EQ(ManagerList(std::vector<RemoteManager>{}).Pick(""), "");
}

TEST(ManagerListTest, WeightsRiseWithSuccessAndFallFasterWithFailureWithinBounds) {
  ManagerList list(kThree);
  for (int i = 0; i < 20; ++i) list.ObserveSuccess("b:1");
  EXPECT_EQ(list.WeightOf("b:1"), kMaxWeight);
  EXPECT_EQ(list.Pick(""), "b:1");  // the heaviest, though listed second
  list.ObserveFailure("b:1");
  EXPECT_EQ(list.WeightOf("b:1"), kMaxWeight - kFailureWeight);
  for (int i = 0; i < 20; ++i) list.ObserveFailure("c:1");
  EXPECT_EQ(list.WeightOf("c:1"), kMinWeight);
  EXPECT_EQ(list.WeightOf("zz:1"), 0);
}

TEST(ManagerListTest, ReplaceKeepsKnownWeightsForgetsTheRestAndReportsChange) {
  ManagerList list(kThree);
  list.ObserveFailure("a:1");
  EXPECT_FALSE(list.Replace(kThree));
  EXPECT_TRUE(list.Replace({{"m1", "a:1"}, {"m4", "d:1"}}));
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.WeightOf("a:1"), -kFailureWeight);
  EXPECT_EQ(list.WeightOf("d:1"), 0);
  EXPECT_EQ(list.Pick(""), "d:1");
  EXPECT_FALSE(list.Replace({}));  // a dispatcher naming nobody is ignored
  EXPECT_EQ(list.size(), 2u);
}

TEST(ManagerListTest, OrderedPutsTheCurrentManagerFirst) {
  ManagerList list(kThree);
  EXPECT_EQ(Addrs(list.Ordered("c:1")), (std::vector<std::string>{"c:1", "a:1", "b:1"}));
  EXPECT_EQ(Addrs(list.Ordered("")), (std::vector<std::string>{"a:1", "b:1", "c:1"}));
}

class ManagerListFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/manager_list_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/managers.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }

  std::string dir_;
  std::string path_;
};

TEST_F(ManagerListFileTest, SavedListLoadsBackInOrderWithMode0600) {
  ASSERT_TRUE(SaveManagerList(path_, "cluster1", kThree).ok());
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  StatusOr<std::vector<RemoteManager>> loaded = LoadManagerList(path_, "cluster1");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, kThree);
  // Saving again replaces the file whole (no temporary left beside it).
  ASSERT_TRUE(SaveManagerList(path_, "cluster1", {{"m2", "b:1"}}).ok());
  EXPECT_EQ(LoadManagerList(path_, "cluster1")->size(), 1u);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(ManagerListFileTest, MissingFileOrAnotherSwarmsListIsEmpty) {
  StatusOr<std::vector<RemoteManager>> none = LoadManagerList(path_, "cluster1");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(SaveManagerList(path_, "cluster1", kThree).ok());
  StatusOr<std::vector<RemoteManager>> other = LoadManagerList(path_, "cluster2");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(ManagerListFileTest, MalformedFileIsDataLoss) {
  for (const std::string& text :
       {std::string("not json"), std::string("{\"ClusterID\":\"c\"}"),
        std::string("{\"ClusterID\":\"c\",\"Managers\":[{\"NodeID\":\"m\"}]}"),
        std::string("{\"ClusterID\":7,\"Managers\":[]}")}) {
    Write(text);
    EXPECT_EQ(LoadManagerList(path_, "c").status().code(), absl::StatusCode::kDataLoss) << text;
  }
  Write("{\"ClusterID\":\"c\",\"Managers\":[{\"NodeID\":5,\"Addr\":\"a:1\"}]}");
  StatusOr<std::vector<RemoteManager>> loaded = LoadManagerList(path_, "c");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, (std::vector<RemoteManager>{{"", "a:1"}}));
}

}  // namespace
}  // namespace capsule::agent
