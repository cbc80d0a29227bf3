// The runc executor end to end, as root: a busybox-static image, real runc, real overlay and
// tmpfs mounts, the real capsule-shim.
#include "agent/executor/executor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/executor/fs_util.h"
#include "agent/executor/layout.h"
#include "agent/executor/oci_spec.h"
#include "agent/executor/shim_status.h"
#include "agent/executor/subprocess.h"
#include "agent/executor/task_logs.h"
#include "agent/executor/test_rootfs.h"
#include "common/ids.h"
#include "testing/eventually.h"
#include "testing/status_macros.h"

namespace capsule::agent {
namespace {

using ::capsule::testing::Eventually;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kImage[] = "capsule/busybox:1";
constexpr char kRunc[] = "/usr/bin/runc";

// Mount points (second field of /proc/self/mounts) that start with `prefix`.
std::vector<std::string> MountsUnder(const std::string& prefix) {
  std::ifstream in("/proc/self/mounts");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() > 1 && f[1].rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

bool HostHasRunSecretsMount() {
  for (const std::string& line : MountsUnder("/")) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f[1].find("/run/secrets") != std::string::npos) return true;
  }
  return false;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-exec-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    config_.exec_root = base_ + "/exec";
    config_.data_root = base_ + "/data";
    config_.runc_binary = kRunc;
    config_.shim_binary = CAPSULE_SHIM_BINARY;
    ASSERT_NO_THROW(testing::BuildBusyboxRootfs(base_ + "/image"));
    ImageConfig image;
    image.env = {"PATH=/bin"};
    image.cmd = {"/bin/sh"};
    store_ = std::make_unique<testing::OneImageStore>(kImage, base_ + "/image", image);
    executor_ = NewRuncExecutor(config_, *store_);
    logs_ = NewTaskLogs(config_.data_root);
  }

  void TearDown() override {
    if (executor_ != nullptr) {
      for (const std::string& id : executor_->Known()) {
        EXPECT_TRUE(executor_->Remove(id).ok()) << id;
        EXPECT_TRUE(executor_->RemoveLogs(id).ok()) << id;
      }
    }
    // Nothing of ours may stay mounted; clean up anyway so a failure does not leak mounts.
    std::vector<std::string> left = MountsUnder(base_);
    EXPECT_TRUE(left.empty()) << absl::StrJoin(left, "\n");
    for (auto it = left.rbegin(); it != left.rend(); ++it) {
      std::vector<std::string> f = absl::StrSplit(*it, ' ');
      ::umount2(f[1].c_str(), MNT_DETACH);
    }
    EXPECT_TRUE(RemoveTree(base_).ok());
  }

  TaskRun Run(std::vector<std::string> command) {
    TaskRun run;
    run.task_id = NewId();
    run.image = kImage;
    run.command = std::move(command);
    return run;
  }

  RunStatus WaitExited(const std::string& id, seconds timeout = seconds(30)) {
    StatusOr<RunStatus> rs = absl::UnknownError("not inspected");
    const bool exited = Eventually(
        [&] {
          rs = executor_->Inspect(id);
          return !rs.ok() || rs->state == RunStatus::State::kExited;
        },
        timeout, milliseconds(20));
    EXPECT_TRUE(rs.ok()) << rs.status();
    if (!exited) ADD_FAILURE() << "task " << id << " did not exit";
    return rs.value_or(RunStatus{});
  }

  // The task's whole log (both streams), following it to its end.
  std::string Output(const std::string& id, int stream = 0) {
    std::string out;
    LogQuery q;
    q.follow = true;
    q.stdout_lines = stream != 2;
    q.stderr_lines = stream != 1;
    Status st = logs_->Read(id, q, [&](const LogLine& l) {
      out += l.text;
      return true;
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  // Follows the task's log until its first line.
  std::string WaitFirstLine(const std::string& id) {
    std::string first;
    LogQuery q;
    q.follow = true;
    Status st = logs_->Read(id, q, [&](const LogLine& l) {
      first = l.text;
      return false;
    });
    EXPECT_TRUE(st.ok()) << st;
    return first;
  }

  std::string base_;
  ExecutorConfig config_;
  std::unique_ptr<testing::OneImageStore> store_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<TaskLogs> logs_;
};

TEST_F(ExecutorTest, SecretDeliveredOnReadOnlyTmpfsWithOwnerAndMode) {
  SecretBytes pw = SecretBytes::CopyFrom(std::string_view("s3cr3t"));
  TaskRun run = Run({"sh", "-c",
                     "stat -c '%u %g %a' /run/secrets/password; cat /run/secrets/password; echo; "
                     "grep /run/secrets /proc/mounts; id -u; "
                     "echo x 2>/dev/null >/run/secrets/password || echo readonly"});
  SecretFile f;
  f.secret_id = NewId();
  f.target = "password";
  f.uid = 2000;
  f.gid = 3000;
  f.mode = 0400;
  f.data = &pw;
  run.secrets = {f};
  ASSERT_OK(executor_->Prepare(run));

  // On the host: the task's tmpfs (and its overlay rootfs) only, nothing at /run/secrets.
  const TaskPaths p = PathsFor(config_.exec_root, config_.data_root, run.task_id);
  std::vector<std::string> mounts = MountsUnder(base_);
  ASSERT_EQ(mounts.size(), 2u) << absl::StrJoin(mounts, "\n");
  EXPECT_EQ(MountsUnder(p.secrets).size(), 1u);
  EXPECT_EQ(MountsUnder(p.rootfs).size(), 1u);
  EXPECT_FALSE(HostHasRunSecretsMount());
  // The OCI config holds the path, never the value.
  std::string config = *ReadFile(p.config);
  EXPECT_EQ(config.find("s3cr3t"), std::string::npos);
  EXPECT_NE(config.find(p.secrets + "/" + f.secret_id), std::string::npos);

  ASSERT_OK(executor_->Start(run.task_id));
  EXPECT_FALSE(HostHasRunSecretsMount());
  EXPECT_EQ(MountsUnder(base_).size(), 2u);  // runc's binds live in the task's namespace only
  RunStatus rs = WaitExited(run.task_id);
  EXPECT_EQ(rs.exit_code, 0);
  const std::string out = Output(run.task_id, 1);
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  ASSERT_GE(lines.size(), 5u) << out;
  EXPECT_EQ(lines[0], "2000 3000 400");
  EXPECT_EQ(lines[1], "s3cr3t");
  EXPECT_EQ(lines[2].rfind("tmpfs /run/secrets/password tmpfs ro,nosuid,nodev,noexec", 0), 0u)
      << lines[2];
  EXPECT_EQ(lines[3], "0");
  EXPECT_EQ(lines[4], "readonly");

  // Logs and the host: no secret value in the task's log dir but the task's own output.
  ASSERT_OK(executor_->Remove(run.task_id));
  EXPECT_TRUE(MountsUnder(base_).empty());
  EXPECT_NE(::access(p.secrets.c_str(), F_OK), 0);
  EXPECT_NE(::access(p.bundle.c_str(), F_OK), 0);
  EXPECT_TRUE(executor_->Remove(run.task_id).ok());  // idempotent
  EXPECT_EQ(Output(run.task_id, 1), out);            // logs outlive the task
  ASSERT_TRUE(executor_->RemoveLogs(run.task_id).ok());
  EXPECT_EQ(logs_->Read(run.task_id, {}, [](const LogLine&) { return true; }).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ExecutorTest, AbsoluteTargetAndTwoSecretsAsNonRootUser) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("alpha"));
  SecretBytes b = SecretBytes::CopyFrom(std::string_view("bravo"));
  TaskRun run = Run({"sh", "-c",
                     "cat /etc/app/key; echo; cat /run/secrets/sub/b; echo; id; "
                     "grep -c ' /etc/app/key tmpfs ro,nosuid,nodev,noexec' /proc/mounts; "
                     "cat /run/secrets/sub/b2 2>/dev/null || echo denied"});
  run.user = "app";
  SecretFile fa;
  fa.secret_id = NewId();
  fa.target = "/etc/app/key";
  fa.uid = 2000;
  fa.mode = 0400;
  fa.data = &a;
  SecretFile fb;
  fb.secret_id = NewId();
  fb.target = "sub/b";
  fb.gid = 3000;
  fb.mode = 0440;
  fb.data = &b;
  SecretFile fb2 = fb;  // the same secret again, root-only this time
  fb2.target = "sub/b2";
  fb2.gid = 0;
  fb2.mode = 0400;
  run.secrets = {fa, fb, fb2};
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  EXPECT_EQ(WaitExited(run.task_id).exit_code, 0);
  EXPECT_EQ(Output(run.task_id),
            "alpha\nbravo\nuid=2000(app) gid=3000(app) groups=4000(extra)\n1\ndenied\n");
}

TEST_F(ExecutorTest, BadTargetsAreRejectedAndLeaveNothing) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("alpha"));
  for (const char* target : {"../escape", "a//b", "/etc/../x", ""}) {
    TaskRun run = Run({"true"});
    SecretFile f;
    f.secret_id = NewId();
    f.target = target;
    f.data = &a;
    run.secrets = {f};
    Status st = executor_->Prepare(run);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << target << ": " << st;
  }
  TaskRun dup = Run({"true"});
  SecretFile f1;
  f1.secret_id = NewId();
  f1.target = "x";
  f1.data = &a;
  SecretFile f2 = f1;
  f2.secret_id = NewId();
  f2.target = "/run/secrets/x";
  dup.secrets = {f1, f2};
  EXPECT_EQ(executor_->Prepare(dup).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(executor_->Known().empty());
  EXPECT_TRUE(MountsUnder(base_).empty());
}

TEST_F(ExecutorTest, MissingImageAndUnknownUser) {
  TaskRun run = Run({"true"});
  run.image = "nope:1";
  Status st = executor_->Prepare(run);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "No such image: nope:1");
  TaskRun bad_user = Run({"true"});
  bad_user.user = "ghost";
  EXPECT_EQ(executor_->Prepare(bad_user).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(executor_->Known().empty());
}

TEST_F(ExecutorTest, ExitCodesEnvDirHostnameAndStderr) {
  TaskRun run = Run({"sh"});  // the image's Cmd is /bin/sh: Command + Args replace it
  run.args = {"-c", "echo out; echo err >&2; echo $FOO $PATH $HOSTNAME; pwd; hostname; exit 3"};
  run.env = {"FOO=bar"};
  run.dir = "/tmp";
  ASSERT_OK(executor_->Prepare(run));
  StatusOr<RunStatus> created = executor_->Inspect(run.task_id);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->state, RunStatus::State::kCreated);
  ASSERT_OK(executor_->Start(run.task_id));
  RunStatus rs = WaitExited(run.task_id);
  EXPECT_EQ(rs.exit_code, 3);
  EXPECT_TRUE(rs.error.empty());
  EXPECT_GE(rs.finished_at, rs.started_at);
  const std::string host = run.task_id.substr(0, 12);
  EXPECT_EQ(Output(run.task_id, 1), absl::StrCat("out\nbar /bin ", host, "\n/tmp\n", host, "\n"));
  EXPECT_EQ(Output(run.task_id, 2), "err\n");
  EXPECT_EQ(executor_->Start(run.task_id).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ExecutorTest, MissingExecutableFailsStartWithRuncsMessage) {
  TaskRun run = Run({"no-such-binary"});
  ASSERT_OK(executor_->Prepare(run));
  Status st = executor_->Start(run.task_id);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnknown);
  EXPECT_NE(st.message().find("starting container failed: "), std::string::npos) << st;
  EXPECT_NE(st.message().find("no-such-binary"), std::string::npos) << st;
  StatusOr<RunStatus> rs = executor_->Inspect(run.task_id);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->state, RunStatus::State::kExited);
  EXPECT_NE(rs->exit_code, 0);
  EXPECT_NE(rs->error.find("no-such-binary"), std::string::npos);
}

TEST_F(ExecutorTest, StopKillsAfterTheGracePeriod) {
  TaskRun run = Run({"sleep", "1000"});
  run.stop_grace_period = milliseconds(300);
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  StatusOr<RunStatus> rs = executor_->Inspect(run.task_id);
  ASSERT_TRUE(rs.ok());
  ASSERT_EQ(rs->state, RunStatus::State::kRunning);
  EXPECT_GT(rs->pid, 0);
  EXPECT_EQ(::kill(static_cast<pid_t>(rs->pid), 0), 0);
  // sleep as the namespace's init ignores SIGTERM: SIGKILL after the grace period.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK(executor_->Stop(run.task_id));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(300));
  rs = executor_->Inspect(run.task_id);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->state, RunStatus::State::kExited);
  EXPECT_EQ(rs->exit_code, 128 + SIGKILL);
  EXPECT_TRUE(executor_->Stop(run.task_id).ok());  // already exited
}

TEST_F(ExecutorTest, StopWithTermHandlerExitsCleanly) {
  TaskRun run = Run({"sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; sleep 1000 & wait"});
  run.stop_grace_period = seconds(20);
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  EXPECT_EQ(WaitFirstLine(run.task_id), "up\n");  // the trap is installed
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK(executor_->Stop(run.task_id));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(10));
  EXPECT_EQ(executor_->Inspect(run.task_id)->exit_code, 0);
  EXPECT_EQ(Output(run.task_id), "up\nbye\n");
}

TEST_F(ExecutorTest, NewExecutorReadoptsRunningTask) {
  SecretBytes pw = SecretBytes::CopyFrom(std::string_view("s3cr3t"));
  TaskRun run =
      Run({"sh", "-c", "trap 'exit 7' TERM; cat /run/secrets/pw; echo; sleep 1000 & wait"});
  SecretFile f;
  f.secret_id = NewId();
  f.target = "pw";
  f.data = &pw;
  run.secrets = {f};
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  WaitFirstLine(run.task_id);  // the secret was read before the restart and the stop
  const int64_t pid = executor_->Inspect(run.task_id)->pid;
  // capsuled restarts: a new executor object on the same roots.
  executor_.reset();
  executor_ = NewRuncExecutor(config_, *store_);
  EXPECT_EQ(executor_->Known(), std::vector<std::string>{run.task_id});
  StatusOr<RunStatus> rs = executor_->Inspect(run.task_id);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->state, RunStatus::State::kRunning);
  EXPECT_EQ(rs->pid, pid);
  // The shim is not our child (it was never the old executor's either): it has its own session.
  StatusOr<ShimStatus> shim =
      ReadShimStatus(PathsFor(config_.exec_root, config_.data_root, run.task_id).status);
  ASSERT_TRUE(shim.ok());
  EXPECT_EQ(::getsid(static_cast<pid_t>(shim->shim_pid)), shim->shim_pid);
  EXPECT_NE(::getsid(0), shim->shim_pid);
  ASSERT_OK(executor_->Stop(run.task_id));
  EXPECT_EQ(executor_->Inspect(run.task_id)->exit_code, 7);
  EXPECT_EQ(Output(run.task_id), "s3cr3t\n");
  ASSERT_OK(executor_->Remove(run.task_id));
  EXPECT_TRUE(MountsUnder(base_).empty());
}

TEST_F(ExecutorTest, RemoveKillsARunningTaskAndUnmountsEverything) {
  SecretBytes pw = SecretBytes::CopyFrom(std::string_view("s3cr3t"));
  TaskRun run = Run({"sleep", "1000"});
  SecretFile f;
  f.secret_id = NewId();
  f.target = "pw";
  f.data = &pw;
  run.secrets = {f};
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  const int64_t pid = executor_->Inspect(run.task_id)->pid;
  ASSERT_OK(executor_->Remove(run.task_id));
  EXPECT_TRUE(MountsUnder(base_).empty());
  EXPECT_TRUE(executor_->Known().empty());
  EXPECT_EQ(executor_->Inspect(run.task_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(::kill(static_cast<pid_t>(pid), 0), 0);
  auto state = RunCommand({kRunc, "--root", RuncRoot(config_.exec_root), "state", run.task_id});
  ASSERT_TRUE(state.ok());
  EXPECT_NE(state->exit_code, 0);  // runc no longer knows it
}

TEST_F(ExecutorTest, TaskOutlivingItsShimIsStillSeenStoppedAndRemoved) {
  TaskRun run = Run({"sleep", "1000"});
  run.stop_grace_period = milliseconds(100);
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  const TaskPaths p = PathsFor(config_.exec_root, config_.data_root, run.task_id);
  StatusOr<ShimStatus> shim = ReadShimStatus(p.status);
  ASSERT_TRUE(shim.ok());
  ASSERT_EQ(::kill(static_cast<pid_t>(shim->shim_pid), SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return !ProcessAlive(shim->shim_pid, shim->shim_start_ticks); },
                         seconds(2)));
  StatusOr<RunStatus> rs = executor_->Inspect(run.task_id);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->state, RunStatus::State::kRunning);  // from runc: the container still runs
  EXPECT_EQ(rs->pid, shim->pid);
  ASSERT_OK(executor_->Stop(run.task_id));
  rs = executor_->Inspect(run.task_id);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->state, RunStatus::State::kExited);
  EXPECT_EQ(rs->exit_code, 255);  // nobody recorded it
  EXPECT_FALSE(rs->error.empty());
  ASSERT_OK(executor_->Remove(run.task_id));
  EXPECT_TRUE(MountsUnder(base_).empty());
}

TEST_F(ExecutorTest, ConcurrentTasksEachSeeOnlyTheirOwnSecret) {
  constexpr int kTasks = 4;
  std::vector<SecretBytes> values;
  std::vector<TaskRun> runs;
  for (int i = 0; i < kTasks; ++i) {
    values.push_back(SecretBytes::CopyFrom(absl::StrCat("value-", i)));
  }
  for (int i = 0; i < kTasks; ++i) {
    TaskRun run = Run({"sh", "-c", "cat /run/secrets/s; echo; ls /run/secrets"});
    SecretFile f;
    f.secret_id = NewId();
    f.target = "s";
    f.data = &values[i];
    run.secrets = {f};
    runs.push_back(run);
  }
  std::vector<std::thread> threads;
  std::vector<Status> results(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    threads.emplace_back([&, i] {
      results[i] = executor_->Prepare(runs[i]);
      if (results[i].ok()) results[i] = executor_->Start(runs[i].task_id);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_OK(results[i]);
    EXPECT_EQ(WaitExited(runs[i].task_id).exit_code, 0);
    EXPECT_EQ(Output(runs[i].task_id), absl::StrCat("value-", i, "\ns\n"));
  }
  threads.clear();
  for (int i = 0; i < kTasks; ++i) {
    threads.emplace_back([&, i] { results[i] = executor_->Remove(runs[i].task_id); });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& st : results) EXPECT_TRUE(st.ok()) << st;
  EXPECT_TRUE(MountsUnder(base_).empty());
}

TEST_F(ExecutorTest, PreparedButNeverStartedIsRemoved) {
  TaskRun run = Run({"true"});
  ASSERT_OK(executor_->Prepare(run));
  EXPECT_EQ(executor_->Prepare(run).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(executor_->Stop(run.task_id).ok());
  ASSERT_OK(executor_->Remove(run.task_id));
  EXPECT_TRUE(MountsUnder(base_).empty());
  EXPECT_EQ(executor_->Start(run.task_id).code(), absl::StatusCode::kNotFound);
}

TEST_F(ExecutorTest, ImageOfNamesTheImageIdResolvedAtPrepareUntilRemoved) {
  TaskRun run = Run({"true"});
  EXPECT_EQ(executor_->ImageOf(run.task_id).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(executor_->Prepare(run));
  EXPECT_EQ(executor_->ImageOf(run.task_id).value_or(""), "sha256:0123");  // OneImageStore's ID
  ASSERT_OK(executor_->Remove(run.task_id));
  EXPECT_EQ(executor_->ImageOf(run.task_id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ExecutorTest, LogsTailAndFollowWhileRunning) {
  TaskRun run = Run({"sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; sleep 0.5; echo last"});
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  std::vector<std::string> got;
  LogQuery q;
  q.follow = true;
  q.tail = 2;
  // Wait until the first five are there so the tail is deterministic.
  ASSERT_TRUE(Eventually(
      [&] {
        int n = 0;
        Status read = logs_->Read(run.task_id, {}, [&](const LogLine&) { return ++n > 0; });
        return read.ok() && n >= 5;
      },
      seconds(2)));
  ASSERT_TRUE(logs_
                  ->Read(run.task_id, q,
                         [&](const LogLine& l) {
                           got.push_back(l.text);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(got, (std::vector<std::string>{"line4\n", "line5\n", "last\n"}));
  EXPECT_EQ(executor_->Inspect(run.task_id)->state, RunStatus::State::kExited);
}

TEST_F(ExecutorTest, TaskGetsOnlyLoopbackAndDockerCapabilities) {
  TaskRun run = Run({"sh", "-c",
                     "ls /sys/class/net; grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; "
                     "echo $$"});
  ASSERT_OK(executor_->Prepare(run));
  ASSERT_OK(executor_->Start(run.task_id));
  EXPECT_EQ(WaitExited(run.task_id).exit_code, 0);
  // Docker's 14 default capabilities: 0x00000000a80425fb.
  EXPECT_EQ(Output(run.task_id), "lo\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\n1\n");
}

// runc accepts the rendered seccomp profile, masked paths and cgroup namespace, and they hold.
TEST_F(ExecutorTest, TaskRunsUnderDockersSeccompProfileAndMasks) {
  TaskRun run =
      Run({"sh", "-c",
           "grep '^Seccomp:' /proc/self/status; "
           "busybox unshare -U true 2>&1 | grep -c 'Operation not permitted'; "
           "stat -c '%t:%T' /proc/timer_list; grep -vc ':/$' /proc/self/cgroup; ulimit -n"});
  ASSERT_OK(executor_->Prepare(run));
  // Docker's 1048576, or our own hard limit where we may not raise it (no CAP_SYS_RESOURCE).
  const auto spec = nlohmann::json::parse(
      *ReadFile(PathsFor(config_.exec_root, config_.data_root, run.task_id).config));
  const uint64_t nofile = spec["process"]["rlimits"][0]["hard"];
  struct rlimit own;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &own), 0);
  EXPECT_TRUE(nofile == kTaskNofile || nofile == own.rlim_max) << nofile;
  ASSERT_OK(executor_->Start(run.task_id));
  EXPECT_EQ(WaitExited(run.task_id).exit_code, 0);
  const std::string out = Output(run.task_id);
  EXPECT_EQ(out, absl::StrCat("Seccomp:\t2\n",
                              "1\n",    // unshare(CLONE_NEWUSER) refused with EPERM
                              "1:3\n",  // /proc/timer_list (masked) is /dev/null
                              "0\n",    // own cgroup namespace: every hierarchy's path is "/"
                              nofile, "\n"));
}

}  // namespace
}  // namespace capsule::agent
