"""A task is confined like a Docker container (issue 11 part 1): Docker's default seccomp
profile, Docker's masked and read-only paths, a private cgroup namespace, /dev/shm 64 MiB, the
open-file limit Docker tasks get on Debian — and `docker info` says so.

Attacker: the code running inside a task (a hostile or compromised image). It tries to make a
user namespace (`unshare -U`, the first step of most container escapes through kernel bugs), to
read /proc/kcore, /proc/keys, /sys/firmware, to write /proc/sys, to learn the host's cgroup paths.

Positive control: the probe is run again, by the test, in a runc container made from the very
config.json capsuled wrote for the task — once as it is (must agree with the task) and once with
the seccomp section, the masked and read-only paths, the cgroup namespace and the rlimits taken
out; there the same checks must report the break (Seccomp 0, `unshare -U` succeeds, masked paths
such as /proc/timer_list and /sys/firmware readable, /proc/sys writable, the host's cgroup paths
visible). So the checks can fail, and what they observe comes from those
sections of the spec. There is no switch in capsuled to turn confinement off.

Run: python3 -m unittest -v test_confinement   (from tests/redteam, PYTHONPATH=tests)
Address: 127.0.30.1. The image is Debian's busybox-static, imported by the test.
"""

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

import harness
from harness import busybox_image


def _userns_possible():
    """Can this machine make a user namespace at all, outside any task? Not inside a chroot (the
    kernel refuses CLONE_NEWUSER to a chrooted process and to the containers it starts) nor with
    user.max_user_namespaces=0. Asked of util-linux's unshare, not of the code under test."""
    try:
        return subprocess.run(["unshare", "-U", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


USERNS_POSSIBLE = _userns_possible()
USERNS_IMPOSSIBLE = ("user namespaces cannot be made on this machine even outside a task (a "
                     "chroot, or user.max_user_namespaces=0): the unshare check cannot fail here, "
                     "so it is not counted")

IP = "127.0.30.1"
IMAGE = "capsule/confine:1"
END = "PROBE-END"

# One `key=value` line per observation; every command is busybox (applets called through
# `busybox` so the image needs no extra symlinks). Nothing here writes anything but the UTS
# namespace's own hostname, so running it unconfined (the positive control) harms nothing.
PROBE = r"""
bb=/bin/busybox
echo "seccomp=$($bb awk '/^Seccomp:/ {print $2}' /proc/self/status)"
err=$($bb unshare -U /bin/busybox true 2>&1); echo "unshare_user_rc=$?"
echo "unshare_user_err=$err"
for p in MASKED; do
  if [ -d $p ]; then echo "masked:$p=dir $($bb ls -A $p 2>/dev/null | $bb wc -l)"
  elif [ -e $p ]; then echo "masked:$p=$($bb stat -c '%t:%T' $p) $($bb head -c 4096 $p 2>/dev/null | $bb wc -c)"
  else echo "masked:$p=absent"; fi
done
h=$($bb cat /proc/sys/kernel/hostname)
err=$( (echo "$h" > /proc/sys/kernel/hostname) 2>&1); echo "proc_sys_write_rc=$?"
echo "proc_sys_write_err=$err"
for p in READONLY; do
  echo "readonly:$p=$($bb awk -v p=$p '$5 == p {print $6}' /proc/self/mountinfo)"
done
echo "shm=$($bb awk '$2 == "/dev/shm" {print $3 " " $4}' /proc/mounts)"
echo "nofile_soft=$(ulimit -n)"
echo "nofile_hard=$(ulimit -Hn)"
echo "cgroup_memory=$($bb awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)"
echo "cgroup_pids=$($bb awk -F: '$2 == "pids" {print $3}' /proc/self/cgroup)"
echo PROBE-END
"""
# Docker's masked paths (moby oci/defaults.go). Which exist depends on the kernel's config (this
# machine's has no /proc/kcore, for one); the test checks those the host has.
MASKED = ("/proc/asound /proc/acpi /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list "
          "/proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware "
          "/sys/devices/virtual/powercap").split()
READONLY = "/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger".split()
PROBE = PROBE.replace("MASKED", " ".join(MASKED)).replace("READONLY", " ".join(READONLY))


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def parse(text):
    """key=value lines up to the END marker → dict (the first value of each key)."""
    facts = {}
    for line in text.splitlines():
        if line.strip() == END:
            break
        key, sep, value = line.partition("=")
        if sep and key not in facts:
            facts[key] = value.strip()
    return facts


class Confinement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="confine")
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        cls.tmp, cls.rootfs_tar = busybox_image.class_rootfs_tar(cls, "cpc-")
        r = cls.d.docker(["import", cls.rootfs_tar, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}")
        # One service, one task: probe, then stay up so its bundle can be read.
        r = cls.d.docker(["service", "create", "-d", "--name", "probe", IMAGE, "sh", "-c",
                          PROBE + 'trap "exit 0" TERM; sleep 1d & wait'])
        if r.returncode != 0:
            raise AssertionError(f"service create: {out(r)}")
        cls.task_id, cls.task_log = cls._wait_probe_output()
        cls.task = parse(cls.task_log)
        with open(os.path.join(cls.d.exec_root, "tasks", cls.task_id, "config.json")) as f:
            cls.config = json.load(f)

    @classmethod
    def _wait_probe_output(cls):
        found = {}

        def probed():
            r = cls.d.api("GET", "/tasks",
                          query={"filters": json.dumps({"service": ["probe"]})})
            if r.status != 200:
                return False
            for t in r.json():
                if t["Status"]["State"] != "running":
                    continue
                lr = cls.d.api("GET", f"/tasks/{t['ID']}/logs",
                               query={"stdout": "1", "stderr": "1"})
                text = harness.demux_stream(lr.body).decode(errors="replace")
                if lr.status == 200 and END in text:
                    cs = t["Status"].get("ContainerStatus") or {}
                    found["id"] = cs.get("ContainerID") or t["ID"]
                    found["task"] = t["ID"]
                    found["log"] = text
                    return True
            return False

        if not harness.wait_until(probed, 90):
            raise AssertionError("the probe task never ran to its end\n" + cls.d.log_tail())
        # The executor's bundle is named by task ID.
        bundle_id = found["task"]
        if not os.path.isdir(os.path.join(cls.d.exec_root, "tasks", bundle_id)):
            bundle_id = found["id"]
        return bundle_id, found["log"]

    # ---- the direct run (positive control and cross-check) ---------------------------------
    def run_probe_in_runc(self, config, name):
        """Runs PROBE with runc directly in `config` (a copy of the task's config.json with its
        own fresh busybox rootfs and no binds) and returns the parsed observations."""
        bundle = tempfile.mkdtemp(prefix=f"cpc-{name}-", dir=self.tmp)
        rootfs = os.path.join(bundle, "rootfs")
        os.mkdir(rootfs)
        with tarfile.open(self.rootfs_tar) as tar:
            tar.extractall(rootfs)
        config = json.loads(json.dumps(config))
        config["root"] = {"path": rootfs, "readonly": False}
        config["process"]["args"] = ["/bin/sh", "-c", PROBE]
        config["mounts"] = [m for m in config["mounts"] if m["type"] != "bind"]
        config["linux"].pop("cgroupsPath", None)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(config, f)
        runc_root = os.path.join(bundle, "runc-root")
        cid = f"capsule-redteam-confine-{name}-{os.getpid()}"
        self.addCleanup(subprocess.run, [harness.RUNC, "--root", runc_root, "delete", "-f", cid],
                        capture_output=True)
        r = subprocess.run([harness.RUNC, "--root", runc_root, "run", "--bundle", bundle, cid],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, out(r))
        text = r.stdout.decode(errors="replace")
        self.assertIn(END, text, out(r))
        return parse(text)

    def unconfined_config(self):
        c = json.loads(json.dumps(self.config))
        linux = c["linux"]
        for key in ("seccomp", "maskedPaths", "readonlyPaths"):
            self.assertIn(key, linux)  # the sections this control removes are really there
            del linux[key]
        linux["namespaces"] = [n for n in linux["namespaces"] if n["type"] != "cgroup"]
        c["process"].pop("rlimits", None)
        return c

    # ---- the task ---------------------------------------------------------------------------
    def test_task_runs_under_seccomp_filter(self):
        self.assertEqual(self.task.get("seccomp"), "2", self.task_log)

    def test_task_cannot_make_a_user_namespace(self):
        if not USERNS_POSSIBLE:
            self.skipTest(USERNS_IMPOSSIBLE)
        self.assertNotEqual(self.task.get("unshare_user_rc"), "0", self.task_log)
        self.assertIn("Operation not permitted", self.task.get("unshare_user_err", ""),
                      self.task_log)

    def test_masked_paths_show_nothing(self):
        present = [p for p in MASKED if os.path.exists(p)]
        self.assertGreaterEqual(len(present), 2, "too few of Docker's masked paths on this host")
        for p in present:
            # A directory: an empty read-only tmpfs over it; a file: /dev/null bound on it.
            want = "dir 0" if os.path.isdir(p) else "1:3 0"
            self.assertEqual(self.task.get("masked:" + p), want, p + "\n" + self.task_log)

    def test_proc_sys_and_sysrq_read_only(self):
        self.assertNotEqual(self.task.get("proc_sys_write_rc"), "0", self.task_log)
        self.assertIn("Read-only file system", self.task.get("proc_sys_write_err", ""),
                      self.task_log)
        present = [p for p in READONLY if os.path.exists(p)]
        self.assertIn("/proc/sys", present)
        for p in present:  # each a read-only bind of itself
            self.assertIn("ro", self.task.get("readonly:" + p, "").split(","),
                          p + "\n" + self.task_log)

    def test_dev_shm_is_64_mib_tmpfs(self):
        fstype, _, opts = self.task.get("shm", "").partition(" ")
        self.assertEqual(fstype, "tmpfs", self.task_log)
        for o in ("nosuid", "nodev", "noexec", "size=65536k"):
            self.assertIn(o, opts.split(","), self.task_log)

    def test_open_file_limit_as_docker_on_debian(self):
        """Docker's 1048576 — or capsuled's own hard limit when it is lower and capsuled lacks
        CAP_SYS_RESOURCE to go beyond it (as in some CI sandboxes; runc would fail otherwise)."""
        want = 1048576
        pid = self.d.pid
        with open(f"/proc/{pid}/status") as f:
            cap_eff = int(next(l for l in f if l.startswith("CapEff:")).split()[1], 16)
        with open(f"/proc/{pid}/limits") as f:
            hard = next(l for l in f if l.startswith("Max open files")).split()[4]
        if not cap_eff & (1 << 24) and hard != "unlimited":  # CAP_SYS_RESOURCE
            want = min(want, int(hard))
        self.assertEqual(self.task.get("nofile_soft"), str(want), self.task_log)
        self.assertEqual(self.task.get("nofile_hard"), str(want), self.task_log)
        self.assertEqual(self.config["process"]["rlimits"],
                         [{"type": "RLIMIT_NOFILE", "hard": want, "soft": want}])

    def test_task_sees_its_own_cgroup_as_root(self):
        self.assertEqual(self.task.get("cgroup_memory"), "/", self.task_log)
        self.assertEqual(self.task.get("cgroup_pids"), "/", self.task_log)

    def test_docker_info_security_options_are_what_tasks_get(self):
        r = self.d.docker(["info", "--format", "{{json .SecurityOptions}}"])
        self.assertEqual(r.returncode, 0, out(r))
        opts = json.loads(r.stdout)
        self.assertEqual(opts, ["name=seccomp,profile=default", "name=cgroupns"])
        # Each claim is observed in the task itself.
        self.assertEqual(self.task.get("seccomp"), "2")
        self.assertEqual(self.task.get("cgroup_memory"), "/")
        self.assertIn("seccomp", self.config["linux"])
        self.assertIn({"type": "cgroup"}, self.config["linux"]["namespaces"])

    # ---- positive controls ------------------------------------------------------------------
    def test_control_same_config_in_runc_agrees_with_task(self):
        direct = self.run_probe_in_runc(self.config, "same")
        for key in ["seccomp", "unshare_user_rc", "proc_sys_write_rc", "shm",
                    "nofile_soft",
                    "nofile_hard", "cgroup_memory"] + [f"masked:{p}" for p in MASKED] + [
                        f"readonly:{p}" for p in READONLY]:
            self.assertEqual(direct.get(key), self.task.get(key), key)

    def test_control_without_confinement_the_checks_fail(self):
        bare = self.run_probe_in_runc(self.unconfined_config(), "bare")
        msg = json.dumps(bare, indent=1)
        self.assertEqual(bare.get("seccomp"), "0", msg)
        if USERNS_POSSIBLE:
            self.assertEqual(bare.get("unshare_user_rc"), "0", msg)
        else:
            print(USERNS_IMPOSSIBLE)
        present = [p for p in MASKED if os.path.exists(p)]
        exposed = [p for p in present if bare.get("masked:" + p) not in ("dir 0", "1:3 0")]
        self.assertTrue(exposed, msg)  # what the masks hide is there to see without them
        self.assertEqual(bare.get("proc_sys_write_rc"), "0", msg)
        self.assertEqual(bare.get("readonly:/proc/sys"), "", msg)
        self.assertNotEqual(bare.get("cgroup_memory"), "/", msg)


if __name__ == "__main__":
    unittest.main()
