#include "agent/executor/seccomp_profile.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace capsule::agent {
namespace {

using json = nlohmann::json;

constexpr char kAllow[] = "SCMP_ACT_ALLOW";
constexpr char kErrno[] = "SCMP_ACT_ERRNO";

// CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
// CLONE_NEWCGROUP, spelled out so the table does not depend on which libc headers define them.
constexpr uint64_t kNamespaceFlags =
    0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x02000000;
constexpr uint64_t kAfVsock = 40;

struct ArchEntry {
  const char* go_arch;
  std::vector<std::string> scmp;  // the native arch first, then its sub-architectures
};

const std::vector<ArchEntry>& Arches() {
  static const std::vector<ArchEntry> arches = {
      {"amd64", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"arm64", {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
  };
  return arches;
}

SeccompRule Allow(std::vector<std::string> names) {
  SeccompRule r;
  r.names = std::move(names);
  r.action = kAllow;
  return r;
}

SeccompRule AllowWithCap(std::vector<std::string> names, std::string cap) {
  SeccompRule r = Allow(std::move(names));
  r.includes.caps = {std::move(cap)};
  return r;
}

SeccompRule AllowOnArches(std::vector<std::string> names, std::vector<std::string> arches) {
  SeccompRule r = Allow(std::move(names));
  r.includes.arches = std::move(arches);
  return r;
}

SeccompRule AllowPersonality(uint64_t persona) {
  SeccompRule r = Allow({"personality"});
  r.args = {{0, persona, 0, "SCMP_CMP_EQ"}};
  return r;
}

std::vector<SeccompRule> BuildRules() {
  std::vector<SeccompRule> rules;
  // Everything a program needs that reaches nothing outside its namespaces. Docker 24 listed
  // io_uring_setup/enter/register here too; Docker 25 dropped them (a steady source of kernel
  // exploits), and so do we.
  rules.push_back(Allow({
      "accept",
      "accept4",
      "access",
      "adjtimex",
      "alarm",
      "bind",
      "brk",
      "capget",
      "capset",
      "chdir",
      "chmod",
      "chown",
      "chown32",
      "clock_adjtime",
      "clock_adjtime64",
      "clock_getres",
      "clock_getres_time64",
      "clock_gettime",
      "clock_gettime64",
      "clock_nanosleep",
      "clock_nanosleep_time64",
      "close",
      "close_range",
      "connect",
      "copy_file_range",
      "creat",
      "dup",
      "dup2",
      "dup3",
      "epoll_create",
      "epoll_create1",
      "epoll_ctl",
      "epoll_ctl_old",
      "epoll_pwait",
      "epoll_pwait2",
      "epoll_wait",
      "epoll_wait_old",
      "eventfd",
      "eventfd2",
      "execve",
      "execveat",
      "exit",
      "exit_group",
      "faccessat",
      "faccessat2",
      "fadvise64",
      "fadvise64_64",
      "fallocate",
      "fanotify_mark",
      "fchdir",
      "fchmod",
      "fchmodat",
      "fchown",
      "fchown32",
      "fchownat",
      "fcntl",
      "fcntl64",
      "fdatasync",
      "fgetxattr",
      "flistxattr",
      "flock",
      "fork",
      "fremovexattr",
      "fsetxattr",
      "fstat",
      "fstat64",
      "fstatat64",
      "fstatfs",
      "fstatfs64",
      "fsync",
      "ftruncate",
      "ftruncate64",
      "futex",
      "futex_time64",
      "futex_waitv",
      "futimesat",
      "getcpu",
      "getcwd",
      "getdents",
      "getdents64",
      "getegid",
      "getegid32",
      "geteuid",
      "geteuid32",
      "getgid",
      "getgid32",
      "getgroups",
      "getgroups32",
      "getitimer",
      "getpeername",
      "getpgid",
      "getpgrp",
      "getpid",
      "getppid",
      "getpriority",
      "getrandom",
      "getresgid",
      "getresgid32",
      "getresuid",
      "getresuid32",
      "getrlimit",
      "get_robust_list",
      "getrusage",
      "getsid",
      "getsockname",
      "getsockopt",
      "get_thread_area",
      "gettid",
      "gettimeofday",
      "getuid",
      "getuid32",
      "getxattr",
      "inotify_add_watch",
      "inotify_init",
      "inotify_init1",
      "inotify_rm_watch",
      "io_cancel",
      "ioctl",
      "io_destroy",
      "io_getevents",
      "io_pgetevents",
      "io_pgetevents_time64",
      "ioprio_get",
      "ioprio_set",
      "io_setup",
      "io_submit",
      "ipc",
      "kill",
      "landlock_add_rule",
      "landlock_create_ruleset",
      "landlock_restrict_self",
      "lchown",
      "lchown32",
      "lgetxattr",
      "link",
      "linkat",
      "listen",
      "listxattr",
      "llistxattr",
      "_llseek",
      "lremovexattr",
      "lseek",
      "lsetxattr",
      "lstat",
      "lstat64",
      "madvise",
      "membarrier",
      "memfd_create",
      "memfd_secret",
      "mincore",
      "mkdir",
      "mkdirat",
      "mknod",
      "mknodat",
      "mlock",
      "mlock2",
      "mlockall",
      "mmap",
      "mmap2",
      "mprotect",
      "mq_getsetattr",
      "mq_notify",
      "mq_open",
      "mq_timedreceive",
      "mq_timedreceive_time64",
      "mq_timedsend",
      "mq_timedsend_time64",
      "mq_unlink",
      "mremap",
      "msgctl",
      "msgget",
      "msgrcv",
      "msgsnd",
      "msync",
      "munlock",
      "munlockall",
      "munmap",
      "name_to_handle_at",
      "nanosleep",
      "newfstatat",
      "_newselect",
      "open",
      "openat",
      "openat2",
      "pause",
      "pidfd_open",
      "pidfd_send_signal",
      "pipe",
      "pipe2",
      "pkey_alloc",
      "pkey_free",
      "pkey_mprotect",
      "poll",
      "ppoll",
      "ppoll_time64",
      "prctl",
      "pread64",
      "preadv",
      "preadv2",
      "prlimit64",
      "process_mrelease",
      "pselect6",
      "pselect6_time64",
      "pwrite64",
      "pwritev",
      "pwritev2",
      "read",
      "readahead",
      "readlink",
      "readlinkat",
      "readv",
      "recv",
      "recvfrom",
      "recvmmsg",
      "recvmmsg_time64",
      "recvmsg",
      "remap_file_pages",
      "removexattr",
      "rename",
      "renameat",
      "renameat2",
      "restart_syscall",
      "rmdir",
      "rseq",
      "rt_sigaction",
      "rt_sigpending",
      "rt_sigprocmask",
      "rt_sigqueueinfo",
      "rt_sigreturn",
      "rt_sigsuspend",
      "rt_sigtimedwait",
      "rt_sigtimedwait_time64",
      "rt_tgsigqueueinfo",
      "sched_getaffinity",
      "sched_getattr",
      "sched_getparam",
      "sched_get_priority_max",
      "sched_get_priority_min",
      "sched_getscheduler",
      "sched_rr_get_interval",
      "sched_rr_get_interval_time64",
      "sched_setaffinity",
      "sched_setattr",
      "sched_setparam",
      "sched_setscheduler",
      "sched_yield",
      "seccomp",
      "select",
      "semctl",
      "semget",
      "semop",
      "semtimedop",
      "semtimedop_time64",
      "send",
      "sendfile",
      "sendfile64",
      "sendmmsg",
      "sendmsg",
      "sendto",
      "setfsgid",
      "setfsgid32",
      "setfsuid",
      "setfsuid32",
      "setgid",
      "setgid32",
      "setgroups",
      "setgroups32",
      "setitimer",
      "setpgid",
      "setpriority",
      "setregid",
      "setregid32",
      "setresgid",
      "setresgid32",
      "setresuid",
      "setresuid32",
      "setreuid",
      "setreuid32",
      "setrlimit",
      "set_robust_list",
      "setsid",
      "setsockopt",
      "set_thread_area",
      "set_tid_address",
      "setuid",
      "setuid32",
      "setxattr",
      "shmat",
      "shmctl",
      "shmdt",
      "shmget",
      "shutdown",
      "sigaltstack",
      "signalfd",
      "signalfd4",
      "sigprocmask",
      "sigreturn",
      "socketcall",
      "socketpair",
      "splice",
      "stat",
      "stat64",
      "statfs",
      "statfs64",
      "statx",
      "symlink",
      "symlinkat",
      "sync",
      "sync_file_range",
      "syncfs",
      "sysinfo",
      "tee",
      "tgkill",
      "time",
      "timer_create",
      "timer_delete",
      "timer_getoverrun",
      "timer_gettime",
      "timer_gettime64",
      "timer_settime",
      "timer_settime64",
      "timerfd_create",
      "timerfd_gettime",
      "timerfd_gettime64",
      "timerfd_settime",
      "timerfd_settime64",
      "times",
      "tkill",
      "truncate",
      "truncate64",
      "ugetrlimit",
      "umask",
      "uname",
      "unlink",
      "unlinkat",
      "utime",
      "utimensat",
      "utimensat_time64",
      "utimes",
      "vfork",
      "vmsplice",
      "wait4",
      "waitid",
      "waitpid",
      "write",
      "writev",
  }));
  // Before 4.8 seccomp could be bypassed with ptrace.
  {
    SeccompRule r = Allow({"process_vm_readv", "process_vm_writev", "ptrace"});
    r.includes.min_kernel = KernelVersion{4, 8};
    rules.push_back(std::move(r));
  }
  {
    SeccompRule r = Allow({"socket"});
    r.args = {{0, kAfVsock, 0, "SCMP_CMP_NE"}};
    rules.push_back(std::move(r));
  }
  // PER_LINUX, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32, and the query 0xffffffff.
  for (uint64_t persona : {0x0ULL, 0x0008ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL}) {
    rules.push_back(AllowPersonality(persona));
  }
  rules.push_back(AllowOnArches({"sync_file_range2", "swapcontext"}, {"ppc64le"}));
  rules.push_back(AllowOnArches({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
                                 "breakpoint", "cacheflush", "set_tls"},
                                {"arm", "arm64"}));
  rules.push_back(AllowOnArches({"arch_prctl"}, {"amd64", "x32"}));
  rules.push_back(AllowOnArches({"modify_ldt"}, {"amd64", "x32", "x86"}));
  rules.push_back(AllowOnArches({"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
                                {"s390", "s390x"}));
  rules.push_back(AllowOnArches({"riscv_flush_icache"}, {"riscv64"}));
  rules.push_back(AllowWithCap({"open_by_handle_at"}, "CAP_DAC_READ_SEARCH"));
  rules.push_back(
      AllowWithCap({"bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
                    "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
                    "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
                    "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
                    "umount",        "umount2",       "unshare"},
                   "CAP_SYS_ADMIN"));
  // Without CAP_SYS_ADMIN, clone may not ask for a new namespace (flags are argument 0, but
  // argument 1 on s390).
  {
    SeccompRule r = Allow({"clone"});
    r.args = {{0, kNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}};
    r.excludes.caps = {"CAP_SYS_ADMIN"};
    r.excludes.arches = {"s390", "s390x"};
    rules.push_back(std::move(r));
  }
  {
    SeccompRule r = Allow({"clone"});
    r.args = {{1, kNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}};
    r.includes.arches = {"s390", "s390x"};
    r.excludes.caps = {"CAP_SYS_ADMIN"};
    rules.push_back(std::move(r));
  }
  // clone3's flags are in memory seccomp cannot inspect: ENOSYS makes libc fall back to clone.
  {
    SeccompRule r;
    r.names = {"clone3"};
    r.action = kErrno;
    r.errno_ret = ENOSYS;
    r.excludes.caps = {"CAP_SYS_ADMIN"};
    rules.push_back(std::move(r));
  }
  rules.push_back(AllowWithCap({"reboot"}, "CAP_SYS_BOOT"));
  rules.push_back(AllowWithCap({"chroot"}, "CAP_SYS_CHROOT"));
  rules.push_back(AllowWithCap({"delete_module", "init_module", "finit_module"}, "CAP_SYS_MODULE"));
  rules.push_back(AllowWithCap({"acct"}, "CAP_SYS_PACCT"));
  rules.push_back(AllowWithCap(
      {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"},
      "CAP_SYS_PTRACE"));
  rules.push_back(AllowWithCap({"iopl", "ioperm"}, "CAP_SYS_RAWIO"));
  rules.push_back(
      AllowWithCap({"settimeofday", "stime", "clock_settime", "clock_settime64"}, "CAP_SYS_TIME"));
  rules.push_back(AllowWithCap({"vhangup"}, "CAP_SYS_TTY_CONFIG"));
  rules.push_back(AllowWithCap(
      {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}, "CAP_SYS_NICE"));
  rules.push_back(AllowWithCap({"syslog"}, "CAP_SYSLOG"));
  rules.push_back(AllowWithCap({"bpf"}, "CAP_BPF"));
  rules.push_back(AllowWithCap({"perf_event_open"}, "CAP_PERFMON"));
  return rules;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool AtLeast(const KernelVersion& have, const KernelVersion& want) {
  return have.major != want.major ? have.major > want.major : have.minor >= want.minor;
}

bool Kept(const SeccompRule& r, const std::vector<std::string>& caps, const SeccompHost& host) {
  const SeccompFilter& in = r.includes;
  for (const std::string& cap : in.caps) {
    if (!Contains(caps, cap)) return false;
  }
  if (!in.arches.empty() && !Contains(in.arches, host.arch)) return false;
  if (in.min_kernel && !AtLeast(host.kernel, *in.min_kernel)) return false;
  const SeccompFilter& ex = r.excludes;
  for (const std::string& cap : ex.caps) {
    if (Contains(caps, cap)) return false;
  }
  if (Contains(ex.arches, host.arch)) return false;
  if (ex.min_kernel && AtLeast(host.kernel, *ex.min_kernel)) return false;
  return true;
}

}  // namespace

std::optional<KernelVersion> ParseKernelVersion(const std::string& release) {
  const char* p = release.c_str();
  char* end = nullptr;
  KernelVersion v;
  if (*p < '0' || *p > '9') return std::nullopt;
  v.major = static_cast<int>(std::strtol(p, &end, 10));
  if (*end != '.' || end[1] < '0' || end[1] > '9') return std::nullopt;
  v.minor = static_cast<int>(std::strtol(end + 1, &end, 10));
  return v;
}

SeccompHost ThisSeccompHost() {
  SeccompHost host;
#if defined(__x86_64__)
  host.arch = "amd64";
#elif defined(__aarch64__)
  host.arch = "arm64";
#else
  host.arch = "unknown";
#endif
  struct utsname u;
  if (::uname(&u) == 0) host.kernel = ParseKernelVersion(u.release).value_or(KernelVersion{});
  return host;
}

const std::vector<SeccompRule>& DockerDefaultSeccompRules() {
  static const std::vector<SeccompRule> rules = BuildRules();
  return rules;
}

json RenderSeccompProfile(const std::vector<std::string>& caps, const SeccompHost& host) {
  json out = {{"defaultAction", kErrno}, {"defaultErrnoRet", EPERM}};
  for (const ArchEntry& a : Arches()) {
    if (host.arch == a.go_arch) out["architectures"] = a.scmp;
  }
  json syscalls = json::array();
  for (const SeccompRule& r : DockerDefaultSeccompRules()) {
    if (!Kept(r, caps, host)) continue;
    json s = {{"names", r.names}, {"action", r.action}};
    if (r.errno_ret) s["errnoRet"] = *r.errno_ret;
    if (!r.args.empty()) {
      json args = json::array();
      for (const SeccompArg& a : r.args) {
        args.push_back(
            {{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
      }
      s["args"] = std::move(args);
    }
    syscalls.push_back(std::move(s));
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

}  // namespace capsule::agent
