#include "store/etcd/supervisor.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/etcd/etcd_client.h"
#include "store/etcd/etcd_process.h"
#include "store/etcd/etcd_test_env.h"
#include "testing/fake_clock.h"

namespace capsule::etcd {
namespace {

using ::capsule::etcd::testing::ConnectTo;
using ::capsule::etcd::testing::EtcdTest;
using ::capsule::etcd::testing::TempDir;
using ::capsule::etcd::testing::TestMemberConfig;
using ::capsule::etcd::testing::WaitFor;
using namespace std::chrono_literals;

std::string ToHexPort(const std::string& decimal) {
  char buf[8];
  snprintf(buf, sizeof(buf), "%04X", std::stoi(decimal));
  return buf;
}

// "http://A.B.C.D:PORT" → "ADDR:PORT" as /proc/net/tcp writes it (the address's bytes in host
// order on x86: 127.0.0.1 → 0100007F).
std::string ProcNetTcpAddress(const std::string& url) {
  const size_t host = url.find("://") + 3;
  const size_t colon = url.rfind(':');
  in_addr addr{};
  EXPECT_EQ(inet_pton(AF_INET, url.substr(host, colon - host).c_str(), &addr), 1) << url;
  char buf[16];
  snprintf(buf, sizeof(buf), "%08X", addr.s_addr);
  return std::string(buf) + ":" + ToHexPort(url.substr(colon + 1));
}

// "ADDR:PORT" (hex, as in /proc/net/tcp*) of every TCP socket in LISTEN state owned by pid.
std::vector<std::string> ListeningTcpSockets(int pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir)) {
    char target[256] = {};
    if (readlink(entry.path().c_str(), target, sizeof(target) - 1) <= 0) continue;
    std::string t(target);
    if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
  }
  std::vector<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
          inode;
      if (state == "0A" && inodes.count(inode) > 0) out.push_back(local);
    }
  }
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

TEST_F(EtcdTest, DataSurvivesStopAndStart) {
  ASSERT_OK(client_->Put("/keep", "me").status());
  const std::string pidfile = member_dir() + "/etcd.pid";
  const int old_pid = supervisor_->pid();
  EXPECT_GT(old_pid, 0);
  EXPECT_TRUE(Exists(pidfile));
  client_.reset();

  supervisor_->Stop();
  EXPECT_EQ(supervisor_->pid(), -1);
  EXPECT_FALSE(Exists(pidfile));
  EXPECT_EQ(kill(old_pid, 0), -1);  // reaped, not a zombie
  supervisor_->Stop();              // idempotent

  ASSERT_OK(supervisor_->Start(20s));
  EXPECT_NE(supervisor_->pid(), old_pid);
  EXPECT_EQ(supervisor_->restarts(), 0);
  auto client = ConnectTo(*supervisor_);
  ASSERT_OK(client.status());
  auto got = (*client)->Range("/keep", "");
  ASSERT_OK(got.status());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, "me");
}

TEST_F(EtcdTest, RunsInItsDirWithPeerOnLoopbackOnly) {
  const int pid = supervisor_->pid();
  char cwd[4096] = {};
  ASSERT_GT(readlink(("/proc/" + std::to_string(pid) + "/cwd").c_str(), cwd, sizeof(cwd) - 1), 0);
  EXPECT_EQ(std::string(cwd), member_dir());
  EXPECT_TRUE(Exists(member_dir() + "/client.sock:2379"));
  EXPECT_TRUE(Exists(member_dir() + "/member-data"));
  EXPECT_EQ(supervisor_->ClientEndpoint(), "unix:" + member_dir() + "/client.sock:2379");
  // The only TCP listener is the peer URL: no default localhost:2379/2380, no metrics port.
  EXPECT_EQ(ListeningTcpSockets(pid),
            std::vector<std::string>{ProcNetTcpAddress(config_.peer_url)});
  auto members = client_->MemberList();
  ASSERT_OK(members.status());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].peer_urls[0], config_.peer_url);
}

TEST_F(EtcdTest, RestartsAfterKill9AndClientReconnects) {
  ASSERT_OK(client_->Put("/before", "kill").status());
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Status> watch_error;
  WatchCallbacks cb;
  cb.on_events = [](const std::vector<WatchEvent>&, int64_t) {};
  cb.on_error = [&](const Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    watch_error = s;
    cv.notify_all();
  };
  auto watch = client_->WatchRange("/", PrefixEnd("/"), 0, cb);
  ASSERT_OK(watch.status());

  const int old_pid = supervisor_->pid();
  ASSERT_GT(old_pid, 0);
  ASSERT_EQ(kill(old_pid, SIGKILL), 0);
  ASSERT_TRUE(
      WaitFor([&] { return supervisor_->pid() > 0 && supervisor_->pid() != old_pid; }, 20s));
  EXPECT_EQ(supervisor_->restarts(), 1);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return watch_error.has_value(); }));
    EXPECT_EQ(watch_error->code(), StatusCode::kUnavailable) << *watch_error;
  }

  // The same client object works again once the new member serves (calls wait for ready).
  StatusOr<int64_t> put = absl::UnavailableError("not tried");
  ASSERT_TRUE(WaitFor([&] { return (put = client_->Put("/after", "restart")).ok(); }, 20s))
      << put.status();
  auto got = client_->Range("/before", "");
  ASSERT_OK(got.status());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, "kill");
  // The pidfile names the new child.
  std::ifstream pidfile(member_dir() + "/etcd.pid");
  int recorded = 0;
  pidfile >> recorded;
  EXPECT_EQ(recorded, supervisor_->pid());
}

// Kills and reaps a process we started if the test did not get to it.
struct ChildGuard {
  pid_t pid = -1;
  ~ChildGuard() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

TEST(SupervisorTest, StartKillsLeftoverEtcdRecordedInPidfile) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/etcd";
  MemberConfig config = TestMemberConfig(dir);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  // A leftover member of this dir whose owner crashed without taking it down: started
  // without a parent-death signal, recorded in the pidfile, still serving.
  ChildGuard leftover;
  auto spawned = SpawnProcess(EtcdArgs(config), dir, /*parent_death_signal=*/false);
  ASSERT_OK(spawned.status());
  leftover.pid = *spawned;
  ASSERT_OK(WritePidfile(dir + "/etcd.pid", leftover.pid));
  ASSERT_TRUE(WaitFor([&] { return SocketAccepts(dir + "/client.sock:2379"); }, 20s));
  {
    auto client = ConnectTo(Supervisor(config, RealClock()));
    ASSERT_OK(client.status());
    ASSERT_OK((*client)->Put("/from-leftover", "1").status());
  }

  Supervisor supervisor(config, RealClock());
  ASSERT_OK(supervisor.Start(20s));
  int status = 0;
  ASSERT_EQ(waitpid(leftover.pid, &status, WNOHANG), leftover.pid);  // already dead
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  leftover.pid = -1;
  EXPECT_GT(supervisor.pid(), 0);

  auto client = ConnectTo(supervisor);
  ASSERT_OK(client.status());
  auto got = (*client)->Range("/from-leftover", "");
  ASSERT_OK(got.status());
  EXPECT_EQ(got->kvs.size(), 1u);
  supervisor.Stop();
}

TEST(SupervisorTest, PidfileOfAnotherProgramIsNotKilled) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/etcd";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ChildGuard other;
  auto spawned = SpawnProcess({"/bin/sleep", "30"}, dir, /*parent_death_signal=*/true);
  ASSERT_OK(spawned.status());
  other.pid = *spawned;
  ASSERT_OK(WritePidfile(dir + "/etcd.pid", other.pid));
  auto killed = KillLeftover(dir + "/etcd.pid", "/usr/bin/etcd", dir, 1s);
  ASSERT_OK(killed.status());
  EXPECT_EQ(*killed, 0);
  EXPECT_EQ(waitpid(other.pid, nullptr, WNOHANG), 0);  // still running
}

// After capsuled is killed, its etcd gets SIGKILL (parent-death signal) and exits thread by
// thread: the leader can be a zombie while another thread still holds the process's files —
// the peer port among them. A restarted capsuled that took that zombie for dead started its new
// member at once and failed with "bind: address already in use" (found by
// tests/fault/crash_safety.py). Here a leftover whose leader thread has exited while another
// thread lives on (python3: the main thread calls SYS_exit) must still be killed and waited for.
TEST(SupervisorTest, LeftoverWhoseLeaderThreadExitedIsKilledAndWaitedFor) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/etcd";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  const std::string python = std::filesystem::canonical("/usr/bin/python3").string();
  ChildGuard leftover;
  auto spawned = SpawnProcess(
      {python, "-c",
       "import ctypes, threading, time\n"
       "threading.Thread(target=time.sleep, args=(60,)).start()\n"
       "ctypes.CDLL(None).syscall(60, 0)  # SYS_exit: only this (the leader) thread\n"},
      dir, /*parent_death_signal=*/true);
  ASSERT_OK(spawned.status());
  leftover.pid = *spawned;
  const std::string task_dir = "/proc/" + std::to_string(leftover.pid) + "/task";
  auto threads = [&] {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(task_dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return n;
  };
  auto leader_state = [&] {
    std::ifstream stat("/proc/" + std::to_string(leftover.pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    size_t paren = line.rfind(')');
    return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
  };
  ASSERT_TRUE(WaitFor([&] { return leader_state() == 'Z' && threads() == 2; }, 20s))
      << "leader state " << leader_state() << ", " << threads() << " thread(s)";
  ASSERT_OK(WritePidfile(dir + "/etcd.pid", leftover.pid));

  auto killed = KillLeftover(dir + "/etcd.pid", python, dir, 5s);
  ASSERT_OK(killed.status());
  EXPECT_EQ(*killed, leftover.pid);
  EXPECT_LE(threads(), 1u);  // every thread is gone, not only the leader
  int status = 0;
  ASSERT_EQ(waitpid(leftover.pid, &status, WNOHANG), leftover.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  leftover.pid = -1;
}

TEST(SupervisorTest, ExistingDirIsMadePrivate) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/etcd";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  Supervisor supervisor(TestMemberConfig(dir), RealClock());
  ASSERT_OK(supervisor.Start(20s));
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  supervisor.Stop();
}

TEST(SupervisorTest, StaleSocketFileIsRemovedBeforeStart) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/etcd";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  // A socket file nobody listens on, as etcd leaves it after SIGKILL.
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    const std::string path = dir + "/client.sock:2379";
    memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);
  }
  ASSERT_TRUE(Exists(dir + "/client.sock:2379"));
  Supervisor supervisor(TestMemberConfig(dir), RealClock());
  ASSERT_OK(supervisor.Start(20s));
  auto client = ConnectTo(supervisor);
  ASSERT_OK(client.status());
  ASSERT_OK((*client)->Put("/k", "v").status());
  supervisor.Stop();
}

TEST(SupervisorTest, LearnerJoinsExistingClusterAndIsPromoted) {
  TempDir tmp;
  MemberConfig first = TestMemberConfig(tmp.path() + "/m1");
  Supervisor one(first, RealClock());
  ASSERT_OK(one.Start(20s));
  auto c1 = ConnectTo(one);
  ASSERT_OK(c1.status());
  ASSERT_OK((*c1)->Put("/replicated", "yes").status());

  MemberConfig second = TestMemberConfig(tmp.path() + "/m2");
  second.name = "m2";
  second.new_cluster = false;
  second.initial_cluster = "m1=" + first.peer_url + ",m2=" + second.peer_url;
  auto added = (*c1)->MemberAdd({second.peer_url}, /*is_learner=*/true);
  ASSERT_OK(added.status());
  Supervisor two(second, RealClock());
  ASSERT_OK(two.Start(20s));

  // etcd refuses the promotion (FailedPrecondition) until the learner has caught up.
  StatusOr<std::vector<Member>> promoted = absl::UnknownError("not tried");
  ASSERT_TRUE(
      WaitFor([&] { return (promoted = (*c1)->MemberPromote(added->member.id)).ok(); }, 20s))
      << promoted.status();
  auto members = (*c1)->MemberList();
  ASSERT_OK(members.status());
  ASSERT_EQ(members->size(), 2u);
  for (const Member& m : *members) {
    EXPECT_FALSE(m.is_learner) << m.name;
    EXPECT_TRUE(m.name == "m1" || m.name == "m2") << m.name;
  }
  auto c2 = ConnectTo(two);
  ASSERT_OK(c2.status());
  // The new member serves reads once it has applied its own promotion ("rpc not supported
  // for learner" → Unavailable until then).
  StatusOr<RangeResult> got = absl::UnknownError("not tried");
  ASSERT_TRUE(WaitFor([&] { return (got = (*c2)->Range("/replicated", "")).ok(); }, 20s))
      << got.status();
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, "yes");
  two.Stop();
  one.Stop();
}

// The restart backoff runs on the injected clock: a killed member is restarted when the clock
// reaches the 200 ms backoff, not before.
TEST(SupervisorTest, RestartWaitsForTheBackoffOnTheClock) {
  TempDir tmp;
  ::capsule::testing::FakeClock clock;
  Supervisor supervisor(TestMemberConfig(tmp.path() + "/etcd"), clock);
  ASSERT_OK(supervisor.Start(20s));
  const int old_pid = supervisor.pid();
  ASSERT_GT(old_pid, 0);
  ASSERT_EQ(kill(old_pid, SIGKILL), 0);
  // The monitor reaps it and waits out the backoff.
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_EQ(supervisor.pid(), -1);
  clock.Advance(199ms);
  EXPECT_EQ(clock.waiters(), 1u);
  EXPECT_EQ(supervisor.pid(), -1);
  EXPECT_EQ(supervisor.restarts(), 0);
  clock.Advance(1ms);
  ASSERT_TRUE(WaitFor([&] { return supervisor.pid() > 0; }, 20s));
  EXPECT_NE(supervisor.pid(), old_pid);
  EXPECT_EQ(supervisor.restarts(), 1);
  supervisor.Stop();
}

TEST(SupervisorTest, ConcurrentStartsRunOneMember) {
  TempDir tmp;
  Supervisor supervisor(TestMemberConfig(tmp.path() + "/etcd"), RealClock());
  Status a, b;
  std::thread other([&] { a = supervisor.Start(20s); });
  b = supervisor.Start(20s);
  other.join();
  ASSERT_OK(a);
  ASSERT_OK(b);
  const int pid = supervisor.pid();
  ASSERT_GT(pid, 0);
  std::ifstream pidfile(tmp.path() + "/etcd/etcd.pid");
  int recorded = 0;
  pidfile >> recorded;
  EXPECT_EQ(recorded, pid);
  supervisor.Stop();
  EXPECT_EQ(supervisor.pid(), -1);
}

TEST(SupervisorTest, TooLongSocketPathIsInvalidArgument) {
  MemberConfig config = TestMemberConfig("/tmp/" + std::string(100, 'd'));
  Supervisor supervisor(config, RealClock());
  Status status = supervisor.Start(1s);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(Exists(config.dir));
}

TEST(SupervisorTest, EtcdThatExitsAtStartupFailsStartQuickly) {
  TempDir tmp;
  MemberConfig config = TestMemberConfig(tmp.path() + "/etcd");
  config.log_level = "no-such-level";  // etcd refuses to start
  Supervisor supervisor(config, RealClock());
  Status status = supervisor.Start(30s);
  // Unavailable (it exited), not DeadlineExceeded (the 30 s start timeout).
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status;
  EXPECT_EQ(supervisor.pid(), -1);
  EXPECT_EQ(supervisor.restarts(), 0);
}

// The command line of a running process, one argument per element.
std::vector<std::string> Cmdline(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  std::string arg;
  while (std::getline(in, arg, '\0')) out.push_back(arg);
  return out;
}

bool HasArg(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

// m1 and m2 (a learner promoted to a voter), as a two-member cluster holding /replicated.
struct TwoMembers {
  explicit TwoMembers(const std::string& root) {
    first = TestMemberConfig(root + "/m1");
    second = TestMemberConfig(root + "/m2");
    second.name = "m2";
    second.new_cluster = false;
    second.initial_cluster = "m1=" + first.peer_url + ",m2=" + second.peer_url;
  }
  // Starts both and returns m2's member ID.
  StatusOr<uint64_t> Start() {
    one = std::make_unique<Supervisor>(first, RealClock());
    RETURN_IF_ERROR(one->Start(20s));
    ASSIGN_OR_RETURN(c1, ConnectTo(*one));
    RETURN_IF_ERROR(c1->Put("/replicated", "yes").status());
    ASSIGN_OR_RETURN(MemberAddResult added, c1->MemberAdd({second.peer_url}, true));
    two = std::make_unique<Supervisor>(second, RealClock());
    RETURN_IF_ERROR(two->Start(20s));
    StatusOr<std::vector<Member>> promoted = absl::UnknownError("not tried");
    WaitFor([&] { return (promoted = c1->MemberPromote(added.member.id)).ok(); }, 20s);
    RETURN_IF_ERROR(promoted.status());
    return added.member.id;
  }
  MemberConfig first, second;
  std::unique_ptr<Supervisor> one, two;
  std::unique_ptr<Client> c1;
};

// A member of a cluster that lost its quorum restarts with --force-new-cluster: alone, with its
// data; a crash restart after that runs without the flag.
TEST(SupervisorTest, ForceNewClusterLeavesTheSurvivorAloneWithItsData) {
  TempDir tmp;
  TwoMembers cluster(tmp.path());
  ASSERT_OK(cluster.Start().status());
  cluster.two->Stop();  // quorum lost: 1 of 2
  cluster.c1.reset();
  cluster.one->Stop();

  MemberConfig forced = cluster.first;
  forced.force_new_cluster = true;
  Supervisor survivor(forced, RealClock());
  ASSERT_OK(survivor.Start(20s));
  EXPECT_TRUE(HasArg(Cmdline(survivor.pid()), "--force-new-cluster"));
  auto client = ConnectTo(survivor);
  ASSERT_OK(client.status());
  StatusOr<RangeResult> got = absl::UnknownError("not tried");
  ASSERT_TRUE(WaitFor([&] { return (got = (*client)->Range("/replicated", "")).ok(); }, 20s))
      << got.status();
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, "yes");
  ASSERT_OK((*client)->Put("/after", "force").status());
  auto members = (*client)->MemberList();
  ASSERT_OK(members.status());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].name, "m1");

  const int forced_pid = survivor.pid();
  ASSERT_EQ(kill(forced_pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return survivor.pid() > 0 && survivor.pid() != forced_pid; }, 20s));
  EXPECT_FALSE(HasArg(Cmdline(survivor.pid()), "--force-new-cluster"));
  EXPECT_FALSE(survivor.removed());
  got = absl::UnknownError("not tried");
  ASSERT_TRUE(WaitFor([&] { return (got = (*client)->Range("/after", "")).ok(); }, 20s))
      << got.status();
  EXPECT_EQ(got->kvs.size(), 1u);
  survivor.Stop();
}

// A member removed from its cluster stops itself (exit 0): it is not restarted, and a start on
// its old data stops again as soon as it hears from the cluster that removed it.
TEST(SupervisorTest, RemovedMemberIsNotRestarted) {
  TempDir tmp;
  TwoMembers cluster(tmp.path());
  StatusOr<uint64_t> m2 = cluster.Start();
  ASSERT_OK(m2.status());
  // etcd refuses the removal ("unhealthy cluster") until the new member has published itself.
  StatusOr<std::vector<Member>> removed = absl::UnknownError("not tried");
  ASSERT_TRUE(WaitFor([&] { return (removed = cluster.c1->MemberRemove(*m2)).ok(); }, 20s))
      << removed.status();
  ASSERT_TRUE(WaitFor([&] { return cluster.two->removed(); }, 20s));
  EXPECT_EQ(cluster.two->pid(), -1);
  EXPECT_EQ(cluster.two->restarts(), 0);
  cluster.two->Stop();

  // Restarted on its old data (it still lists m1 and itself), it learns of its removal again.
  Status restarted = cluster.two->Start(20s);
  ASSERT_TRUE(WaitFor([&] { return cluster.two->removed(); }, 20s)) << restarted;
  EXPECT_EQ(cluster.two->pid(), -1);
  EXPECT_EQ(cluster.two->restarts(), 0);
  cluster.two->Stop();
  // The cluster that removed it goes on alone.
  ASSERT_OK(cluster.c1->Put("/still", "here").status());
  cluster.one->Stop();
}

// The peer port's role check is etcd's: the flag must be on the command line whenever peers
// use TLS and a hostname is required (tests/integration/test_peer_port.py attacks it for real).
TEST(EtcdArgsTest, PeerTlsRequiresTheAllowedHostname) {
  MemberConfig config;
  config.name = "m1";
  config.peer_url = "https://127.0.0.1:2380";
  config.peer_tls = {"node.crt", "node.key", "ca.crt", "swarm-manager"};
  const std::vector<std::string> args = EtcdArgs(config);
  auto it = std::find(args.begin(), args.end(), "--peer-cert-allowed-hostname");
  ASSERT_NE(it, args.end());
  ASSERT_NE(it + 1, args.end());
  EXPECT_EQ(*(it + 1), "swarm-manager");
  EXPECT_NE(std::find(args.begin(), args.end(), "--peer-client-cert-auth"), args.end());

  config.peer_tls.allowed_hostname.clear();
  const std::vector<std::string> open_args = EtcdArgs(config);
  EXPECT_EQ(std::find(open_args.begin(), open_args.end(), "--peer-cert-allowed-hostname"),
            open_args.end());
}

TEST(EtcdArgsTest, ForceNewClusterOnlyWhenAsked) {
  MemberConfig config;
  config.name = "m1";
  config.peer_url = "http://127.0.0.1:2380";
  EXPECT_FALSE(HasArg(EtcdArgs(config), "--force-new-cluster"));
  config.force_new_cluster = true;
  EXPECT_TRUE(HasArg(EtcdArgs(config), "--force-new-cluster"));
}

}  // namespace
}  // namespace capsule::etcd
