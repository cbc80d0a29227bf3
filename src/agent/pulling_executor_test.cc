// PullingExecutor against a fake ImageFetcher and the fake executor: a missing image is pulled
// (with the task's credentials) before Prepare, a present one never is, a failed pull ends in
// Docker's "No such image", concurrent tasks share one pull; and the task worker's state
// sequence around it (ACCEPTED → PREPARING → READY/REJECTED).
#include "agent/pulling_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "agent/task_worker.h"
#include "testing/eventually.h"
#include "testing/fake_clock.h"
#include "testing/fake_executor.h"

namespace capsule::agent {
namespace {

using ::capsule::testing::Eventually;
using ::capsule::testing::FakeExecutor;
using std::chrono::milliseconds;

// Images it "has"; a pull adds the image unless `fail` is set. With `gate` closed, a pull
// waits until it opens. Records each pull's credentials.
class FakeFetcher : public ImageFetcher {
 public:
  bool Has(const std::string& image) const override {
    std::lock_guard<std::mutex> lock(mu);
    return images.count(image) > 0;
  }
  Status Pull(const std::string& image, const SecretBytes* auth) override {
    std::unique_lock<std::mutex> lock(mu);
    pulls.push_back(image + " " + (auth == nullptr ? "-" : std::string(auth->view())));
    ++in_pull;
    cv.notify_all();
    cv.wait(lock, [this] { return open; });
    --in_pull;
    if (!fail.ok()) return fail;
    images.insert(image);
    return absl::OkStatus();
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  bool AwaitInPull(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return in_pull >= n; });
  }
  std::vector<std::string> Pulls() const {
    std::lock_guard<std::mutex> lock(mu);
    return pulls;
  }

  mutable std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> images;
  std::vector<std::string> pulls;
  Status fail = absl::OkStatus();
  bool open = true;
  int in_pull = 0;
};

TaskRun MakeRun(const std::string& task, const std::string& image, const SecretBytes* auth) {
  TaskRun r;
  r.task_id = task;
  r.image = image;
  r.registry_auth = auth;
  return r;
}

class PullingExecutorTest : public ::testing::Test {
 protected:
  PullingExecutorTest() {
    auto inner = std::make_unique<FakeExecutor>(RealClock());
    fake_ = inner.get();
    executor_ = NewPullingExecutor(std::move(inner), fetcher_);
  }
  FakeFetcher fetcher_;
  FakeExecutor* fake_;
  std::unique_ptr<Executor> executor_;
};

TEST_F(PullingExecutorTest, APresentImageIsNeverPulled) {
  fetcher_.images.insert("local:1");
  ASSERT_TRUE(executor_->Prepare(MakeRun("t1", "local:1", nullptr)).ok());
  EXPECT_TRUE(fetcher_.Pulls().empty());
  EXPECT_TRUE(fake_->Has("t1"));
}

TEST_F(PullingExecutorTest, AMissingImageIsPulledWithTheTaskCredentialsBeforePrepare) {
  SecretBytes auth = SecretBytes::CopyFrom("eyJ1c2VybmFtZSI6InUifQ");
  ASSERT_TRUE(executor_->Prepare(MakeRun("t1", "127.0.0.1:5000/app:1", &auth)).ok());
  EXPECT_EQ(fetcher_.Pulls(),
            std::vector<std::string>{"127.0.0.1:5000/app:1 eyJ1c2VybmFtZSI6InUifQ"});
  EXPECT_TRUE(fake_->Has("t1"));
}

TEST_F(PullingExecutorTest, ALiveRefreshGoesToTheInnerExecutor) {
  TaskRun run = MakeRun("t1", "local:1", nullptr);
  run.refresh_layout = true;
  ASSERT_TRUE(executor_->Prepare(run).ok());
  SecretBytes v2 = SecretBytes::CopyFrom(std::string_view("v2"));
  SecretFile f;
  f.secret_id = "s1";
  f.target = "pw";
  f.data = &v2;
  StatusOr<bool> r = executor_->RefreshSecret("t1", f, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  EXPECT_TRUE(fake_->Called("refresh t1 pw 1"));
}

TEST_F(PullingExecutorTest, AFailedPullEndsInDockersNoSuchImage) {
  fetcher_.fail = absl::UnavailableError("registry unreachable");
  fake_->SetImageMissing("127.0.0.1:5000/app:1");
  Status s = executor_->Prepare(MakeRun("t1", "127.0.0.1:5000/app:1", nullptr));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "No such image: 127.0.0.1:5000/app:1");
  EXPECT_EQ(fetcher_.Pulls().size(), 1u);
}

TEST_F(PullingExecutorTest, ConcurrentTasksNeedingOneImageShareOnePull) {
  fetcher_.open = false;
  SecretBytes auth = SecretBytes::CopyFrom("creds");
  std::vector<std::thread> threads;
  std::vector<Status> results(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      results[i] = executor_->Prepare(MakeRun("t" + std::to_string(i), "reg:5000/app:1", &auth));
    });
  }
  ASSERT_TRUE(fetcher_.AwaitInPull(1));
  // The others find the pull under way and wait for it.
  std::this_thread::sleep_for(milliseconds(50));
  fetcher_.Open();
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(fetcher_.Pulls().size(), 1u);
}

TEST_F(PullingExecutorTest, AFailedPullWithOtherCredentialsIsTriedAgainWithOwn) {
  fetcher_.fail = absl::PermissionDeniedError("denied");
  SecretBytes wrong = SecretBytes::CopyFrom("wrong");
  SecretBytes right = SecretBytes::CopyFrom("right");
  fake_->SetImageMissing("reg:5000/app:1");
  EXPECT_FALSE(executor_->Prepare(MakeRun("t1", "reg:5000/app:1", &wrong)).ok());
  EXPECT_FALSE(executor_->Prepare(MakeRun("t2", "reg:5000/app:1", &right)).ok());
  EXPECT_EQ(fetcher_.Pulls(),
            (std::vector<std::string>{"reg:5000/app:1 wrong", "reg:5000/app:1 right"}));
}

// The task worker around it: PREPARING is reported before the pull, READY after it.
class PullingTaskWorkerTest : public PullingExecutorTest {
 protected:
  class Reporter : public StatusReporter {
   public:
    Status Report(const std::vector<TaskStatusReport>& batch) override {
      std::lock_guard<std::mutex> lock(mu);
      for (const TaskStatusReport& r : batch) {
        if (seq.empty() || seq.back() != r.status.state) seq.push_back(r.status.state);
        last = r.status;
      }
      return absl::OkStatus();
    }
    std::vector<TaskState> States() {
      std::lock_guard<std::mutex> lock(mu);
      return seq;
    }
    TaskStatus Last() {
      std::lock_guard<std::mutex> lock(mu);
      return last;
    }
    std::mutex mu;
    std::vector<TaskState> seq;
    TaskStatus last;
  };

  void SetUp() override {
    queue_ = std::make_unique<StatusQueue>(reporter_, milliseconds(10));
    worker_ = std::make_unique<TaskWorker>(*executor_, cache_, *queue_, RealClock(),
                                           TaskWorkerOptions{milliseconds(10), milliseconds(300)});
    worker_->Start();
  }
  void TearDown() override {
    worker_->Stop();
    queue_->Stop();
  }
  void Assign(const std::string& auth_id) {
    Task t;
    t.id = "t1";
    t.service_id = "svc1";
    t.node_id = "node1";
    t.spec.container.image = "reg:5000/app:1";
    t.status.state = TaskState::kAssigned;
    t.desired_state = TaskState::kRunning;
    TaskService service{"app", {}, auth_id};
    worker_->Apply(true, {{std::move(t), 1, std::move(service)}}, {});
  }
  bool Reaches(TaskState s) {
    return Eventually([&] { return reporter_.Last().state == s; });
  }

  Reporter reporter_;
  SecretCache cache_;
  std::unique_ptr<StatusQueue> queue_;
  std::unique_ptr<TaskWorker> worker_;
};

TEST_F(PullingTaskWorkerTest, PreparingThenPulledWithTheServiceCredentialsThenRunning) {
  cache_.Put("auth1", SecretBytes::CopyFrom("header-bytes"));
  fetcher_.open = false;
  Assign("auth1");
  ASSERT_TRUE(fetcher_.AwaitInPull(1));
  // While the pull runs the task is PREPARING, as in Docker.
  EXPECT_TRUE(Reaches(TaskState::kPreparing));
  fetcher_.Open();
  ASSERT_TRUE(Reaches(TaskState::kRunning));
  // The status queue coalesces a task's states not yet sent (ACCEPTED may be overtaken by
  // PREPARING), so what is reported is an in-order subsequence of the lifecycle; PREPARING was
  // seen while the pull ran (above) and RUNNING comes last.
  const std::vector<TaskState> lifecycle{TaskState::kAccepted, TaskState::kPreparing,
                                         TaskState::kReady, TaskState::kStarting,
                                         TaskState::kRunning};
  const std::vector<TaskState> seen = reporter_.States();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), TaskState::kRunning);
  EXPECT_TRUE(std::includes(lifecycle.begin(), lifecycle.end(), seen.begin(), seen.end()))
      << "a state out of order or not in the lifecycle";
  EXPECT_EQ(fetcher_.Pulls(), std::vector<std::string>{"reg:5000/app:1 header-bytes"});
}

TEST_F(PullingTaskWorkerTest, AFailedPullRejectsTheTaskWithNoSuchImage) {
  fetcher_.fail = absl::UnauthenticatedError("unauthorized: authentication required");
  fake_->SetImageMissing("reg:5000/app:1");
  Assign("");
  ASSERT_TRUE(Reaches(TaskState::kRejected));
  EXPECT_EQ(reporter_.Last().err, "No such image: reg:5000/app:1");
  EXPECT_EQ(reporter_.Last().message, "preparing");
  EXPECT_EQ(fetcher_.Pulls(), std::vector<std::string>{"reg:5000/app:1 -"});
}

TEST_F(PullingTaskWorkerTest, CredentialsThatNeverArriveRejectTheTaskAfterTheSecretWait) {
  Assign("auth-missing");
  ASSERT_TRUE(Reaches(TaskState::kRejected));
  EXPECT_EQ(reporter_.Last().err, "registry credentials are not available on this node");
  EXPECT_TRUE(fetcher_.Pulls().empty());
}

}  // namespace
}  // namespace capsule::agent
