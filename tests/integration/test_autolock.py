"""Autolock (issue 13 part 1): the unlock key, the locked state, unlock, rotation grace, and a
stolen disk that opens nothing.

Run: PYTHONPATH=.. python3 -m unittest -v test_autolock   (from tests/integration)
Addresses: 127.0.51.x (see tests/harness).
"""

import base64
import hashlib
import json
import os
import pty
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import busybox_image, leakscan

LOCKED = ('Swarm is encrypted and needs to be unlocked before it can be used. Please use '
          '"docker swarm unlock" to unlock it.')
KEY_RE = re.compile(r"SWMKEY-1-[A-Za-z0-9+/]{43}")
PROBE = os.path.join(os.path.dirname(harness.CAPSULED), "capsule_disk_probe")
IMAGE = "autolock-busybox:latest"


def out(r):
    return f"rc={r.returncode}\nstdout:\n{r.stdout.decode()}\nstderr:\n{r.stderr.decode()}"


def banner(key, cli):
    """The unlock-key banner as the docker CLI `cli` prints it."""
    remember = "Please remember" if cli == harness.DOCKER_20 else "Remember"
    return ("To unlock a swarm manager after it restarts, run the `docker swarm unlock`\n"
            "command and provide the following key:\n\n"
            f"    {key}\n\n"
            f"{remember} to store this key in a password manager, since without it you\n"
            "will not be able to restart the manager.\n")


def wrong_key():
    return "SWMKEY-1-" + base64.b64encode(os.urandom(32)).decode().rstrip("=")


class AutolockTest(unittest.TestCase):
    def daemon(self, ip, extra_args=()):
        d = harness.Daemon(ip, extra_args=list(extra_args))
        self.addCleanup(d.close)
        return d

    def ok(self, r, d=None):
        self.assertEqual(r.returncode, 0, out(r) + ("\n" + d.log_tail() if d else ""))
        return r.stdout.decode()

    def init_autolocked(self, d):
        r = d.api("POST", "/swarm/init", {"ListenAddr": f"{d.ip}:2377", "AdvertiseAddr": d.ip,
                                          "Spec": {}, "AutoLockManagers": True})
        self.assertEqual(r.status, 200, f"{r!r}\n{d.log_tail()}")
        d._note_etcd()
        return self.unlock_key(d)

    def unlock_key(self, d):
        r = d.api("GET", "/swarm/unlockkey")
        self.assertEqual(r.status, 200, r)
        return r.json()["UnlockKey"]

    def rotate(self, d):
        v = d.api("GET", "/swarm").json()
        r = d.api("POST", "/swarm/update", v["Spec"],
                  query={"version": v["Version"]["Index"], "rotateManagerUnlockKey": "true"})
        self.assertEqual(r.status, 200, r)
        return self.unlock_key(d)

    def set_autolock(self, d, on):
        v = d.api("GET", "/swarm").json()
        spec = v["Spec"]
        spec["EncryptionConfig"] = {"AutoLockManagers": on}
        r = d.api("POST", "/swarm/update", spec, query={"version": v["Version"]["Index"]})
        self.assertEqual(r.status, 200, r)

    def state(self, d):
        return d.api("GET", "/info").json()["Swarm"]

    def unlock(self, d, key):
        return d.api("POST", "/swarm/unlock", {"UnlockKey": key})

    def assert_locked(self, d):
        info = self.state(d)
        self.assertEqual(info["LocalNodeState"], "locked", d.log_tail())
        self.assertFalse(info["ControlAvailable"])
        self.assertEqual(info["Error"], LOCKED)
        self.assertEqual((info["NodeID"], info["NodeAddr"]), ("", d.ip))  # as Docker 20.10
        ping = d.api("GET", "/_ping", version=None)
        self.assertEqual(ping.headers.get("Swarm"), "locked")
        for path in ("/swarm", "/nodes", "/services", "/secrets", "/configs", "/tasks",
                     "/swarm/unlockkey"):
            r = d.api("GET", path)
            self.assertEqual((r.status, r.message()), (503, LOCKED), path)
        # Nothing of the swarm runs: no etcd member.
        self.assertIsNone(self.live_etcd(d), "an etcd member runs while locked")
        # The node key is nowhere in the clear: not on disk, no tmpfs left over it (kill -9).
        certs = os.path.join(d.data_root, "swarm", "certificates")
        self.assertNotIn(certs, harness.mounts_below(d.data_root))
        self.assertFalse(os.path.exists(os.path.join(certs, "swarm-node.key")))
        self.assertTrue(os.path.exists(os.path.join(certs, "swarm-node.key.sealed")))

    def live_etcd(self, d):
        pid = d.etcd_pid()
        return pid if pid and harness.pid_alive(pid) and d._is_our_etcd(pid) else None

    def assert_disk_locked(self, d):
        swarm = os.path.join(d.data_root, "swarm")
        self.assertFalse(os.path.exists(os.path.join(swarm, "kek")))
        st = os.stat(os.path.join(swarm, "autolock"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        # Running and unlocked: the key in the clear is only on the tmpfs over certificates/.
        self.assertIn(os.path.join(swarm, "certificates"), harness.mounts_below(d.data_root))

    # ---- the session, with each docker CLI ---------------------------------------------
    def session(self, cli, ip):
        harness.require_docker_cli(cli)
        d = self.daemon(ip)
        r = d.docker(["swarm", "init", "--autolock", "--advertise-addr", ip,
                      "--listen-addr", f"{ip}:2377"], cli=cli)
        text = self.ok(r, d)
        d._note_etcd()
        k1 = KEY_RE.search(text).group(0)
        self.assertTrue(text.endswith("instructions.\n" + ("\n" if cli == harness.DOCKER_20 else "")
                                      + banner(k1, cli)), text)
        self.assertEqual(self.ok(d.docker(["swarm", "unlock-key", "-q"], cli=cli)), k1 + "\n")
        self.assertEqual(self.ok(d.docker(["swarm", "unlock-key"], cli=cli)), banner(k1, cli))
        self.assertTrue(d.api("GET", "/swarm").json()["Spec"]["EncryptionConfig"]
                        ["AutoLockManagers"])
        self.assert_disk_locked(d)
        self.ok(d.docker(["secret", "create", "before-lock", "-"], input=b"v1", cli=cli))

        r = d.docker(["swarm", "unlock-key", "--rotate"], cli=cli)
        text = self.ok(r)
        k2 = KEY_RE.search(text).group(0)
        self.assertNotEqual(k1, k2)
        blank = "\n" if cli == harness.DOCKER_20 else ""
        self.assertEqual(text, "Successfully rotated manager unlock key.\n" + blank
                         + banner(k2, cli))

        d.restart()
        self.assert_locked(d)
        r = d.docker(["secret", "ls"], cli=cli)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Error response from daemon: " + LOCKED, r.stderr.decode())
        r = d.docker(["swarm", "unlock"], input=wrong_key().encode() + b"\n", cli=cli)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Error response from daemon: swarm could not be unlocked: invalid key "
                      "provided", r.stderr.decode())
        r = d.docker(["swarm", "unlock"], input=b"not-a-key\n", cli=cli)
        self.assertIn("Error response from daemon: invalid key string", r.stderr.decode())
        self.assert_locked(d)
        r = d.docker(["swarm", "unlock"], input=k2.encode() + b"\n", cli=cli)
        self.assertEqual(self.ok(r, d), "")
        self.assertEqual(self.state(d)["LocalNodeState"], "active")
        self.assertIn("before-lock", self.ok(d.docker(["secret", "ls"], cli=cli)))
        r = d.docker(["swarm", "unlock"], input=k2.encode() + b"\n", cli=cli)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("swarm is not locked", r.stderr.decode())
        self.assertEqual((self.unlock(d, k2).status, self.unlock(d, k2).message()),
                         (409, "swarm is not locked"))

        self.assertEqual(self.ok(d.docker(["swarm", "update", "--autolock=false"], cli=cli)),
                         "Swarm updated.\n")
        kek = os.path.join(d.data_root, "swarm", "kek")
        self.assertEqual(stat.S_IMODE(os.stat(kek).st_mode), 0o600)
        self.assertFalse(os.path.exists(os.path.join(d.data_root, "swarm", "autolock")))
        r = d.docker(["swarm", "unlock-key"], cli=cli)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no unlock key is set", r.stderr.decode())
        r = d.docker(["swarm", "unlock-key", "--rotate"], cli=cli)
        self.assertIn("cannot rotate because autolock is not turned on", r.stderr.decode())
        d.restart()
        self.assertEqual(self.state(d)["LocalNodeState"], "active")

        text = self.ok(d.docker(["swarm", "update", "--autolock=true"], cli=cli))
        k3 = KEY_RE.search(text).group(0)
        self.assertEqual(text, "Swarm updated.\n" + banner(k3, cli))
        self.assert_disk_locked(d)
        d.restart()
        self.assert_locked(d)
        self.ok(d.docker(["swarm", "unlock"], input=k3.encode(), cli=cli), d)
        self.assertIn("before-lock", self.ok(d.docker(["secret", "ls"], cli=cli)))

    def test_session_docker_20(self):
        self.session(harness.DOCKER_20, "127.0.51.1")

    def test_session_docker_2(self):
        self.session(harness.DOCKER_2, "127.0.51.2")

    # ---- the capsule CLI ---------------------------------------------------------------------------
    def test_capsule_cli(self):
        d = self.daemon("127.0.51.7")
        text = self.ok(d.capsule(["swarm", "init", "--autolock", "--advertise-addr", d.ip,
                                  "--listen-addr", f"{d.ip}:2377"]), d)
        d._note_etcd()
        k1 = KEY_RE.search(text).group(0)
        self.assertEqual(self.ok(d.capsule(["swarm", "unlock-key", "-q"])), k1 + "\n")
        text = self.ok(d.capsule(["swarm", "unlock-key", "--rotate"]))
        self.assertTrue(text.startswith("Successfully rotated manager unlock key.\n\n"), text)
        k2 = KEY_RE.search(text).group(0)
        d.restart()
        self.assert_locked(d)
        r = d.capsule(["swarm", "unlock"], input=wrong_key().encode())
        self.assertIn("swarm could not be unlocked: invalid key provided", r.stderr.decode())
        # On a terminal: docker's prompt, and the key is not echoed.
        rc, shown = self.unlock_on_a_terminal(d, k2)
        self.assertEqual(rc, 0, shown + d.log_tail())
        self.assertTrue(shown.startswith("Enter unlock key: "), shown)
        self.assertNotIn(k2, shown)
        self.assertEqual(self.state(d)["LocalNodeState"], "active")
        d.restart()
        self.assert_locked(d)
        self.ok(d.capsule(["swarm", "unlock"], input=k2.encode() + b"\n"), d)
        self.assertEqual(self.state(d)["LocalNodeState"], "active")
        self.assertEqual(self.ok(d.capsule(["swarm", "update", "--autolock=false"])),
                         "Swarm updated.\n")
        r = d.capsule(["swarm", "unlock-key"])
        self.assertIn("no unlock key is set", r.stderr.decode())

    def unlock_on_a_terminal(self, d, key):
        """`capsule swarm unlock` on a pseudo-terminal: → (exit code, what the terminal showed)."""
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(harness.CAPSULE_CLI,
                          [harness.CAPSULE_CLI, "-H", "unix://" + d.sock, "swarm", "unlock"],
                          d.cli_env())
            finally:
                os._exit(127)
        shown = b""
        while b"Enter unlock key: " not in shown:
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            shown += chunk
        os.write(fd, key.encode() + b"\n")
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")

    # ---- kill -9, and the rotation grace ----------------------------------------------------------
    def test_kill9_locked_manager_and_rotation_grace(self):
        grace = 25
        d = self.daemon("127.0.51.3", ["--unlock-key-grace", str(grace)])
        k1 = self.init_autolocked(d)
        sid = d.create_secret("kept", b"v1")
        k2 = self.rotate(d)
        rotated_at = time.monotonic()
        d.kill9()
        d._kill_leftover_etcd()
        d.start()
        self.assert_locked(d)
        d.kill9()  # a locked manager killed again stays locked
        d.start()
        self.assert_locked(d)
        self.assertEqual(self.unlock(d, "SWMKEY-1-short").status, 400)
        self.assertEqual(self.unlock(d, "SWMKEY-1-short").message(), "invalid key string")
        r = self.unlock(d, wrong_key())
        self.assertEqual((r.status, r.message()),
                         (401, "swarm could not be unlocked: invalid key provided"))
        self.assertLess(time.monotonic() - rotated_at, grace - 2, "too slow to test the grace")
        r = self.unlock(d, k1)  # the previous key, inside the grace period
        self.assertEqual(r.status, 200, f"{r!r}\n{d.log_tail()}")
        self.assertEqual(self.state(d)["LocalNodeState"], "active")
        self.assertEqual(self.unlock_key(d), k2)  # unlocking with k1 did not bring it back
        self.assertEqual(d.api("GET", f"/secrets/{sid}").status, 200)

        k3 = self.rotate(d)
        rotated_at = time.monotonic()
        d.restart()
        self.assert_locked(d)
        time.sleep(max(0.0, grace + 1 - (time.monotonic() - rotated_at)))
        for old in (k2, k1):  # k2 after its grace; k1 was dropped at the second rotation
            r = self.unlock(d, old)
            self.assertEqual((r.status, r.message()),
                             (401, "swarm could not be unlocked: invalid key provided"))
        self.assert_locked(d)
        self.assertEqual(self.unlock(d, k3).status, 200)
        self.assertEqual(d.api("GET", f"/secrets/{sid}").status, 200)

    # ---- a renewed node key is sealed too ----------------------------------------------------------------
    def test_renewed_key_is_sealed_and_unlocks(self):
        d = self.daemon("127.0.51.9", ["--node-cert-validity", "20", "--cert-check-period", "1"])
        key = self.init_autolocked(d)
        cert = os.path.join(d.data_root, "swarm", "certificates", "swarm-node.crt")
        with open(cert, "rb") as f:
            first = f.read()

        def renewed():
            with open(cert, "rb") as f:
                return f.read() != first
        self.assertTrue(harness.wait_until(renewed, 40, 0.2), d.log_tail())
        time.sleep(1)
        d.restart()
        self.assert_locked(d)
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(cert), "swarm-node.key")))
        with open(cert, "rb") as f:
            self.assertNotEqual(f.read(), first)  # the renewed certificate went underneath
        self.assertEqual(self.unlock(d, key).status, 200, d.log_tail())
        # The renewed key matches the renewed certificate: the swarm port and the agent work.
        node_id = d.api("GET", "/info").json()["Swarm"]["NodeID"]

        def ready():
            r = d.api("GET", f"/nodes/{node_id}")
            return r.status == 200 and r.json()["Status"]["State"] == "ready"
        self.assertTrue(harness.wait_until(ready, 30), d.log_tail())
        agent = d.api("GET", "/capsule/agent")
        self.assertEqual(agent.status, 200, agent)
        self.assertTrue(harness.wait_until(
            lambda: d.api("GET", "/capsule/agent").json().get("Connected"), 30), d.log_tail())

    # ---- a manager joining an autolocked swarm ------------------------------------------------------------
    def test_manager_joining_an_autolocked_swarm_is_locked_on_its_own(self):
        m1 = self.daemon("127.0.51.10")
        self.init_autolocked(m1)
        sid = m1.create_secret("shared", b"v1")
        token = m1.api("GET", "/swarm").json()["JoinTokens"]["Manager"]
        m2 = self.daemon("127.0.51.11")
        r = m2.api("POST", "/swarm/join", {"ListenAddr": "127.0.51.11:2377",
                                           "AdvertiseAddr": "127.0.51.11",
                                           "RemoteAddrs": ["127.0.51.10:2377"],
                                           "JoinToken": token})
        self.assertEqual(r.status, 200, f"{r!r}\n{m2.log_tail()}\n{m1.log_tail()}")
        m2._note_etcd()
        self.assert_disk_locked(m2)
        k2 = self.unlock_key(m2)
        self.assertRegex(k2, KEY_RE)
        m2.restart()
        self.assert_locked(m2)
        r = self.unlock(m2, wrong_key())
        self.assertEqual(r.status, 401)
        self.assertEqual(self.unlock(m2, k2).status, 200, m2.log_tail())
        self.assertTrue(harness.wait_until(
            lambda: m2.api("GET", f"/secrets/{sid}").status == 200, 30), m2.log_tail())

    # ---- outside a swarm, and leaving while locked --------------------------------------------------
    def test_unlock_outside_a_swarm_and_leave_while_locked(self):
        d = self.daemon("127.0.51.8")
        r = self.unlock(d, wrong_key())
        self.assertEqual((r.status, r.message()), (503, harness.NOT_MANAGER))
        self.assertEqual(self.unlock_key_status(d), 503)
        self.init_autolocked(d)
        d.restart()
        self.assert_locked(d)
        r = d.api("POST", "/swarm/leave")
        self.assertEqual((r.status, r.message()),
                         (503, "Swarm is encrypted and locked. Please unlock it first or use "
                               "`--force` to ignore this message."))
        self.assert_locked(d)
        r = d.api("POST", "/swarm/leave", query={"force": "1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.state(d)["LocalNodeState"], "inactive")
        swarm = os.path.join(d.data_root, "swarm")
        for gone in ("autolock", "kek", "state.json", "certificates"):
            self.assertFalse(os.path.exists(os.path.join(swarm, gone)), gone)
        self.assertFalse(os.path.exists(os.path.join(d.data_root, "etcd")))
        # A new swarm on the same node, without autolock, starts unlocked after a restart.
        d.swarm_init()
        d.restart()
        self.assertEqual(self.state(d)["LocalNodeState"], "active")

    def unlock_key_status(self, d):
        return d.api("GET", "/swarm/unlockkey").status

    # ---- a secret created before the lock, read by a task after unlock ------------------------------
    def test_task_reads_a_secret_after_unlock(self):
        d = self.daemon("127.0.51.6")
        _, rootfs = busybox_image.class_rootfs_tar(self.__class__, "cpal-")
        d.swarm_init()
        self.ok(d.docker(["import", rootfs, IMAGE]), d)
        value = b"AUTOLOCK" + os.urandom(16).hex().encode()
        d.create_secret("pre", value)
        self.set_autolock(d, True)
        key = self.unlock_key(d)
        d.restart()
        self.assert_locked(d)
        self.assertEqual(self.unlock(d, key).status, 200)
        self.ok(d.docker(["service", "create", "-d", "--name", "reader", "--secret", "pre",
                          IMAGE, "sh", "-c", "sha256sum /run/secrets/pre; sleep 1d"]), d)
        digest = hashlib.sha256(value).hexdigest()

        def logged():
            r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": ["reader"]})})
            for t in r.json() if r.status == 200 else []:
                logs = d.api("GET", f"/tasks/{t['ID']}/logs", query={"stdout": "1"})
                if digest.encode() in logs.body:
                    return True
            return False
        self.assertTrue(harness.wait_until(logged, 90), d.log_tail())

    # ---- the stolen disk ------------------------------------------------------------------------------
    def probe(self, data_root):
        dump = tempfile.NamedTemporaryFile(prefix="cpal-dump-", delete=False)
        dump.close()
        self.addCleanup(os.unlink, dump.name)
        r = subprocess.run([PROBE, data_root, "--dump", dump.name], capture_output=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, out(r))
        print(f"disk probe of {data_root}: {r.stdout.decode().strip()}", file=sys.stderr)
        with open(dump.name, "rb") as f:
            return json.loads(r.stdout), f.read()

    def copy_data_root(self, d):
        dst = tempfile.mkdtemp(prefix="cpal-stolen-")
        self.addCleanup(shutil.rmtree, dst, True)
        target = os.path.join(dst, "data")
        def sockets(where, names):
            return [n for n in names
                    if stat.S_ISSOCK(os.lstat(os.path.join(where, n)).st_mode)]
        shutil.copytree(d.data_root, target, symlinks=True, ignore=sockets)
        return target

    def test_stolen_disk_opens_nothing(self):
        canary = b"STOLEN" + os.urandom(64).hex().encode()
        needles = leakscan.needles(canary)
        # The positive control: the same attempt on a manager without autolock.
        plain = self.daemon("127.0.51.5")
        plain.swarm_init()
        plain.create_secret("canary", canary)
        plain.stop()  # a disk taken from a stopped machine
        report, opened = self.probe(self.copy_data_root(plain))
        self.assertGreater(report["keyrings_found"], 0, report)
        self.assertTrue(report["keyring_opened"], report)
        self.assertGreater(report["values_opened"], 0, report)
        self.assertTrue(leakscan.find_in(opened, needles), "control: the canary was not recovered")
        self.assertTrue(report["node_key_in_clear"], report)

        d = self.daemon("127.0.51.4")
        key = self.init_autolocked(d)
        d.create_secret("canary", canary)
        key2 = self.rotate(d)  # a rotated box holds two seals
        d.restart()
        self.assert_locked(d)
        # While locked the daemon holds no key: neither unlock key is in its memory.
        keys = set()
        for k in (key, key2):
            raw = base64.b64decode(k[len("SWMKEY-1-"):] + "=")
            keys |= {k.encode(), raw}
        hits, regions, _, _ = leakscan.scan_memory(d.pid, keys)
        self.assertGreater(regions, 10)
        self.assertEqual(hits, [])
        stolen = self.copy_data_root(d)
        report, opened = self.probe(stolen)
        self.assertGreater(report["keyrings_found"], 0, report)
        self.assertGreater(report["candidates"], 1000, report)
        self.assertFalse(report["keyring_opened"], report)
        self.assertEqual(report["values_opened"], 0, report)
        self.assertEqual(opened, b"")
        self.assertFalse(report["node_key_present"], report)  # no key in the clear
        self.assertTrue(report["sealed_node_key_present"], report)
        self.assertFalse(report["sealed_node_key_opened"], report)
        hits, files, _ = leakscan.scan_files(leakscan.files_under(stolen), needles)
        self.assertGreater(files, 5)
        self.assertEqual(hits, [])
        key_hits, _, _ = leakscan.scan_files(leakscan.files_under(stolen),
                                             {key.encode()} | leakscan.b64_forms(key.encode()))
        self.assertEqual(key_hits, [])
        # The manager still unlocks with the rotated key after the copy.
        self.assertEqual(self.unlock(d, self.current_key_after_unlock(d, key)).status, 409)

    def current_key_after_unlock(self, d, previous):
        r = self.unlock(d, previous)  # inside the grace: the previous key still works
        self.assertEqual(r.status, 200, r)
        return self.unlock_key(d)


if __name__ == "__main__":
    unittest.main()
