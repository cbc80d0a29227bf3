"""Red team (issue 11 part 7): attacks the earlier proof suite tried or left open that were not
yet tests of their own — a hostile worker with its real certificate, a hostile task, a hostile
local API client. Each test makes the attack against real capsuled/etcd/runc and carries a
positive control: the same observation made where the attack's target IS reachable (the owner's
certificate, the owner's task, a field the API does echo) must see it, so a check that cannot
fail is caught. Attacks that already have a test with a control are listed in README.md, not
repeated here.

Hostile worker (swarm 1: manager .1, workers w1 .2 and w2 .3; raw calls with the node's own
certificate files through tests/grpc's redteam_swarm_client, built beside capsuled):
  - w2 opens a Session with its real certificate, claiming w1's hostname: the complete set it
    gets holds none of w1's tasks or secrets, and no node is renamed (Capsule takes a node's
    hostname from its join only). Control: w1's certificate, same call, gets the task and a
    secret that opens to the right bytes.
  - w2 reports "failed" for w1's running task: PERMISSION_DENIED, the task's stored status is
    unchanged. Control: w1 sends the same report and the store shows it.
  - a node removed with `node rm --force` keeps its certificate files: Session, Renew and
    UpdateTaskStatus are refused, and still refused after the manager restarts (removal lives
    in the store, not in memory). Control: the same three calls worked before the removal.
Expired certificate (swarm 2: manager .4 issuing 20 s certificates): a copy of the manager's
own certificate is refused once it has expired — on a connection opened while it was valid and
kept open (no new handshake: the per-call check must see the expiry, although the Authorizer
remembers verified certificates), and on a new connection. Control: the first call on that
connection, made while the copy was valid, passes the manager-only ListSessions.
Hostile task and API client (single node .5, --log-level debug):
  - a root task probes for another task's secret: /proc/*/root, /proc/*/environ, mount tables,
    the secret's host path, the host capsuled's /proc/<pid>/mem, a find over /. Control: the
    same probe run by the owning task prints the secret.
  - root in a task tries to write, append to, chmod, rename over, remove, unmount and remount
    its own secret: all fail, the value is unchanged. Control: the same operations on an
    ordinary file in the task succeed.
  - a task running as uid 2000 cannot read its secret given to uid 0 with mode 0400.
    Control: it reads the one given to uid 2000.
  - an image whose /run and /escape are symlinks to a host directory: secrets targeted under
    them land inside the task's rootfs, never in the host directory. Control: the task reads
    them at the symlinked paths (the mounts did follow the links — inside the rootfs).
  - secret data in a request that fails (bad base64, bad name, too large, duplicate, bad JSON
    after the data, update with data, data in the query string) never comes back in the error,
    nor reaches the debug log (nor does a create with the data in the query string). Control:
    a value the API does echo (an unknown ID) is found by the same scan.
  - path traversal in IDs and names (`..`, `%2e%2e`, `../../..` encoded; secrets, services,
    tasks' logs, images: inspect, delete, import and load repository names) never reads,
    creates or removes anything outside its place. Control: the same routes with real names
    read the task's log, import, inspect and delete an image.

Run: ctest -R redteam.test_earlier_attacks, or from tests/redteam:
  PYTHONPATH=.. CAPSULED=../../build/bin/capsuled CAPSULE_CLI=../../build/bin/capsule \
    python3 -m unittest -v test_earlier_attacks
Addresses: 127.0.36.1-.5 (tests/harness lists the blocks).
"""

import base64
import calendar
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import urllib.parse

import harness
from harness import busybox_image, leakscan

MGR_IP, W1_IP, W2_IP = "127.0.36.1", "127.0.36.2", "127.0.36.3"
SHORT_IP = "127.0.36.4"
SOLO_IP = "127.0.36.5"
IMAGE = "capsule/busybox:1"
CLIENT = os.environ.get("REDTEAM_SWARM_CLIENT") or os.path.join(
    os.path.dirname(harness.CAPSULED), "redteam_swarm_client")
SHORT_VALIDITY_S = 20
REFUSED = ("PERMISSION_DENIED", "UNAUTHENTICATED", "UNAVAILABLE")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(ip):
    return f"{ip}:{harness.SWARM_PORT}"


def certs_of(daemon):
    d = os.path.join(daemon.data_root, "swarm", "certificates")
    return [os.path.join(d, f) for f in ("swarm-node.crt", "swarm-node.key", "swarm-root-ca.crt")]


def copy_certs(daemon, dest):
    """A copy of the node's certificate, key and root as they are now (a hostile node's keep)."""
    os.makedirs(dest, exist_ok=True)
    copies = []
    for p in certs_of(daemon):
        q = os.path.join(dest, os.path.basename(p))
        shutil.copyfile(p, q)
        copies.append(q)
    return copies


def swarm_call(manager_ip, certs, *args):
    """One raw call on the manager's swarm port with `certs` (cert, key, root); its JSON outcome."""
    if not os.access(CLIENT, os.X_OK):
        raise AssertionError(f"{CLIENT} missing: build the redteam_swarm_client target")
    r = subprocess.run([CLIENT, addr(manager_ip)] + list(certs) + list(args),
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"redteam_swarm_client {args}: {out(r)}")
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def session(manager_ip, certs, hostname="redteam"):
    """A Session's complete assignment set. A node's real agent may replace our session while
    we read (a new session of the same node closes the old one): then try again."""
    got = None
    for _ in range(5):
        got = swarm_call(manager_ip, certs, "session", "10000", hostname)
        if got["code"] != "OK" or got["full_set"]:
            return got
        time.sleep(0.5)
    return got


def not_after(cert_path):
    r = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", cert_path],
                       capture_output=True, text=True, check=True)
    stamp = r.stdout.strip().split("=", 1)[1]
    return calendar.timegm(time.strptime(stamp, "%b %d %H:%M:%S %Y %Z"))


class SwarmHelpers:
    @classmethod
    def ok_cls(cls, r, d=None):
        if r.returncode != 0:
            raise AssertionError(out(r) + ("\n" + d.log_tail() if d else ""))
        return r.stdout.decode()

    @classmethod
    def node_id(cls, d):
        return d.api("GET", "/info").json()["Swarm"]["NodeID"]

    @classmethod
    def join(cls, m, ip, name):
        w = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
        cls.addClassCleanup(w.close)
        token = m.api("GET", "/swarm").json()["JoinTokens"]["Worker"]
        cls.ok_cls(w.docker(["swarm", "join", "--token", token, "--advertise-addr", ip,
                             "--listen-addr", addr(ip), addr(m.ip)]), w)
        return w

    @classmethod
    def tasks(cls, m, service):
        r = m.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return r.json() if r.status == 200 else []

    @classmethod
    def wait_running(cls, m, service, timeout=90):
        def running():
            ts = [t for t in cls.tasks(m, service) if t["Status"]["State"] == "running"]
            return ts[0] if ts else None
        if not harness.wait_until(running, timeout, 0.2):
            raise AssertionError(f"no running task of {service}: {cls.tasks(m, service)}\n"
                                 + m.log_tail(20))
        return running()

    @classmethod
    def task_log(cls, d, task_id):
        return leakscan.read_bytes(os.path.join(d.data_root, "tasks", task_id, "log"))


class HostileWorker(SwarmHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cprt-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.m = harness.Daemon(MGR_IP, name="m", extra_args=["--hostname", "mgr"])
        cls.addClassCleanup(cls.m.close)
        cls.ok_cls(cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                                 addr(MGR_IP)]), cls.m)
        cls.w1 = cls.join(cls.m, W1_IP, "w1")
        cls.w2 = cls.join(cls.m, W2_IP, "w2")
        cls.ok_cls(cls.w1.docker(["import", rootfs, IMAGE]), cls.w1)
        cls.w1_id, cls.w2_id = cls.node_id(cls.w1), cls.node_id(cls.w2)
        cls.value = b"rt-worker-" + os.urandom(24).hex().encode()
        cls.secret_id = cls.m.create_secret("rt-w1-only", cls.value)
        cls.ok_cls(cls.m.docker(
            ["service", "create", "-d", "--name", "pinned", "--constraint", "node.hostname==w1",
             "--secret", "rt-w1-only", IMAGE, "sh", "-c", 'trap "exit 0" TERM; sleep 1d & wait']),
            cls.m)
        cls.task = cls.wait_running(cls.m, "pinned")

    def task_status(self, task_id):
        r = self.m.api("GET", f"/tasks/{task_id}")
        self.assertEqual(r.status, 200, r)
        return r.json()["Status"]

    def hostnames(self):
        return {n["ID"]: n["Description"]["Hostname"] for n in self.m.api("GET", "/nodes").json()}

    def test_1_session_of_another_worker_gets_none_of_its_secrets(self):
        names = self.hostnames()
        self.assertEqual((names[self.w1_id], names[self.w2_id]), ("w1", "w2"))
        # w2 also claims w1's hostname in its session (constraints match node.hostname).
        attack = session(MGR_IP, certs_of(self.w2), hostname="w1")
        self.assertEqual(attack["code"], "OK", attack)
        self.assertTrue(attack["full_set"], attack)
        self.assertNotIn(self.task["ID"], attack["tasks"])
        self.assertNotIn(self.secret_id, [s["id"] for s in attack["secrets"]], attack)
        self.assertEqual(self.hostnames(), names, "a session renamed a node")
        # Control: the owner's certificate, same call, gets the task and the secret's bytes.
        control = session(MGR_IP, certs_of(self.w1))
        self.assertEqual(control["code"], "OK", control)
        self.assertIn(self.task["ID"], control["tasks"], control)
        mine = [s for s in control["secrets"] if s["id"] == self.secret_id]
        self.assertEqual(len(mine), 1, control)
        self.assertTrue(mine[0]["opened"], control)
        self.assertEqual(mine[0]["sha256"], hashlib.sha256(self.value).hexdigest())

    def test_2_worker_cannot_report_status_for_another_nodes_task(self):
        tid = self.task["ID"]
        before = self.task_status(tid)
        self.assertEqual(before["State"], "running")
        attack = swarm_call(MGR_IP, certs_of(self.w2), "update-status", tid, "failed",
                            "forged by w2")
        self.assertEqual(attack["code"], "PERMISSION_DENIED", attack)
        time.sleep(1)
        after = self.task_status(tid)
        self.assertEqual(after["State"], "running", after)
        self.assertNotIn("forged", json.dumps(after))
        # Control: the owner's report of the same thing is written and seen.
        control = swarm_call(MGR_IP, certs_of(self.w1), "update-status", tid, "failed",
                             "control by w1")
        self.assertEqual(control["code"], "OK", control)
        self.assertEqual(control["refused"], [], control)
        self.assertTrue(harness.wait_until(
            lambda: self.task_status(tid)["State"] == "failed", 10), self.task_status(tid))
        self.assertIn("control by w1", json.dumps(self.task_status(tid)))

    def test_3_removed_node_is_refused_even_after_a_manager_restart(self):
        kept = copy_certs(self.w2, os.path.join(self.tmp, "w2-kept"))
        # Control: before the removal, the calls the removed node will try all work.
        self.assertEqual(session(MGR_IP, kept)["code"], "OK")
        renewed = swarm_call(MGR_IP, kept, "renew")
        self.assertEqual((renewed["code"], renewed["node_id"], renewed["role"]),
                         ("OK", self.w2_id, "swarm-worker"), renewed)
        no_task = swarm_call(MGR_IP, kept, "update-status", "nosuchtask", "running", "x")
        self.assertEqual(no_task["code"], "OK", no_task)  # a gone task is listed, not an error
        self.assertEqual(len(no_task["refused"]), 1, no_task)

        r = self.m.api("DELETE", f"/nodes/{self.w2_id}", query={"force": "1"})
        self.assertEqual(r.status, 200, r)

        def all_refused():
            got = {"session": session(MGR_IP, kept),
                   "renew": swarm_call(MGR_IP, kept, "renew"),
                   "update": swarm_call(MGR_IP, kept, "update-status", "nosuchtask", "running",
                                        "x")}
            for what, g in got.items():
                self.assertEqual(g["code"], "PERMISSION_DENIED", f"{what}: {g}")
                self.assertIn(f"node {self.w2_id} was removed from the swarm", g["message"])
        all_refused()
        self.m.restart()
        self.assertTrue(harness.wait_until(
            lambda: swarm_call(MGR_IP, certs_of(self.w1), "renew")["code"] == "OK", 30),
            "the restarted manager does not serve its swarm port")
        all_refused()


class ExpiredCertificate(SwarmHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cprt-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.m = harness.Daemon(SHORT_IP, name="short", extra_args=[
            "--node-cert-validity", str(SHORT_VALIDITY_S), "--cert-check-period", "1"])
        cls.addClassCleanup(cls.m.close)
        cls.m.swarm_init()

    def test_expired_certificate_is_refused_on_an_open_and_a_new_connection(self):
        kept = copy_certs(self.m, os.path.join(self.tmp, "kept"))
        expiry = not_after(kept[0])
        self.assertLess(expiry - time.time(), SHORT_VALIDITY_S + 5, "not a short certificate")
        # One connection, opened while the certificate is valid, kept past its expiry: the
        # handshake is long done, so only the per-call check (the Authorizer, which remembers
        # verified certificates) can refuse the second call.
        wait = int(max(0.0, expiry - time.time())) + 3
        held = swarm_call(SHORT_IP, kept, "list-sessions-after", str(wait))
        # Control: while valid, the copy passes even the manager-only call.
        self.assertEqual(held["first"]["code"], "OK", held)
        self.assertIn(held["code"], REFUSED, held)
        if held["code"] == "UNAUTHENTICATED":  # the connection was still open (the usual case)
            self.assertIn("certificate has expired", held["message"])
        # A new connection with the expired copy is refused at the handshake.
        for args in (["list-sessions"], ["renew"]):
            attack = swarm_call(SHORT_IP, kept, *args)
            self.assertIn(attack["code"], REFUSED, attack)
        # The manager itself moved on to a renewed certificate and is served.
        fresh = swarm_call(SHORT_IP, certs_of(self.m), "list-sessions")
        self.assertEqual(fresh["code"], "OK", fresh)
        print(f"\n  expired certificate: open connection → {held['code']} {held['message']!r}",
              file=sys.stderr)


# ---- hostile task and hostile API client -------------------------------------------------------

# Prints every place a task could find another task's secret. Busybox sh; runs as root inside
# the task. $HOSTPATH: the secret's file on the host; $HOSTPID: the host capsuled's PID.
PROBE = r'''
for f in /run/secrets/* /proc/[0-9]*/root/run/secrets/* /proc/[0-9]*/cwd/run/secrets/*; do
  [ -f "$f" ] && { echo "FILE $f"; cat "$f"; echo; }
done
for e in /proc/[0-9]*/environ; do cat "$e" 2>/dev/null | tr '\0' '\n'; done
cat /proc/self/mountinfo /proc/1/mountinfo
cat "$HOSTPATH" 2>&1
ls -la /proc/$HOSTPID/ 2>&1 | head -3
head -c 65536 /proc/$HOSTPID/mem 2>&1 | head -c 200
cat /proc/$HOSTPID/environ 2>&1
for f in $(busybox find / -xdev -type f -size -4k 2>/dev/null | grep -v -e '^/proc' -e '^/sys'); do
  grep -l "$NEEDLE" "$f" 2>/dev/null && cat "$f"
done
echo PROBE-DONE
trap "exit 0" TERM; sleep 1d & wait
'''


def symlink_image_tar(path, host_dir):
    """The busybox rootfs, but /run and /escape are symlinks to host_dir (absolute)."""
    base = busybox_image.build_rootfs_tar(path + ".base")
    with tarfile.open(base) as src, tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as dst:
        for m in src.getmembers():
            if m.name in ("run", "./run"):
                continue
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        for name in ("run", "escape"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = host_dir
            dst.addfile(info)
    os.unlink(base)
    return path


class DebugDaemon(harness.Daemon):
    """A daemon logging at debug level (the harness starts every daemon at info)."""

    def command(self):
        cmd = super().command()
        cmd[cmd.index("--log-level") + 1] = "debug"
        return cmd


class HostileTaskAndApiClient(SwarmHelpers, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cprt-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.d = DebugDaemon(SOLO_IP, name="solo", extra_args=["--hostname", "solo"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        cls.ok_cls(cls.d.docker(["import", cls.rootfs, IMAGE]), cls.d)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def wait_log(self, task_id, needle, timeout=60):
        needle = needle.encode()
        self.assertTrue(harness.wait_until(lambda: needle in self.task_log(self.d, task_id),
                                           timeout, 0.2),
                        self.task_log(self.d, task_id)[-2000:])
        return self.task_log(self.d, task_id)

    # ---- hostile task ---------------------------------------------------------------------
    def test_task_cannot_reach_another_tasks_secret(self):
        d = self.d
        value = b"rt-victim-" + os.urandom(24).hex().encode()
        needle = value[:16].decode()
        sid = d.create_secret("rt-victim", value)
        self.ok(d.docker(["service", "create", "-d", "--name", "victim", "--secret",
                          "source=rt-victim,target=victim.txt", IMAGE, "sh", "-c",
                          'trap "exit 0" TERM; sleep 1d & wait']))
        victim = self.wait_running(d, "victim")
        host_path = os.path.join(d.exec_root, "secrets", victim["ID"], sid)
        self.assertEqual(leakscan.read_bytes(host_path), value, "the victim's secret file moved")
        env = ["-e", f"HOSTPATH={host_path}", "-e", f"HOSTPID={d.pid}", "-e", f"NEEDLE={needle}"]
        self.ok(d.docker(["service", "create", "-d", "--name", "thief"] + env
                         + [IMAGE, "sh", "-c", PROBE]))
        thief = self.wait_running(d, "thief")
        log = self.wait_log(thief["ID"], "PROBE-DONE", 90)
        found = leakscan.find_in(log, {value} | leakscan.b64_forms(value))
        self.assertEqual(found, [], "the thief read the victim's secret:\n"
                         + log.decode(errors="replace")[-3000:])
        # Control: the very same probe, run by a task that owns the secret, finds it.
        self.ok(d.docker(["service", "create", "-d", "--name", "owner", "--secret",
                          "source=rt-victim,target=victim.txt"] + env
                         + [IMAGE, "sh", "-c", PROBE]))
        owner = self.wait_running(d, "owner")
        log = self.wait_log(owner["ID"], "PROBE-DONE", 90)
        self.assertIn(value, log, "control: the probe did not find a secret it can read")
        for s in ("thief", "owner", "victim"):
            self.ok(d.docker(["service", "rm", s]))

    def test_task_cannot_change_its_own_secret(self):
        # Root in the task tries to overwrite, append to, chmod, remove, rename over and unmount
        # its secret, and to remount it read-write. Each line prints OK or FAILED.
        tries = ('for f in /run/secrets/rt-own /tmp/control; do '
                 'echo x > $f && echo "OK write $f" || echo "FAILED write $f"; '
                 'echo y >> $f && echo "OK append $f" || echo "FAILED append $f"; '
                 'chmod 666 $f && echo "OK chmod $f" || echo "FAILED chmod $f"; '
                 'mv /tmp/other $f && echo "OK rename $f" || echo "FAILED rename $f"; '
                 'rm -f $f && echo "OK rm $f" || echo "FAILED rm $f"; echo z > /tmp/other; '
                 'done; umount /run/secrets/rt-own && echo "OK umount" || echo "FAILED umount"; '
                 'mount -o remount,rw /run/secrets/rt-own && echo "OK remount" '
                 '|| echo "FAILED remount"; cat /run/secrets/rt-own; echo; echo TRIED; '
                 'trap "exit 0" TERM; sleep 1d & wait')
        d = self.d
        value = b"rt-own-" + os.urandom(16).hex().encode()
        d.create_secret("rt-own", value)
        self.ok(d.docker(["service", "create", "-d", "--name", "tamper", "--secret", "rt-own",
                          IMAGE, "sh", "-c", "touch /tmp/control; echo z > /tmp/other; " + tries]))
        task = self.wait_running(d, "tamper")
        log = self.wait_log(task["ID"], "TRIED").decode(errors="replace")
        ops = ("write", "append", "chmod", "rename", "rm")
        succeeded = [op for op in ops if f"OK {op} /run/secrets/rt-own" in log]
        succeeded += [op for op in ("umount", "remount") if f"OK {op}" in log]
        self.assertEqual(succeeded, [], log)
        self.assertIn(value.decode(), log)  # still readable, unchanged
        # Control: the same operations on an ordinary file of the task succeed and are seen.
        self.assertEqual([op for op in ops if f"OK {op} /tmp/control" not in log], [], log)
        self.ok(d.docker(["service", "rm", "tamper"]))

    def test_task_user_cannot_read_a_secret_owned_by_another_uid(self):
        d = self.d
        root_value = b"rt-rootonly-" + os.urandom(16).hex().encode()
        mine_value = b"rt-mine-" + os.urandom(16).hex().encode()
        d.create_secret("rt-rootonly", root_value)
        d.create_secret("rt-mine", mine_value)
        cmd = ('id; cat /run/secrets/rootonly || echo "DENIED rootonly"; '
               'cat /run/secrets/mine || echo "DENIED mine"; echo; echo READ; '
               'trap "exit 0" TERM; sleep 1d & wait')
        self.ok(d.docker(["service", "create", "-d", "--name", "userread", "--user", "2000:3000",
                          "--secret", "source=rt-rootonly,target=rootonly,uid=0,gid=0,mode=0400",
                          "--secret", "source=rt-mine,target=mine,uid=2000,gid=3000,mode=0400",
                          IMAGE, "sh", "-c", cmd]))
        task = self.wait_running(d, "userread")
        log = self.wait_log(task["ID"], "READ")
        self.assertIn(b"uid=2000", log)
        self.assertNotIn(root_value, log)
        self.assertIn(b"DENIED rootonly", log)
        # Control: the same user reads the secret given to its uid.
        self.assertIn(mine_value, log)
        self.ok(d.docker(["service", "rm", "userread"]))

    def test_secret_targets_through_image_symlinks_stay_in_the_rootfs(self):
        d = self.d
        host_dir = tempfile.mkdtemp(prefix="cprt-host-", dir="/tmp")
        self.addCleanup(shutil.rmtree, host_dir, ignore_errors=True)
        tar = symlink_image_tar(os.path.join(self.tmp, "symlinks.tar"), host_dir)
        self.ok(d.docker(["import", tar, "capsule/symlinks:1"]))
        value = b"rt-symlink-" + os.urandom(16).hex().encode()
        d.create_secret("rt-symlink", value)
        d.create_secret("rt-symlink-2", value + b"-2")
        cmd = ('cat /escape/pwned; echo; cat /run/secrets/rt-symlink-2; echo; '
               f'ls {host_dir}; echo LISTED; trap "exit 0" TERM; sleep 1d & wait')
        self.ok(d.docker(["service", "create", "-d", "--name", "symlinks",
                          "--secret", "source=rt-symlink,target=/escape/pwned",
                          "--secret", "rt-symlink-2", "capsule/symlinks:1", "sh", "-c", cmd]))
        deadline = time.monotonic() + 60
        task = None
        while time.monotonic() < deadline:
            ts = self.tasks(d, "symlinks")
            if any(t["Status"]["State"] == "running" for t in ts):
                task = [t for t in ts if t["Status"]["State"] == "running"][0]
                break
            self.assertEqual(os.listdir(host_dir), [], "a secret reached the host directory")
            time.sleep(0.2)
        self.assertEqual(os.listdir(host_dir), [], "a secret reached the host directory")
        self.assertIsNotNone(task, f"no running task: {self.tasks(d, 'symlinks')}")
        # Control: the task sees both secrets at the symlinked paths — the mounts followed the
        # links, inside the rootfs (the task's own /tmp/cprt-host-*), not on the host.
        log = self.wait_log(task["ID"], "LISTED")
        self.assertIn(value, log)
        self.assertIn(value + b"-2", log)
        self.assertEqual(os.listdir(host_dir), [], "a secret reached the host directory")
        self.ok(d.docker(["service", "rm", "symlinks"]))

    # ---- hostile API client ---------------------------------------------------------------
    def echoed(self, responses, needle_set):
        return [(what, leakscan.find_in(r.body, needle_set)) for what, r in responses
                if leakscan.find_in(r.body, needle_set)]

    def test_secret_data_never_echoed_in_errors_or_the_debug_log(self):
        d = self.d
        value = b"rt-echo-" + base64.urlsafe_b64encode(os.urandom(96))
        needles = leakscan.needles(value)
        good = harness.b64(value)
        d.create_secret("rt-echo", b"x")
        sid = d.api("GET", "/secrets/rt-echo").json()["ID"]
        version = d.api("GET", f"/secrets/{sid}").json()["Version"]["Index"]
        raw = value.decode()
        responses = [
            ("data not base64", d.api("POST", "/secrets/create",
                                      {"Name": "rt-e1", "Data": raw + "!*"})),
            ("bad name", d.api("POST", "/secrets/create", {"Name": "bad name!", "Data": good})),
            ("too large", d.api("POST", "/secrets/create",
                                {"Name": "rt-e2", "Data": harness.b64(value * 4000)})),
            ("duplicate", d.api("POST", "/secrets/create", {"Name": "rt-echo", "Data": good})),
            ("data as object", d.api("POST", "/secrets/create",
                                     {"Name": "rt-e3", "Data": {"v": raw}})),
            ("data as array", d.api("POST", "/secrets/create",
                                    {"Name": "rt-e3", "Data": [raw]})),
            ("bad JSON after data", d.api("POST", "/secrets/create",
                                          '{"Name":"rt-e4","Data":"' + good + '", bogus}')),
            ("bad JSON inside data", d.api("POST", "/secrets/create",
                                           '{"Name":"rt-e4","Data":"' + raw + '\\q"}')),
            ("update with data", d.api("POST", f"/secrets/{sid}/update",
                                       {"Name": "rt-echo", "Data": good},
                                       query={"version": version})),
            ("data in the query, bad body", d.api(
                "POST", "/secrets/create", "{", query=urllib.parse.urlencode(
                    {"Name": "rt-e5", "Data": good}))),
            ("labels hold data, bad name", d.api("POST", "/secrets/create",
                                                 {"Name": "-bad", "Data": good,
                                                  "Labels": {"l": "x"}})),
        ]
        for what, r in responses:
            self.assertTrue(400 <= r.status < 500, f"{what}: {r!r}")
        # dockerode's form: the whole spec, Data included, also in the query string (created).
        spec = {"Name": "rt-eq", "Data": good}
        r = d.api("POST", "/secrets/create", spec, query=urllib.parse.urlencode(spec))
        self.assertEqual(r.status, 201, r)
        responses.append(("data in the query, created", r))
        self.assertEqual(d.api("DELETE", "/secrets/rt-eq").status, 204)
        self.assertEqual(self.echoed(responses, needles), [])
        log = d.log_bytes()
        self.assertIn(b"debug", log.lower(), "the daemon does not log at debug level")
        self.assertEqual(leakscan.find_in(log, needles), [], "secret data in the debug log")
        created = [s["Spec"]["Name"] for s in d.api("GET", "/secrets").json()]
        self.assertEqual([n for n in created if n.startswith("rt-e") and n != "rt-echo"], [],
                         "a refused request created a secret")
        # Control: the same scan catches a value the API does echo (an unknown ID in a 404).
        probe = b"rt-echo-" + base64.urlsafe_b64encode(os.urandom(96))
        r = d.api("GET", "/secrets/" + probe.decode())
        self.assertEqual(r.status, 404, r)
        self.assertTrue(self.echoed([("unknown id", r)], leakscan.needles(probe)),
                        f"control: the scan missed an echoed value in {r.body[:300]!r}")

    def test_path_traversal_in_ids_and_names(self):
        d = self.d
        outside = tempfile.mkdtemp(prefix="cprt-out-", dir="/tmp")
        self.addCleanup(shutil.rmtree, outside, ignore_errors=True)
        marker = b"rt-outside-" + os.urandom(8).hex().encode()
        for name in ("log", "json", "manifest.json", "config.json"):
            with open(os.path.join(outside, name), "wb") as f:
                f.write(marker)
        before = sorted(os.listdir(outside))
        # Where a task ID of ".." would lead the log route (<data root>/tasks/../log).
        planted = os.path.join(d.data_root, "log")
        with open(planted, "wb") as f:
            f.write(marker)
        self.addCleanup(os.unlink, planted)
        up = "../" * 12 + outside.lstrip("/")  # from any folder below the roots to `outside`
        q = urllib.parse.quote(up, safe="")
        self.ok(d.docker(["service", "create", "-d", "--name", "logger", IMAGE, "sh", "-c",
                          'echo rt-logged; trap "exit 0" TERM; sleep 1d & wait']))
        task = self.wait_running(d, "logger")
        self.wait_log(task["ID"], "rt-logged")
        attempts = [
            ("GET", f"/secrets/{q}", None, None),
            ("DELETE", f"/secrets/{q}", None, None),
            ("GET", f"/services/{q}", None, None),
            ("GET", f"/services/{q}/logs", None, {"stdout": "1"}),
            ("GET", f"/tasks/{q}", None, None),
            ("GET", f"/tasks/{q}/logs", None, {"stdout": "1"}),
            ("GET", f"/images/{q}/json", None, None),
            ("DELETE", f"/images/{q}", None, {"force": "1"}),
            ("GET", "/tasks/../logs", None, {"stdout": "1"}),
            ("GET", "/tasks/%2e%2e/logs", None, {"stdout": "1"}),
            ("GET", "/services/../logs", None, {"stdout": "1"}),
            ("GET", "/secrets/..", None, None),
            ("DELETE", "/secrets/..", None, None),
            ("DELETE", "/images/..", None, {"force": "1"}),
            ("GET", "/images/../json", None, None),
            ("POST", "/secrets/create", {"Name": up, "Data": harness.b64("x")}, None),
            ("POST", "/services/create", {"Name": up, "TaskTemplate": {
                "ContainerSpec": {"Image": IMAGE}}}, None),
        ]
        results = []
        for method, path, body, query in attempts:
            r = d.api(method, path, body, query=query)
            results.append((method, path, r.status))
            self.assertTrue(400 <= r.status < 500, f"{method} {path}: {r!r}")
            self.assertNotIn(marker, r.body, f"{method} {path} read a file outside the roots")
        # An import or a load whose repository name climbs out is refused (Docker: invalid
        # reference format).
        img_before = sorted(i["Id"] for i in d.api("GET", "/images/json").json())
        with open(self.rootfs, "rb") as f:
            layer = f.read()
        r = d.api("POST", "/images/create", layer, query={"fromSrc": "-", "repo": up, "tag": "1"},
                  headers={"Content-Type": "application/x-tar"})
        self.assertTrue(400 <= r.status < 500, r)
        saved = busybox_image.save_archive(os.path.join(self.tmp, "up.tar"), self.rootfs,
                                           up + ":1")
        with open(saved, "rb") as f:
            r = d.api("POST", "/images/load", f.read(), query={"quiet": "1"},
                      headers={"Content-Type": "application/x-tar"})
        self.assertTrue(400 <= r.status < 500, r)
        self.assertEqual(sorted(i["Id"] for i in d.api("GET", "/images/json").json()),
                         img_before, "a traversal import changed the image list")
        self.assertEqual(sorted(os.listdir(outside)), before, results)
        for name in before:
            self.assertEqual(leakscan.read_bytes(os.path.join(outside, name)), marker)
        self.assertTrue(d.running())
        # Control: the same routes with real names read the task's log, import and delete an
        # image.
        r = d.api("GET", f"/tasks/{task['ID']}/logs", query={"stdout": "1"})
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"rt-logged", r.body)
        r = d.api("POST", "/images/create", layer,
                  query={"fromSrc": "-", "repo": "rt/control", "tag": "1"},
                  headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(d.api("GET", "/images/rt/control:1/json").status, 200)
        r = d.api("DELETE", "/images/rt/control:1")
        self.assertEqual(r.status, 200, r)
        self.ok(d.docker(["service", "rm", "logger"]))


if __name__ == "__main__":
    unittest.main()
