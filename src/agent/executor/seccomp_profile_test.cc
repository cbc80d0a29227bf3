#include "agent/executor/seccomp_profile.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace capsule::agent {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kDockerCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

const SeccompHost kAmd64Linux6{"amd64", {6, 1}};

// The rendered rules that name `syscall`.
std::vector<json> RulesFor(const json& profile, const std::string& syscall) {
  std::vector<json> out;
  for (const json& s : profile["syscalls"]) {
    for (const json& n : s["names"]) {
      if (n == syscall) out.push_back(s);
    }
  }
  return out;
}

// Allowed without any argument condition.
bool AllowedOutright(const json& profile, const std::string& syscall) {
  for (const json& s : RulesFor(profile, syscall)) {
    if (s["action"] == "SCMP_ACT_ALLOW" && !s.contains("args")) return true;
  }
  return false;
}

TEST(SeccompProfileTest, DefaultIsErrnoEpermOnX86Arches) {
  json p = RenderSeccompProfile(kDockerCaps, kAmd64Linux6);
  EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(p["defaultErrnoRet"], 1);
  EXPECT_EQ(p["architectures"],
            json::array({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  json arm = RenderSeccompProfile(kDockerCaps, {"arm64", {6, 1}});
  EXPECT_EQ(arm["architectures"], json::array({"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
}

TEST(SeccompProfileTest, EverydaySyscallsAllowed) {
  json p = RenderSeccompProfile(kDockerCaps, kAmd64Linux6);
  for (const char* s : {"read", "write", "openat", "execve", "mmap", "futex", "exit_group",
                        "chroot", "arch_prctl", "modify_ldt", "setuid", "wait4"}) {
    EXPECT_TRUE(AllowedOutright(p, s)) << s;
  }
}

TEST(SeccompProfileTest, DangerousSyscallsNotAllowedWithDefaultCaps) {
  json p = RenderSeccompProfile(kDockerCaps, kAmd64Linux6);
  for (const char* s : {"unshare",
                        "setns",
                        "mount",
                        "umount2",
                        "keyctl",
                        "add_key",
                        "request_key",
                        "bpf",
                        "perf_event_open",
                        "userfaultfd",
                        "io_uring_setup",
                        "io_uring_enter",
                        "io_uring_register",
                        "reboot",
                        "init_module",
                        "finit_module",
                        "kexec_load",
                        "open_by_handle_at",
                        "syslog",
                        "acct",
                        "swapon",
                        "pivot_root",
                        "sethostname",
                        "settimeofday",
                        "iopl",
                        "fsopen",
                        "move_mount",
                        "open_tree",
                        "kcmp",
                        "pidfd_getfd"}) {
    EXPECT_TRUE(RulesFor(p, s).empty()) << s;
  }
}

TEST(SeccompProfileTest, CloneOnlyWithoutNamespaceFlags) {
  json p = RenderSeccompProfile(kDockerCaps, kAmd64Linux6);
  std::vector<json> clone = RulesFor(p, "clone");
  ASSERT_EQ(clone.size(), 1u);
  EXPECT_EQ(clone[0]["action"], "SCMP_ACT_ALLOW");
  ASSERT_EQ(clone[0]["args"].size(), 1u);
  const json& a = clone[0]["args"][0];
  EXPECT_EQ(a["index"], 0);
  EXPECT_EQ(a["op"], "SCMP_CMP_MASKED_EQ");
  // CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP, must all be 0.
  EXPECT_EQ(a["value"], 0x7E020000u);
  EXPECT_EQ(a["valueTwo"], 0);
  std::vector<json> clone3 = RulesFor(p, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0]["action"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(clone3[0]["errnoRet"], 38);  // ENOSYS: libc falls back to clone
}

TEST(SeccompProfileTest, CapSysAdminUnlocksNamespacesAsDocker) {
  std::vector<std::string> caps = kDockerCaps;
  caps.push_back("CAP_SYS_ADMIN");
  json p = RenderSeccompProfile(caps, kAmd64Linux6);
  for (const char* s : {"unshare", "setns", "mount", "clone", "clone3", "bpf"}) {
    EXPECT_TRUE(AllowedOutright(p, s)) << s;
  }
  for (const json& r : RulesFor(p, "clone3")) EXPECT_EQ(r["action"], "SCMP_ACT_ALLOW");
}

TEST(SeccompProfileTest, PtraceOnlyFromKernel48) {
  EXPECT_TRUE(AllowedOutright(RenderSeccompProfile(kDockerCaps, kAmd64Linux6), "ptrace"));
  EXPECT_TRUE(AllowedOutright(RenderSeccompProfile(kDockerCaps, {"amd64", {4, 8}}), "ptrace"));
  EXPECT_TRUE(RulesFor(RenderSeccompProfile(kDockerCaps, {"amd64", {4, 7}}), "ptrace").empty());
  EXPECT_TRUE(RulesFor(RenderSeccompProfile(kDockerCaps, {"amd64", {3, 99}}), "ptrace").empty());
  // Unknown kernel: the safe side.
  EXPECT_TRUE(RulesFor(RenderSeccompProfile(kDockerCaps, {"amd64", {}}), "ptrace").empty());
}

TEST(SeccompProfileTest, PersonalityOnlyDockersValues) {
  json p = RenderSeccompProfile(kDockerCaps, kAmd64Linux6);
  std::set<uint64_t> values;
  for (const json& r : RulesFor(p, "personality")) {
    ASSERT_EQ(r["args"].size(), 1u);
    EXPECT_EQ(r["args"][0]["op"], "SCMP_CMP_EQ");
    values.insert(r["args"][0]["value"].get<uint64_t>());
  }
  EXPECT_EQ(values, (std::set<uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));
}

TEST(SeccompProfileTest, SocketRefusesVsock) {
  std::vector<json> r = RulesFor(RenderSeccompProfile(kDockerCaps, kAmd64Linux6), "socket");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["args"][0]["op"], "SCMP_CMP_NE");
  EXPECT_EQ(r[0]["args"][0]["value"], 40);  // AF_VSOCK
}

TEST(SeccompProfileTest, ArchRulesFollowTheHost) {
  json arm = RenderSeccompProfile(kDockerCaps, {"arm64", {6, 1}});
  EXPECT_TRUE(RulesFor(arm, "arch_prctl").empty());
  EXPECT_TRUE(AllowedOutright(arm, "set_tls"));
  json x86 = RenderSeccompProfile(kDockerCaps, kAmd64Linux6);
  EXPECT_TRUE(RulesFor(x86, "set_tls").empty());
}

TEST(SeccompProfileTest, ParseKernelVersion) {
  auto v = ParseKernelVersion("6.18.44-fc-v1300");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->major, 6);
  EXPECT_EQ(v->minor, 18);
  v = ParseKernelVersion("4.8");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->minor, 8);
  EXPECT_FALSE(ParseKernelVersion("").has_value());
  EXPECT_FALSE(ParseKernelVersion("x.1").has_value());
  EXPECT_FALSE(ParseKernelVersion("6").has_value());
  EXPECT_FALSE(ParseKernelVersion("6.").has_value());
}

TEST(SeccompProfileTest, ThisHostHasKnownArchAndKernel) {
  SeccompHost h = ThisSeccompHost();
  EXPECT_FALSE(h.arch.empty());
  EXPECT_GT(h.kernel.major, 0);
}

}  // namespace
}  // namespace capsule::agent
