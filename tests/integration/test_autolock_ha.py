"""Autolock with several managers (issue 13 part 1): one unlock key for the whole swarm, as
Docker. Three managers; real capsuled processes and etcd members, the docker CLIs (20.10, and
28.x when present: steps that name it run with 20.10 otherwise, and say so).

The steps run in order on one swarm (m1 runs `swarm init`, m2 and m3 join as managers):
  1. `swarm update --autolock=true` on m1: every manager shows the same key (both docker CLIs
     and the capsule CLI); swarm/kek is gone on every manager.
  2. m3 killed with -9 and started: locked (503, Docker's text) while m1 and m2 serve; a stolen
     copy of its disk opens nothing; unlocked with the swarm's key.
  3. `unlock-key --rotate` on m2: m1 and m3 show the new key at once and re-seal; m3 restarted
     unlocks with the new key (a wrong key: 401), m1 restarted with the previous key inside the
     grace window. m3 down during a second rotation needs the key it was locked with (as in
     Docker), then follows the swarm's key; after the grace window the previous key is refused.
  4. `swarm update --autolock=false` on m3: the KEK file is back on every manager.

Run: PYTHONPATH=.. python3 -m unittest -v test_autolock_ha   (from tests/integration)
Addresses: 127.0.67.1 (m1), .2 (m2), .3 (m3).
"""

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import leakscan

IP = {"m1": "127.0.67.1", "m2": "127.0.67.2", "m3": "127.0.67.3"}
LOCKED = ('Swarm is encrypted and needs to be unlocked before it can be used. Please use '
          '"docker swarm unlock" to unlock it.')
INVALID = "swarm could not be unlocked: invalid key provided"
KEY_RE = re.compile(r"SWMKEY-1-[A-Za-z0-9+/]{43}")
PROBE = os.path.join(os.path.dirname(harness.CAPSULED), "capsule_disk_probe")
GRACE = 60  # capsuled --unlock-key-grace (hidden; the default is 10 minutes)


def out(r):
    return f"rc={r.returncode}\nstdout:\n{r.stdout.decode()}\nstderr:\n{r.stderr.decode()}"


def banner(key, cli):
    remember = "Please remember" if cli == harness.DOCKER_20 else "Remember"
    return ("To unlock a swarm manager after it restarts, run the `docker swarm unlock`\n"
            "command and provide the following key:\n\n"
            f"    {key}\n\n"
            f"{remember} to store this key in a password manager, since without it you\n"
            "will not be able to restart the manager.\n")


def wrong_key():
    return "SWMKEY-1-" + base64.b64encode(os.urandom(32)).decode().rstrip("=")


def second_cli():
    """docker 28.x, or 20.10 with the reason printed."""
    if harness.DOCKER_2 is None:
        print(f"{harness.NO_SECOND_CLI}: this step uses 20.10", file=sys.stderr, flush=True)
        return harness.DOCKER_20
    return harness.DOCKER_2


def swarm_file(d, name):
    return os.path.join(d.data_root, "swarm", name)


def read_box(d):
    try:
        with open(swarm_file(d, "autolock"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class AutolockHa(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_docker_cli(harness.DOCKER_20)
        cls.d = {}
        for name in ("m1", "m2", "m3"):
            cls.d[name] = harness.Daemon(IP[name], name=name, extra_args=[
                "--hostname", name, "--unlock-key-grace", str(GRACE)])
            cls.addClassCleanup(cls.d[name].close)
        m1 = cls.d["m1"]
        r = m1.docker(["swarm", "init", "--advertise-addr", IP["m1"], "--listen-addr",
                       f"{IP['m1']}:{harness.SWARM_PORT}"])
        assert r.returncode == 0, out(r) + m1.log_tail()
        token = m1.docker(["swarm", "join-token", "-q", "manager"]).stdout.decode().strip()
        for name in ("m2", "m3"):
            r = cls.d[name].docker(["swarm", "join", "--token", token, "--advertise-addr",
                                    IP[name], "--listen-addr", f"{IP[name]}:{harness.SWARM_PORT}",
                                    f"{IP['m1']}:{harness.SWARM_PORT}"])
            assert r.returncode == 0, out(r) + cls.d[name].log_tail()
        cls.sid = m1.create_secret("before-autolock", b"v1")
        cls.keys = {}

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r, d=None):
        self.assertEqual(r.returncode, 0, out(r) + ("\n" + d.log_tail() if d else ""))
        return r.stdout.decode()

    def key_of(self, d):
        r = d.api("GET", "/swarm/unlockkey")
        self.assertEqual(r.status, 200, f"{r!r}\n{d.log_tail()}")
        return r.json()["UnlockKey"]

    def state(self, d):
        return d.api("GET", "/info").json()["Swarm"]["LocalNodeState"]

    def unlock(self, d, key):
        return d.api("POST", "/swarm/unlock", {"UnlockKey": key})

    def restart_hard(self, d):
        d.kill9()
        d._kill_leftover_etcd()
        d.start()

    def assert_locked(self, d):
        info = d.api("GET", "/info").json()["Swarm"]
        self.assertEqual(info["LocalNodeState"], "locked", d.log_tail())
        self.assertEqual(info["Error"], LOCKED)
        for path in ("/secrets", "/nodes", "/swarm/unlockkey"):
            r = d.api("GET", path)
            self.assertEqual((r.status, r.message()), (503, LOCKED), path)
        certs = swarm_file(d, "certificates")
        self.assertFalse(os.path.exists(os.path.join(certs, "swarm-node.key")))
        self.assertTrue(os.path.exists(os.path.join(certs, "swarm-node.key.sealed")))

    def assert_serves(self, d):
        r = d.api("GET", f"/secrets/{self.sid}")
        self.assertEqual(r.status, 200, f"{d.name}: {r!r}\n{d.log_tail()}")

    def wait_disk_locked(self, d):
        def locked():
            return (not os.path.exists(swarm_file(d, "kek"))
                    and os.path.exists(swarm_file(d, "autolock")))
        self.assertTrue(harness.wait_until(locked, 20, 0.1), f"{d.name}\n{d.log_tail()}")
        self.assertEqual(stat.S_IMODE(os.stat(swarm_file(d, "autolock")).st_mode), 0o600)
        # Running and unlocked: the key in the clear only on the tmpfs over certificates/.
        self.assertIn(swarm_file(d, "certificates"), harness.mounts_below(d.data_root))

    def wait_resealed(self, d, before):
        self.assertTrue(harness.wait_until(lambda: read_box(d) not in (None, before), 20, 0.1),
                        f"{d.name} did not re-seal\n{d.log_tail()}")

    # ---- 1 -----------------------------------------------------------------------------------
    def test_1_autolock_on_gives_every_manager_the_same_key(self):
        m1, m2, m3 = self.d["m1"], self.d["m2"], self.d["m3"]
        text = self.ok(m1.docker(["swarm", "update", "--autolock=true"]), m1)
        key = KEY_RE.search(text).group(0)
        self.assertEqual(text, "Swarm updated.\n" + banner(key, harness.DOCKER_20))
        self.keys["first"] = key
        cli2 = second_cli()
        self.assertEqual(self.ok(m2.docker(["swarm", "unlock-key", "-q"], cli=cli2)), key + "\n")
        self.assertEqual(self.ok(m2.docker(["swarm", "unlock-key"], cli=cli2)), banner(key, cli2))
        self.assertEqual(self.ok(m3.docker(["swarm", "unlock-key", "-q"])), key + "\n")
        self.assertEqual(self.ok(m1.capsule(["swarm", "unlock-key", "-q"])), key + "\n")
        for d in (m1, m2, m3):
            self.wait_disk_locked(d)
            self.assertTrue(d.api("GET", "/swarm").json()["Spec"]["EncryptionConfig"]
                            ["AutoLockManagers"])

    # ---- 2 -----------------------------------------------------------------------------------
    def test_2_a_restarted_manager_is_locked_while_the_others_serve(self):
        m1, m2, m3 = self.d["m1"], self.d["m2"], self.d["m3"]
        key = self.keys["first"]
        self.restart_hard(m3)
        self.assert_locked(m3)
        r = m3.docker(["secret", "ls"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Error response from daemon: " + LOCKED, r.stderr.decode())
        self.assert_serves(m1)
        self.assert_serves(m2)
        self.ok(m2.docker(["secret", "create", "while-m3-locked", "-"], input=b"v2"), m2)
        self.stolen_disk_opens_nothing(m3, key)
        r = m3.docker(["swarm", "unlock"], input=wrong_key().encode() + b"\n")
        self.assertIn("Error response from daemon: " + INVALID, r.stderr.decode())
        self.assert_locked(m3)
        self.assertEqual(self.ok(m3.docker(["swarm", "unlock"], input=key.encode() + b"\n"), m3),
                         "")
        self.assertEqual(self.state(m3), "active")
        self.assertTrue(harness.wait_until(
            lambda: "while-m3-locked" in m3.docker(["secret", "ls"]).stdout.decode(), 20),
            m3.log_tail())
        self.assertEqual(self.key_of(m3), key)
        self.wait_disk_locked(m3)

    def stolen_disk_opens_nothing(self, d, key):
        raw = base64.b64decode(key[len("SWMKEY-1-"):] + "=")
        hits, regions, _, _ = leakscan.scan_memory(d.pid, {key.encode(), raw})
        self.assertGreater(regions, 10)
        self.assertEqual(hits, [], "a locked manager holds the unlock key in memory")
        dst = tempfile.mkdtemp(prefix="cpah-stolen-")
        self.addCleanup(shutil.rmtree, dst, True)
        stolen = os.path.join(dst, "data")

        def sockets(where, names):
            return [n for n in names if stat.S_ISSOCK(os.lstat(os.path.join(where, n)).st_mode)]
        shutil.copytree(d.data_root, stolen, symlinks=True, ignore=sockets)
        dump = os.path.join(dst, "dump")
        open(dump, "wb").close()  # the probe writes into it only what it opened
        r = subprocess.run([PROBE, stolen, "--dump", dump], capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 0, out(r))
        print(f"disk probe of locked {d.name}: {r.stdout.decode().strip()}", file=sys.stderr)
        report = json.loads(r.stdout)
        self.assertGreater(report["keyrings_found"], 0, report)
        self.assertGreater(report["candidates"], 1000, report)
        self.assertFalse(report["keyring_opened"], report)
        self.assertEqual(report["values_opened"], 0, report)
        self.assertFalse(report["node_key_present"], report)
        self.assertTrue(report["sealed_node_key_present"], report)
        self.assertFalse(report["sealed_node_key_opened"], report)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), b"")
        key_hits, _, _ = leakscan.scan_files(leakscan.files_under(stolen),
                                             {key.encode()} | leakscan.b64_forms(key.encode()))
        self.assertEqual(key_hits, [])

    # ---- 3 -----------------------------------------------------------------------------------
    def test_3_rotation_on_one_manager_reaches_every_manager(self):
        m1, m2, m3 = self.d["m1"], self.d["m2"], self.d["m3"]
        k1 = self.keys["first"]
        boxes = {d.name: read_box(d) for d in (m1, m2, m3)}
        cli2 = second_cli()
        text = self.ok(m2.docker(["swarm", "unlock-key", "--rotate"], cli=cli2), m2)
        k2 = KEY_RE.search(text).group(0)
        self.assertNotEqual(k2, k1)
        blank = "\n" if cli2 == harness.DOCKER_20 else ""
        self.assertEqual(text, "Successfully rotated manager unlock key.\n" + blank
                         + banner(k2, cli2))
        rotated_at = time.monotonic()
        self.assertEqual(self.ok(m1.docker(["swarm", "unlock-key", "-q"])), k2 + "\n")
        self.assertEqual(self.ok(m3.docker(["swarm", "unlock-key", "-q"], cli=cli2)), k2 + "\n")
        for d in (m1, m2, m3):
            self.wait_resealed(d, boxes[d.name])
            self.assertFalse(os.path.exists(swarm_file(d, "kek")))

        # m3: the new key (a wrong one first).
        self.restart_hard(m3)
        self.assert_locked(m3)
        r = self.unlock(m3, wrong_key())
        self.assertEqual((r.status, r.message()), (401, INVALID))
        self.assertEqual(self.ok(m3.docker(["swarm", "unlock"], input=k2.encode() + b"\n",
                                           cli=cli2), m3), "")
        self.assertEqual(self.state(m3), "active")
        # m1: the previous key, inside the grace window.
        self.restart_hard(m1)
        self.assert_locked(m1)
        self.assertLess(time.monotonic() - rotated_at, GRACE - 3, "too slow to test the grace")
        self.assertEqual(self.ok(m1.docker(["swarm", "unlock"], input=k1.encode() + b"\n"), m1),
                         "")
        self.assertEqual(self.state(m1), "active")
        self.assertEqual(self.key_of(m1), k2)  # unlocking with k1 did not bring it back
        self.assert_serves(m1)

        # m3 down during a second rotation (through m1): as in Docker, its disk knows only the
        # key it was locked with; once unlocked with it, it follows the swarm's key.
        m3.stop()
        box_m2 = read_box(m2)
        text = self.ok(m1.docker(["swarm", "unlock-key", "--rotate", "-q"]), m1)
        k3 = text.strip()
        self.assertRegex(k3, KEY_RE)
        rotated_at = time.monotonic()
        self.wait_resealed(m2, box_m2)
        m3.start()
        self.assert_locked(m3)
        r = self.unlock(m3, k3)
        self.assertEqual((r.status, r.message()), (401, INVALID))
        before = read_box(m3)
        self.assertEqual(self.unlock(m3, k2).status, 200, m3.log_tail())
        self.assertEqual(self.key_of(m3), k3)
        self.wait_resealed(m3, before)
        m3.restart()
        self.assert_locked(m3)
        self.assertEqual(self.unlock(m3, k3).status, 200, m3.log_tail())
        self.assert_serves(m3)

        # After the grace window the previous key no longer unlocks, on any manager.
        m2.stop()
        time.sleep(max(0.0, GRACE + 1 - (time.monotonic() - rotated_at)))
        m2.start()
        self.assert_locked(m2)
        for old in (k2, k1):
            r = self.unlock(m2, old)
            self.assertEqual((r.status, r.message()), (401, INVALID))
        self.assertEqual(self.unlock(m2, k3).status, 200, m2.log_tail())
        self.assert_serves(m2)
        self.keys["current"] = k3

    # ---- 4 -----------------------------------------------------------------------------------
    def test_4_autolock_off_writes_the_kek_back_on_every_manager(self):
        m1, m2, m3 = self.d["m1"], self.d["m2"], self.d["m3"]
        self.assertEqual(self.ok(m3.docker(["swarm", "update", "--autolock=false"],
                                           cli=second_cli()), m3), "Swarm updated.\n")
        for d in (m1, m2, m3):
            def unlocked_on_disk():
                return (os.path.exists(swarm_file(d, "kek"))
                        and not os.path.exists(swarm_file(d, "autolock")))
            self.assertTrue(harness.wait_until(unlocked_on_disk, 20, 0.1),
                            f"{d.name}\n{d.log_tail()}")
            self.assertEqual(stat.S_IMODE(os.stat(swarm_file(d, "kek")).st_mode), 0o600)
            self.assertEqual(self.key_of(d), "")
        r = m1.docker(["swarm", "unlock-key"])
        self.assertIn("no unlock key is set", r.stderr.decode())
        self.restart_hard(m2)
        self.assertEqual(self.state(m2), "active")
        self.assert_serves(m2)


if __name__ == "__main__":
    unittest.main()
