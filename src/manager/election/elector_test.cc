// The elector against a real etcd member: one leader among candidates, its fence is the key's
// create_revision, leadership ends when the lease ends (revoked here, as an expiry would) or
// on StepDown, Stop resigns so another candidate takes over at once, and a key left by this
// candidate's own previous run is taken over without waiting for its lease.
#include "manager/election/elector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "store/etcd/etcd_test_env.h"

namespace capsule::election {
namespace {

using etcd::testing::EtcdTest;
using etcd::testing::WaitFor;

constexpr char kKey[] = "/capsule/v1/election/leader";
constexpr auto kSoon = std::chrono::seconds(5);

// One candidate with its own client, recording its callbacks.
class Candidate {
 public:
  Candidate(const etcd::Supervisor& supervisor, const std::string& id,
            std::function<bool()> defer = nullptr) {
    // As the manager's: a call timeout below the TTL.
    etcd::ClientOptions co;
    co.endpoint = supervisor.ClientEndpoint();
    co.call_timeout = std::chrono::milliseconds(500);
    StatusOr<std::unique_ptr<etcd::Client>> c = etcd::Client::Connect(co, std::chrono::seconds(10));
    EXPECT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
    ElectorOptions options;
    options.key = kKey;
    options.candidate = id;
    options.defer_campaign = std::move(defer);
    options.defer_period = std::chrono::milliseconds(1500);
    ElectorCallbacks callbacks;
    callbacks.on_elected = [this](const store::Fence& fence) {
      std::lock_guard<std::mutex> lock(mu_);
      EXPECT_FALSE(working_) << "elected twice without losing in between";
      working_ = true;
      fences_.push_back(fence);
    };
    callbacks.on_lost = [this] {
      std::lock_guard<std::mutex> lock(mu_);
      EXPECT_TRUE(working_) << "lost without being elected";
      working_ = false;
      ++losses_;
    };
    elector_ = std::make_unique<Elector>(*client_, RealClock(), options, callbacks);
  }
  ~Candidate() { elector_.reset(); }

  Elector& elector() { return *elector_; }
  bool working() {
    std::lock_guard<std::mutex> lock(mu_);
    return working_;
  }
  int losses() {
    std::lock_guard<std::mutex> lock(mu_);
    return losses_;
  }
  std::vector<store::Fence> fences() {
    std::lock_guard<std::mutex> lock(mu_);
    return fences_;
  }

 private:
  std::unique_ptr<etcd::Client> client_;
  std::unique_ptr<Elector> elector_;
  std::mutex mu_;
  bool working_ = false;
  int losses_ = 0;
  std::vector<store::Fence> fences_;
};

class ElectorTest : public EtcdTest {
 protected:
  etcd::KeyValue LeaderKey() {
    StatusOr<etcd::RangeResult> r = client_->Range(kKey, "");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->kvs.empty()) return {};
    return r->kvs.front();
  }
};

TEST_F(ElectorTest, ALoneCandidateLeadsAndItsFenceIsTheKeysCreateRevision) {
  Candidate m1(*supervisor_, "m1");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
  EXPECT_TRUE(m1.elector().IsLeader());
  EXPECT_EQ(m1.elector().Leader(), "m1");
  const etcd::KeyValue kv = LeaderKey();
  EXPECT_EQ(kv.value, "m1");
  EXPECT_NE(kv.lease, 0);  // under a lease: it goes when the leader does
  ASSERT_EQ(m1.fences().size(), 1u);
  EXPECT_EQ(m1.fences()[0].key, kKey);
  EXPECT_EQ(m1.fences()[0].create_revision, kv.create_revision);
}

TEST_F(ElectorTest, OfTwoCandidatesOneLeadsAndTheOtherSeesIt) {
  Candidate m1(*supervisor_, "m1"), m2(*supervisor_, "m2");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
  m2.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m2.elector().Leader() == "m1"; }, kSoon));
  EXPECT_FALSE(m2.working());
  EXPECT_FALSE(m2.elector().IsLeader());
  // The leader keeps its lease alive well past the TTL.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(m1.working());
  EXPECT_FALSE(m2.working());
  EXPECT_EQ(LeaderKey().value, "m1");
}

TEST_F(ElectorTest, StopResignsAndAnotherCandidateTakesOverAtOnce) {
  Candidate m1(*supervisor_, "m1"), m2(*supervisor_, "m2");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
  m2.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m2.elector().Leader() == "m1"; }, kSoon));
  const auto t0 = std::chrono::steady_clock::now();
  m1.elector().Stop();
  EXPECT_FALSE(m1.working());  // on_lost ran before Stop returned
  EXPECT_NE(LeaderKey().value, "m1");
  ASSERT_TRUE(WaitFor([&] { return m2.working(); }, kSoon));
  const auto took = std::chrono::steady_clock::now() - t0;
  std::printf(
      "handover after Stop: %lld ms\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_EQ(LeaderKey().value, "m2");
}

TEST_F(ElectorTest, ALeaderWhoseLeaseEndsLosesAndTheOtherLeadsWithANewFence) {
  Candidate m1(*supervisor_, "m1"), m2(*supervisor_, "m2");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
  m2.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m2.elector().Leader() == "m1"; }, kSoon));
  // What an expiry does (the leader paused or cut off): the lease and its key are gone.
  ASSERT_OK(client_->LeaseRevoke(LeaderKey().lease));
  // m1 may win the vacancy again a few ms after losing (CI saw 3 ms), so the poll waits for the
  // loss itself, not for a window in which m1 is not working.
  ASSERT_TRUE(WaitFor([&] { return m1.losses() == 1; }, kSoon));
  ASSERT_TRUE(WaitFor([&] { return m2.working() || m1.working(); }, kSoon));
  // Whoever leads now holds a fence of a later term than m1's first one.
  const etcd::KeyValue kv = LeaderKey();
  EXPECT_GT(kv.create_revision, m1.fences().front().create_revision);
  EXPECT_EQ(m1.working() + m2.working(), 1);
}

TEST_F(ElectorTest, StepDownEndsTheTermAndTheCandidateCampaignsAgain) {
  Candidate m1(*supervisor_, "m1");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
  const int64_t first = m1.fences().front().create_revision;
  m1.elector().StepDown();
  ASSERT_TRUE(WaitFor([&] { return m1.losses() == 1; }, kSoon));
  // Alone, it wins again, with a new term.
  ASSERT_TRUE(WaitFor([&] { return m1.working() && m1.fences().size() == 2; }, kSoon));
  EXPECT_GT(m1.fences().back().create_revision, first);
}

TEST_F(ElectorTest, AKeyLeftByThisCandidatesPreviousRunIsTakenOverWithoutWaiting) {
  StatusOr<int64_t> lease = client_->LeaseGrant(std::chrono::seconds(60));
  ASSERT_OK(lease.status());
  ASSERT_OK(client_->Txn({}, {etcd::Op::Put(kKey, "m1", *lease)}, {}).status());
  Candidate m1(*supervisor_, "m1");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));  // far less than 60 s
  EXPECT_NE(LeaderKey().lease, *lease);
}

TEST_F(ElectorTest, AnotherCandidatesKeyIsWaitedOutUntilItsLeaseEnds) {
  StatusOr<int64_t> lease = client_->LeaseGrant(std::chrono::seconds(60));
  ASSERT_OK(lease.status());
  ASSERT_OK(client_->Txn({}, {etcd::Op::Put(kKey, "other", *lease)}, {}).status());
  Candidate m1(*supervisor_, "m1");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.elector().Leader() == "other"; }, kSoon));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(m1.working());
  ASSERT_OK(client_->LeaseRevoke(*lease));
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
}

TEST_F(ElectorTest, ALeaderThatCannotReachEtcdStepsDownWithinAboutATtl) {
  Candidate m1(*supervisor_, "m1");
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
  const auto t0 = std::chrono::steady_clock::now();
  supervisor_->Stop();  // etcd gone: keepalives fail
  ASSERT_TRUE(WaitFor([&] { return !m1.working(); }, kSoon));
  const auto took = std::chrono::steady_clock::now() - t0;
  // The TTL (1 s) counted from the last keepalive sent, plus at most one call timeout.
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  EXPECT_FALSE(m1.elector().IsLeader());
}

TEST_F(ElectorTest, ACandidateThatDefersLetsAnotherWinTheVacancy) {
  Candidate m1(*supervisor_, "m1"), m2(*supervisor_, "m2", [] { return true; });
  m1.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m1.working(); }, kSoon));
  m2.elector().Start();
  ASSERT_TRUE(WaitFor([&] { return m2.elector().Leader() == "m1"; }, kSoon));
  // m1 resigns and campaigns again at once; m2 waits defer_period first: m1 wins again.
  m1.elector().StepDown();
  ASSERT_TRUE(WaitFor([&] { return m1.losses() == 1 && m1.working(); }, kSoon));
  EXPECT_FALSE(m2.working());
  // Alone, a deferring candidate still wins, after its deferral.
  m1.elector().Stop();
  ASSERT_TRUE(WaitFor([&] { return m2.working(); }, kSoon));
}

}  // namespace
}  // namespace capsule::election
