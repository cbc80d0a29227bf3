"""Leak checks (issue 5, part 3): a canary secret used by a running service on a 3-node swarm
must not reach any file, log, API read, task environment, core dump, or the memory of a node
whose tasks never referenced it.

Run: PYTHONPATH=.. python3 -m unittest -v test_leaks   (from tests/integration; ~1.5 min)
     PROVE_OUT=DIR PYTHONPATH=.. python3 -m unittest -v test_leaks   also writes DIR/leaks.json
Addresses: 127.0.20.1 (manager "mgr"), .2 (w1), .3 (w2), .4 (w3, thrown away by the core check).

Setup: the canary is `leak-canary-` + 96 random bytes in URL-safe base64 (140 bytes of text).
Every scan looks for it raw, in base64 (standard and URL-safe at all 3 alignments), in hex
(both cases), UTF-16 (LE, BE), JSON-escaped, and as 32-byte raw fragments of its random
tail, which survive an allocator overwriting a freed copy's head (leakscan.needles). Service `canary` (pinned to
w1, runs as 2000:3000) mounts it as /run/secrets/canary.txt (uid 2000, gid 3000, mode 0400)
and prints only its sha256, which is verified. Service `other` (pinned to w2) uses a secret of
its own, so w2 has a live session that delivers secrets — just never the canary.

Checks (each counts places, bytes and leaks; each has a control that shows it can fail):
 1 files   every file below each node's temp dir (data root — which holds etcd's data dir,
           checked — exec root, log, socket dir; secret tmpfs and task rootfs mounts included),
           top-level files in /tmp, /var/tmp, /dev/shm changed since the test began, and any
           regular file our processes hold open. Control: the task's own secret file is found,
           and is the only hit allowed — after checking from mountinfo that it is on tmpfs.
 2 logs    each capsuled log (etcd's output goes there too) and each task's json-file log.
           Control: the canary task's log holds the sha256 the task printed.
 3 api     manager and worker endpoints (secrets, services, tasks, nodes, info, swarm, agent,
           service/task logs) and each docker CLI (secret/service/node inspect, inspect of the
           task, service ps/logs). Control: the reads do name the canary's secret ID.
 4 env     /proc/<pid>/environ and cmdline of every process of the task, its runc and its
           capsule-shim: neither the value nor the secret's name. Control: the service's own
           env marker is found in the task's environ.
 5 cores   Sound only with the kernel's help. Every capsuled has RLIMIT_CORE 0 (read from
           /proc/<pid>/limits), but a zero limit alone would hide whether it is dumpable, and it
           cannot be raised from outside here (hard limit 0, no CAP_SYS_RESOURCE). Reading
           /proc/<pid>/ ownership proves nothing for a root daemon, and PR_GET_DUMPABLE reads
           only the caller. What does decide it: for a pipe core_pattern the kernel ignores
           RLIMIT_CORE (except the value 1) but still refuses to dump a process whose dumpable
           flag is 0. So a throwaway worker w3 receives the canary for a task of its own, then
           kernel.core_pattern is set for a moment to `|<helper> <dir> %P %d`, both paths under
           /proc/<test pid>/root so that a chroot works too (the helper saves
           stdin as <dir>/core.<pid>; the original pattern is restored in `finally`), and w3's
           capsuled gets SIGABRT: its wait status must say "no core dumped" and no core may
           appear. Control: a dumpable child process holding the canary, aborted the same way,
           does dump, and the scan finds the canary in its core. w3's capsule-shim is aborted
           the same way: it is an ordinary (dumpable) process — recorded in the notes — so its
           core is scanned: it must not hold the canary.
 6 modes   per ARCHITECTURE.md, on all three nodes: data root 0700, exec root 0711 and its
           subdirectories 0700, API socket 0660, key files (KEK, node key) 0600, state.json and
           the swarm dir closed to others, etcd dir 0700 (test_modes.py covers one manager's
           sockets and ports; this adds workers and the tmpfs). Secret tmpfs on the host: tmpfs,
           ro,nosuid,nodev,noexec, mode=700 root; the file 2000:3000 0400; inside the task
           /run/secrets/canary.txt is mounted ro,nosuid,nodev,noexec.
 7 memory  /proc/<pid>/mem (every readable mapping) of w2's capsuled must not hold the canary;
           nor w1's capsule-shim and runc, nor the manager's etcd (it stores only sealed
           values). Control: w1's capsuled does hold it (its agent's SecretBytes cache, while
           the task runs). The manager's capsuled is scanned and reported, not failed: it
           decrypts the secret to seal it for w1 and parsed the create request, and the design
           promises wiping only for SecretBytes, not for every transient buffer.
 8 withdrawn  after `docker service rm canary` and the withdrawal reaching w1, w1's capsuled
           memory is scanned again: the cache's SecretBytes wipe on release, so it must be gone.
"""

import base64
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import busybox_image, leakscan

MGR_IP, W1_IP, W2_IP, W3_IP = "127.0.20.1", "127.0.20.2", "127.0.20.3", "127.0.20.4"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
IMAGE = "capsule/busybox:1"
TARGET = "canary.txt"


def hash_cmd(target):
    # The task prints only the digest; the shell traps TERM so a stop is quick.
    return ["sh", "-c", f'sha256sum /run/secrets/{target}; trap "exit 0" TERM; sleep 1d & wait']


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")



def core_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    return None


class Leaks(unittest.TestCase):
    checks = {}  # name -> {"places_scanned", "bytes_scanned", "leaks", "details"}
    controls = {}  # control name -> found (bool)
    notes = {}  # observations recorded in leaks.json (not failures)

    # ---- setup -------------------------------------------------------------------------------
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.time()
        cls.tmp = tempfile.mkdtemp(prefix="cplk-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.value = b"leak-canary-" + base64.urlsafe_b64encode(os.urandom(96))
        cls.needles = leakscan.needles(cls.value)
        cls.digest = hashlib.sha256(cls.value).hexdigest()
        cls.name = "canary-" + os.urandom(6).hex()
        cls.marker = "LEAKMARK" + os.urandom(8).hex()
        cls.m = cls.node(MGR_IP, "mgr")
        cls.ok_cls(cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                                 MANAGER_ADDR]))
        cls.token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.w1 = cls.join(W1_IP, "w1")
        cls.w2 = cls.join(W2_IP, "w2")
        cls.nodes = {"mgr": cls.m, "w1": cls.w1, "w2": cls.w2}
        cls.ok_cls(cls.m.docker(["secret", "create", cls.name, "-"], input=cls.value))
        cls.sid = cls.m.api("GET", f"/secrets/{cls.name}").json()["ID"]
        # Observation only: does the manager keep the create request's copy around?
        hits = leakscan.scan_memory(cls.m.pid, cls.needles)[0]
        cls.notes["mgr_capsuled_hits_after_create"] = [h[0] for h in hits]
        cls.other_value = b"other-" + os.urandom(24).hex().encode()
        cls.ok_cls(cls.m.docker(["secret", "create", "other-pw", "-"], input=cls.other_value))
        cls.other_sid = cls.m.api("GET", "/secrets/other-pw").json()["ID"]
        cls.ok_cls(cls.m.docker(
            ["service", "create", "-d", "--name", "canary", "--constraint", "node.hostname==w1",
             "--user", "2000:3000", "-e", f"MARK={cls.marker}", "--secret",
             f"source={cls.name},target={TARGET},uid=2000,gid=3000,mode=0400", IMAGE]
            + hash_cmd(TARGET)))
        cls.ok_cls(cls.m.docker(
            ["service", "create", "-d", "--name", "other", "--constraint", "node.hostname==w2",
             "--secret", "source=other-pw,target=other", IMAGE] + hash_cmd("other")))
        cls.task = cls.wait_task("canary")
        cls.other_task = cls.wait_task("other")
        cls.wait_cls(lambda: cls.digest.encode() in cls.task_log(cls.w1, cls.task["ID"]), 30,
                     lambda: "canary task did not print the sha256 of the canary: "
                     + repr(cls.task_log(cls.w1, cls.task["ID"])))
        other_digest = hashlib.sha256(cls.other_value).hexdigest().encode()
        cls.wait_cls(lambda: other_digest in cls.task_log(cls.w2, cls.other_task["ID"]), 30,
                     "other task did not print its digest")
        cls.wait_cls(lambda: cls.agent(cls.w1)["Secrets"] == [cls.sid], 10, "w1 lacks canary")
        cls.wait_cls(lambda: cls.agent(cls.w2)["Secrets"] == [cls.other_sid], 10, "w2 secrets")

    @classmethod
    def node(cls, ip, name):
        d = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
        cls.addClassCleanup(d.close)
        return d

    @classmethod
    def join(cls, ip, name):
        w = cls.node(ip, name)
        cls.ok_cls(w.docker(["swarm", "join", "--token", cls.token, "--advertise-addr", ip,
                             "--listen-addr", f"{ip}:{harness.SWARM_PORT}", MANAGER_ADDR]))
        cls.ok_cls(w.docker(["import", cls.rootfs, IMAGE]))
        return w

    @classmethod
    def ok_cls(cls, r):
        if r.returncode != 0:
            raise AssertionError(out(r))
        return r.stdout.decode()

    @classmethod
    def wait_cls(cls, fn, timeout, msg):
        if not harness.wait_until(fn, timeout, 0.2):
            raise AssertionError((msg() if callable(msg) else msg) + "\n" + cls.m.log_tail(8))

    @classmethod
    def tasks(cls, service):
        r = cls.m.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return r.json() if r.status == 200 else []

    @classmethod
    def wait_task(cls, service):
        def running():
            ts = [t for t in cls.tasks(service) if t["Status"]["State"] == "running"]
            return ts[0] if ts else None
        cls.wait_cls(running, 90, f"no running task of {service}: {cls.tasks(service)}")
        return running()

    @classmethod
    def task_log(cls, d, task_id):
        """The task's log file on the node that ran it, read from disk (what a leak scan of that
        node's data root sees)."""
        return leakscan.read_bytes(os.path.join(d.data_root, "tasks", task_id, "log"))

    @classmethod
    def agent(cls, d):
        return d.api("GET", "/capsule/agent", version=None).json()

    @classmethod
    def tearDownClass(cls):
        out_dir = os.environ.get("PROVE_OUT")
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            report = {
                "checks": [{"name": n, "places_scanned": c["places_scanned"],
                            "bytes_scanned": c["bytes_scanned"], "leaks": c["leaks"]}
                           for n, c in cls.checks.items()],
                "leaks_total": sum(c["leaks"] for c in cls.checks.values()),
                "positive_controls_found": sum(1 for v in cls.controls.values() if v),
                "positive_controls": cls.controls,
                "details": {n: c["details"] for n, c in cls.checks.items()},
                "notes": cls.notes,
            }
            with open(os.path.join(out_dir, "leaks.json"), "w") as f:
                json.dump(report, f, indent=1, sort_keys=True)

    # ---- recording ---------------------------------------------------------------------------
    def record(self, name, places, nbytes, leaks):
        """Records a check's figures; fails the test if it found leaks."""
        type(self).checks[name] = {"places_scanned": places, "bytes_scanned": nbytes,
                                   "leaks": len(leaks), "details": leaks[:50]}
        print(f"\n  leaks/{name}: {places} places, {nbytes} bytes, {len(leaks)} leaks",
              file=sys.stderr)
        self.assertEqual(leaks, [], f"{name}: leaks found")

    def control(self, name, found, msg=""):
        type(self).controls[name] = bool(found)
        self.assertTrue(found, f"positive control {name} did not find its target {msg}")

    def task_pid(self):
        return self.task["Status"]["ContainerStatus"]["PID"]

    def task_secret_file(self):
        d = os.path.join(self.w1.exec_root, "secrets", self.task["ID"])
        files = os.listdir(d)
        self.assertEqual(len(files), 1, files)
        return os.path.join(d, files[0])

    # ---- 0. the scanners themselves ----------------------------------------------------------
    def test_0_scanners_find_every_form(self):
        """Control: each encoding of the canary, planted in a file and in a live process's
        memory, is found by the same scanners the checks use."""
        forms = sorted(self.needles)
        planted = os.path.join(self.tmp, "planted")
        with open(planted, "wb") as f:
            for n in forms:
                f.write(os.urandom(7) + n)
        hits, _, _ = leakscan.scan_files([planted], self.needles)
        self.assertEqual(hits and hits[0][1], forms)
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sys,time\nforms=[bytes.fromhex(l) for l in sys.stdin.read().split()]\n"
             "print('ready',flush=True)\ntime.sleep(60)"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            holder.stdin.write(b"\n".join(n.hex().encode() for n in forms) + b"\n")
            holder.stdin.flush()
            holder.stdin.close()
            self.assertEqual(holder.stdout.readline(), b"ready\n")
            found = set()
            for _, f in leakscan.scan_memory(holder.pid, self.needles)[0]:
                found.update(f)
        finally:
            holder.kill()
            holder.wait()
            holder.stdout.close()
        self.control("scanners: every form planted in a file is found", hits)
        self.control("scanners: every form held by a process is found in its memory",
                     sorted(found) == forms, [n for n in forms if n not in found][:3])

    # ---- 1. files ----------------------------------------------------------------------------
    def test_1_files(self):
        paths = []
        for d in self.nodes.values():
            paths += list(leakscan.files_under(d.root))
        # etcd's data dir: where does the running member live?
        etcd_pid = self.m.etcd_pid()
        self.assertTrue(etcd_pid and harness.pid_alive(etcd_pid))
        etcd_cwd = os.readlink(f"/proc/{etcd_pid}/cwd")
        self.assertTrue(etcd_cwd.startswith(self.m.data_root + "/"), etcd_cwd)
        etcd_files = [p for p in paths if p.startswith(etcd_cwd + "/")]
        self.assertTrue(any("/member/" in p for p in etcd_files), etcd_files[:20])
        type(self).notes["etcd_data_dir"] = etcd_cwd
        # Stray files in the usual temp dirs, and anything our processes hold open.
        for top in ("/tmp", "/var/tmp", "/dev/shm"):
            for e in os.scandir(top):
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode) and max(st.st_mtime, st.st_ctime) >= self.t0 \
                        and st.st_size <= 64 << 20:
                    paths.append(e.path)
        for pid in self.our_pids():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("/") and os.path.isfile(target) and target not in paths \
                        and not target.startswith(("/usr/", "/proc/", "/dev/")):
                    paths.append(target)
        hits, nfiles, nbytes = leakscan.scan_files(paths, self.needles)
        # Names are HMACed in etcd's keys and sealed in its values: not in plaintext there.
        name_hits, _, _ = leakscan.scan_files(etcd_files, {self.name.encode()})
        own = self.task_secret_file()
        mount = leakscan.mount_of(own)
        leaks = []
        found_own = False
        for p, found in hits:
            if p == own and mount and mount[1] == "tmpfs":
                found_own = True
            else:
                leaks.append(f"{p}: {[n[:12] for n in found]}")
        leaks += [f"{p}: the secret's name" for p, _ in name_hits]
        self.assertEqual(mount[1], "tmpfs", f"the task's secret file is on {mount}")
        self.control("files: the task's own tmpfs secret file", found_own, own)
        self.assertGreater(nfiles, 20, "scan found almost no files")
        self.record("files", nfiles, nbytes, leaks)

    def our_pids(self):
        """capsuled and etcd of every node, and every process running from their temp dirs
        (task shims, runc) plus the task processes."""
        pids = set()
        for d in self.nodes.values():
            if d.running():
                pids.add(d.pid)
            e = d.etcd_pid()
            if e and harness.pid_alive(e):
                pids.add(e)
            pids.update(harness.pids_with_arg(d.root + "/"))
        for t in (self.task, self.other_task):
            pids.update(leakscan.proc_tree(t["Status"]["ContainerStatus"]["PID"]))
        return sorted(p for p in pids if harness.pid_alive(p))

    # ---- 2. logs -----------------------------------------------------------------------------
    def test_2_logs(self):
        paths = [d.log_path for d in self.nodes.values()]
        task_logs = []
        for d in self.nodes.values():
            logs_dir = os.path.join(d.data_root, "tasks")
            if os.path.isdir(logs_dir):
                task_logs += [p for p in leakscan.files_under(logs_dir)]
        own_log = os.path.join(self.w1.data_root, "tasks", self.task["ID"], "log")
        self.assertIn(own_log, task_logs)
        self.control("logs: the task's json-file log holds the printed sha256",
                     self.digest.encode() in leakscan.read_bytes(own_log))
        hits, nfiles, nbytes = leakscan.scan_files(paths + task_logs, self.needles)
        leaks = [f"{p}: {[n[:12] for n in f]}" for p, f in hits]
        self.record("logs", nfiles, nbytes, leaks)

    # ---- 3. API and CLI reads ----------------------------------------------------------------
    def test_3_api(self):
        m, tid, sid = self.m, self.task["ID"], self.sid
        svc = m.api("GET", "/services/canary").json()["ID"]
        logq = {"stdout": "1", "stderr": "1", "timestamps": "1", "details": "1"}
        reads = [(m, p, None) for p in (
            "/secrets", f"/secrets/{sid}", f"/secrets/{self.name}", "/services",
            f"/services/{svc}", "/services/canary", "/tasks", f"/tasks/{tid}", "/nodes",
            "/info", "/swarm", "/version")]
        reads += [(m, f"/services/{svc}/logs", logq), (m, f"/tasks/{tid}/logs", logq),
                  (m, "/secrets", {"filters": json.dumps({"name": [self.name]})}),
                  (m, "/tasks", {"filters": json.dumps({"service": ["canary"]})})]
        for d in self.nodes.values():
            reads += [(d, "/info", None), (d, "/capsule/agent", None)]
        # w1's own API: a worker may refuse task reads (it is no manager); its body is scanned.
        reads += [(self.w1, f"/tasks/{tid}/logs", logq)]
        leaks, nbytes, names_id = [], 0, 0
        for d, path, q in reads:
            r = d.api("GET", path, query=q, version=None if path.startswith("/capsule") else
                      harness.API_VERSION)
            if d is not self.w1 or not path.endswith("/logs"):
                self.assertEqual(r.status, 200, f"{d.name} GET {path}: {r!r}")
            else:
                type(self).notes["w1_task_logs_status"] = r.status
            body = harness.demux_stream(r.body) if path.endswith("/logs") else r.body
            nbytes += len(r.body)
            names_id += sid.encode() in body
            for n in leakscan.find_in(r.body, self.needles) + leakscan.find_in(body,
                                                                               self.needles):
                leaks.append(f"{d.name} GET {path}: {n[:12]!r}")
        cli_cmds = [["secret", "inspect", self.name], ["secret", "ls"],
                    ["service", "inspect", "canary"], ["service", "inspect", "--pretty", "canary"],
                    ["service", "ps", "--no-trunc", "canary"], ["inspect", tid],
                    ["service", "logs", "--raw", "canary"], ["node", "inspect", "w1"],
                    ["info"], ["secret", "inspect", "--pretty", self.name]]
        cli_runs = 0
        for cli in harness.DOCKER_CLIS:
            for args in cli_cmds:
                r = m.docker(args, cli=cli)
                self.assertEqual(r.returncode, 0, f"{cli} {args}: {out(r)}")
                cli_runs += 1
                blob = r.stdout + r.stderr
                nbytes += len(blob)
                names_id += sid.encode() in blob
                for n in leakscan.find_in(blob, self.needles):
                    leaks.append(f"{os.path.basename(os.path.dirname(cli))} docker "
                                 f"{' '.join(args)}: {n[:12]!r}")
        # secret ls, secret/service inspect, the task, the agent of w1 ... name the ID.
        self.control("api: reads name the canary's secret ID", names_id >= 8, names_id)
        self.record("api", len(reads) + cli_runs, nbytes, leaks)

    # ---- 4. environment ----------------------------------------------------------------------
    def task_family(self):
        """The task's processes, its runc and capsule-shim (ancestors up to w1's capsuled or
        init), and every process running from w1's temp dir."""
        pid = self.task_pid()
        fam = set(leakscan.proc_tree(pid))
        p = leakscan.ppid_of(pid)
        while p and p > 1 and p != self.w1.pid:
            fam.add(p)
            p = leakscan.ppid_of(p)
        fam.update(harness.pids_with_arg(self.w1.root + "/"))
        return sorted(x for x in fam if harness.pid_alive(x))

    def test_4_env(self):
        fam = self.task_family()
        names = {p: harness.proc_cmdline(p)[0].decode(errors="replace") for p in fam}
        self.assertTrue(any("capsule-shim" in n for n in names.values()), names)
        self.assertTrue(any("runc" in n for n in names.values()), names)
        type(self).notes["task_processes"] = sorted(set(os.path.basename(n)
                                                        for n in names.values()))
        needles = self.needles | {self.name.encode()}
        leaks, nbytes = [], 0
        for p in fam:
            for f in ("environ", "cmdline"):
                blob = leakscan.read_bytes(f"/proc/{p}/{f}")
                nbytes += len(blob)
                for n in leakscan.find_in(blob, needles):
                    leaks.append(f"{names[p]} ({p}) {f}: {n[:12]!r}")
        env = leakscan.read_bytes(f"/proc/{self.task_pid()}/environ")
        self.control("env: the task's environ holds its MARK variable",
                     f"MARK={self.marker}".encode() in env, env[:300])
        self.record("env", len(fam), nbytes, leaks)

    # ---- 5. core dumps and dumpability -------------------------------------------------------
    def test_5_cores(self):
        leaks, places, nbytes = [], 0, 0
        for d in self.nodes.values():
            places += 1
            lim = core_limit(d.pid)
            if lim != ["0", "0"]:
                leaks.append(f"{d.name} capsuled RLIMIT_CORE {lim}")
        w3 = self.join(W3_IP, "w3")
        self.ok_cls(self.m.docker(
            ["service", "create", "-d", "--name", "canary3", "--constraint", "node.hostname==w3",
             "--secret", f"source={self.name},target={TARGET}", IMAGE] + hash_cmd(TARGET)))
        t3 = self.wait_task("canary3")
        self.wait_cls(lambda: self.digest.encode() in self.task_log(w3, t3["ID"]), 30,
                      "canary3 did not print the digest")
        self.wait_cls(lambda: self.agent(w3)["Secrets"] == [self.sid], 10, "w3 lacks canary")
        hits = leakscan.scan_memory(w3.pid, self.needles)[0]
        self.assertTrue(hits, "w3's capsuled does not hold the canary: nothing to dump")
        t3_pid = t3["Status"]["ContainerStatus"]["PID"]
        shim = next((p for p in self.ancestors(t3_pid, w3.pid)
                     if b"capsule-shim" in harness.proc_cmdline(p)[0]), None)
        self.assertIsNotNone(shim, "no capsule-shim above the w3 task")
        self.assertEqual(core_limit(shim), ["0", "0"])  # inherited from capsuled

        cores = tempfile.mkdtemp(prefix="cplk-core-", dir="/tmp")
        helper = os.path.join(cores, "dump.sh")
        with open(helper, "w") as f:
            # $1 dir, $2 global PID, $3 dump mode: the core arrives on stdin.
            f.write('#!/bin/sh\ncat > "$1/core.$2.part" && echo "$3" > "$1/mode.$2" && '
                    'mv "$1/core.$2.part" "$1/core.$2"\n')
        os.chmod(helper, 0o700)
        pattern_path = "/proc/sys/kernel/core_pattern"
        with open(pattern_path) as f:
            original = f.read().rstrip("\n")
        control = subprocess.Popen(
            [sys.executable, "-c",
             "import sys,time\nv=sys.stdin.buffer.readline()\n"
             "print('ready',flush=True)\ntime.sleep(120)"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

        def core(pid):
            return os.path.join(cores, f"core.{pid}")
        try:
            control.stdin.write(self.value + b"\n")
            control.stdin.flush()
            self.assertEqual(control.stdout.readline(), b"ready\n")
            # A pipe pattern: the kernel ignores RLIMIT_CORE (0 here, and no CAP_SYS_RESOURCE
            # to raise it) for pipes, so only dumpability decides whether a core is made.
            # The kernel runs a pipe helper in the init process's root, not in ours: inside a
            # chroot (a fresh-machine check) `helper` would not exist there. /proc/<our
            # pid>/root names our root from anywhere, and is plain "/" on a normal machine.
            seen = f"/proc/{os.getpid()}/root"
            with open(pattern_path, "w") as f:
                f.write(f"|{seen}{helper} {seen}{cores} %P %d")
            try:
                control.send_signal(signal.SIGABRT)
                _, status = os.waitpid(control.pid, 0)
                control.returncode = -signal.SIGABRT
                control_dumped = os.WCOREDUMP(status)
                harness.wait_until(lambda: os.path.exists(core(control.pid)), 20)
                os.kill(w3.pid, signal.SIGABRT)
                _, w3_status = os.waitpid(w3.pid, 0)
                w3.proc.returncode = -signal.SIGABRT
                os.kill(shim, signal.SIGABRT)
                harness.wait_until(lambda: os.path.exists(core(shim)), 20)
                # The kernel runs the helper before the dying process is reaped; give a core of
                # w3's capsuled (there must be none) the same chance to appear.
                harness.wait_until(lambda: os.path.exists(core(w3.pid)), 2)
            finally:
                with open(pattern_path, "w") as f:
                    f.write(original)
            self.assertTrue(os.WIFSIGNALED(w3_status) and
                            os.WTERMSIG(w3_status) == signal.SIGABRT, w3_status)
            self.control("cores: a dumpable process holding the canary dumps core",
                         control_dumped and os.path.exists(core(control.pid)))
            self.control("cores: the scan finds the canary in that core",
                         leakscan.scan_files([core(control.pid)], self.needles)[0])
            places += 2
            if os.WCOREDUMP(w3_status):
                leaks.append("w3 capsuled: the kernel reports a core dump (it is dumpable)")
            if os.path.exists(core(w3.pid)) or os.path.exists(core(w3.pid) + ".part"):
                leaks.append(f"w3 capsuled core file {core(w3.pid)}")
            type(self).notes["capsule_shim_dumpable"] = os.path.exists(core(shim))
            type(self).notes["capsule_shim_core_bytes"] = (
                os.path.getsize(core(shim)) if os.path.exists(core(shim)) else 0)
            others = [os.path.join(cores, n) for n in os.listdir(cores)
                      if n.startswith("core.") and n != os.path.basename(core(control.pid))]
            hits, n, b = leakscan.scan_files(others, self.needles)
            places += n
            nbytes += b
            leaks += [f"core {p} holds the canary" for p, _ in hits]
            # Nothing the aborted daemon left on disk holds it either (its task's tmpfs file
            # is still mounted and allowed).
            hits, n, b = leakscan.scan_files(leakscan.files_under(w3.root), self.needles)
            places += n
            nbytes += b
            for p, _ in hits:
                m = leakscan.mount_of(p)
                if not (p.startswith(os.path.join(w3.exec_root, "secrets", t3["ID"]) + "/")
                        and m and m[1] == "tmpfs"):
                    leaks.append(f"w3 file {p}")
        finally:
            if control.poll() is None:
                control.kill()
                control.wait()
            control.stdin.close()
            control.stdout.close()
            shutil.rmtree(cores, ignore_errors=True)
            w3.close()
            self.m.api("DELETE", "/services/canary3")
        self.record("cores", places, nbytes, leaks)

    def ancestors(self, pid, stop):
        out, p = [], leakscan.ppid_of(pid)
        while p and p > 1 and p != stop:
            out.append(p)
            p = leakscan.ppid_of(p)
        return out

    # ---- 6. modes ----------------------------------------------------------------------------
    def test_6_modes(self):
        bad, places = [], 0

        def want(what, got, expected):
            nonlocal places
            places += 1
            if got != expected:
                bad.append(f"{what}: {got!r}, want {expected!r}")

        def mode(p):
            return oct(stat.S_IMODE(os.lstat(p).st_mode))

        for name, d in self.nodes.items():
            want(f"{name} data root", mode(d.data_root), "0o700")
            want(f"{name} exec root", mode(d.exec_root), "0o711")
            for e in os.scandir(d.exec_root):
                if e.is_dir(follow_symlinks=False):
                    want(f"{name} {e.path}", mode(e.path), "0o700")
            st = os.lstat(d.sock)
            want(f"{name} API socket is a socket", stat.S_ISSOCK(st.st_mode), True)
            want(f"{name} API socket", mode(d.sock), "0o660")
            swarm = os.path.join(d.data_root, "swarm")
            want(f"{name} swarm dir closed to others", int(mode(swarm), 8) & 0o077, 0)
            want(f"{name} state.json closed to others",
                 int(mode(os.path.join(swarm, "state.json")), 8) & 0o077, 0)
            # Every file of the node's identity but the public certificates is 0600 (the
            # KEK, the node key, state.json), every directory 0700.
            files = list(leakscan.files_under(swarm))
            keys = [p for p in files if p.endswith((".key", "/kek"))]
            want(f"{name} has a node key", any(p.endswith("/swarm-node.key") for p in keys), True)
            for p in files:
                if not p.endswith(".crt"):
                    want(f"{name} {p}", mode(p), "0o600")
            for dp, _, _ in os.walk(swarm):
                want(f"{name} {dp}", mode(dp), "0o700")
            if name == "mgr":
                want("mgr etcd dir", mode(os.path.join(d.data_root, "etcd")), "0o700")
                want("mgr has a KEK file", any(k.endswith("/kek") for k in keys), True)
            else:
                want(f"{name} runs no etcd", os.path.exists(os.path.join(d.data_root, "etcd"))
                     and bool(d.etcd_pid()), False)
        # The canary's tmpfs on w1 (host side).
        f = self.task_secret_file()
        mp, fstype, opts, sopts = leakscan.mount_of(f)
        want("secret mount point is the task's secrets dir", mp, os.path.dirname(f))
        want("secret mount fs type", fstype, "tmpfs")
        for o in ("ro", "nosuid", "nodev", "noexec"):
            want(f"secret mount option {o}", o in opts, True)
        want("secret tmpfs mode=700", "mode=700" in sopts, True)
        want("secret tmpfs root", mode(mp), "0o700")
        st = os.lstat(f)
        want("secret file uid:gid", (st.st_uid, st.st_gid), (2000, 3000))
        want("secret file mode", mode(f), "0o400")
        want("secret file is regular", stat.S_ISREG(st.st_mode), True)
        # Inside the task.
        with open(f"/proc/{self.task_pid()}/mountinfo") as fh:
            lines = [ln for ln in fh.read().splitlines()
                     if f" /run/secrets/{TARGET} " in ln]
        want("task sees one mount at /run/secrets/canary.txt", len(lines), 1)
        if lines:
            topts = lines[0].split()[5].split(",")
            for o in ("ro", "nosuid", "nodev", "noexec"):
                want(f"task mount option {o}", o in topts, True)
            want("task mount fs type", lines[0].split(" - ", 1)[1].split()[0], "tmpfs")
        self.record("modes", places, 0, bad)

    # ---- 7. memory ---------------------------------------------------------------------------
    def mem(self, pid):
        """Scans pid's memory; regions that could not be read are counted in the notes."""
        hits, regions, nbytes, unreadable = leakscan.scan_memory(pid, self.needles)
        exe = os.path.basename(harness.proc_cmdline(pid)[0].decode(errors="replace"))
        bad = type(self).notes.setdefault("memory_unreadable_regions", {})
        bad[exe] = bad.get(exe, 0) + unreadable
        return hits, regions, nbytes

    def test_7_memory(self):
        leaks, places, nbytes = [], 0, 0
        # Control first: w1's capsuled holds the canary while its task runs.
        hits, r, b = self.mem(self.w1.pid)
        places += r
        nbytes += b
        type(self).notes["w1_capsuled_hits_running"] = [h[0] for h in hits]
        self.control("memory: w1's capsuled holds the canary while its task runs", hits)
        targets = [("w2 capsuled", self.w2.pid), ("mgr etcd", self.m.etcd_pid())]
        for p in self.task_family():
            exe = os.path.basename(harness.proc_cmdline(p)[0].decode(errors="replace"))
            if exe in ("capsule-shim", "runc"):
                targets.append((f"w1 {exe}", p))
        for p in harness.pids_with_arg(self.w2.root + "/"):
            exe = os.path.basename(harness.proc_cmdline(p)[0].decode(errors="replace"))
            targets.append((f"w2 {exe}", p))
        for what, pid in targets:
            self.assertTrue(pid and harness.pid_alive(pid), what)
            hits, r, b = self.mem(pid)
            places += r
            nbytes += b
            leaks += [f"{what} ({pid}) {region}: {[n[:12] for n in f]}" for region, f in hits]
        hits, r, b = self.mem(self.m.pid)
        places += r
        nbytes += b
        type(self).notes["mgr_capsuled_hits_running"] = [
            f"{region}: {[n[:16].decode(errors='replace') for n in f]}" for region, f in hits]
        print(f"\n  manager capsuled regions holding the canary: {len(hits)}", file=sys.stderr)
        self.record("memory", places, nbytes, leaks)

    # ---- 8. after withdrawal -----------------------------------------------------------------
    def test_8_withdrawn(self):
        self.ok_cls(self.m.docker(["service", "rm", "canary"]))
        self.wait_cls(lambda: self.agent(self.w1)["Secrets"] == [], 30, "w1 still holds it")
        self.wait_cls(lambda: not harness.mounts_below(self.w1.exec_root + "/secrets"), 30,
                      "w1 secret tmpfs still mounted")
        hits, r, b = self.mem(self.w1.pid)
        type(self).notes["w1_capsuled_hits_after_rm"] = [h[0] for h in hits]
        mhits, mr, mb = self.mem(self.m.pid)
        type(self).notes["mgr_capsuled_hits_after_rm"] = [
            f"{region}: {[n[:16].decode(errors='replace') for n in f]}" for region, f in mhits]
        leaks = [f"w1 capsuled {region}: {[n[:12] for n in f]}" for region, f in hits]
        # And no file of any node holds it any more — the task's tmpfs file included.
        paths = [p for d in self.nodes.values() for p in leakscan.files_under(d.root)]
        fhits, n, fb = leakscan.scan_files(paths, self.needles)
        leaks += [f"file {p}" for p, _ in fhits]
        self.record("withdrawn", r + n, b + fb, leaks)


if __name__ == "__main__":
    unittest.main()
