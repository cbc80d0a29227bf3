"""Data-key rotation (issue 13 part 2, docs/data-key-rotation.md): `capsule swarm
rotate-data-key` under a 16-client create/delete load with `kill -9` of capsuled during the
re-seal, then restart: no acknowledged write lost (the ledger of tests/fault), every secret
readable by name and byte-exact through a task, the old data key gone from the keyring, from
every stored value (a raw etcd scan) and from capsuled's memory (with a positive control); and
the same with autolock on, the docker CLIs still seeing every secret.

Run: PYTHONPATH=.. python3 -m unittest -v test_data_key_rotation   (from tests/integration)
Addresses: 127.0.60.x (see tests/harness).
"""

import base64
import ctypes
import ctypes.util
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import busybox_image, ha_swarm, leakscan

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
import verify  # noqa: E402  (tests/fault: hashes through a task)
from ledger import Ledger  # noqa: E402

CLIENTS = 16
SEALED_PREFIXES = ("/capsule/v1/objects/", "/capsule/v1/names/", "/capsule/v1/audit/")
KEYRING_KEY = "/capsule/v1/keys/keyring"

_sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
_sodium.sodium_init()


def open_sealed(key, aad, sealed):
    """crypto/aead.h's Open: version | key id | 24-byte nonce | ciphertext+tag; the AEAD's
    associated data is the 5-byte header followed by aad."""
    header, nonce, c = sealed[:5], sealed[5:29], sealed[29:]
    ad = header + aad
    m = ctypes.create_string_buffer(max(1, len(c) - 16))
    mlen = ctypes.c_ulonglong(0)
    rc = _sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        m, ctypes.byref(mlen), None, c, ctypes.c_ulonglong(len(c)), ad,
        ctypes.c_ulonglong(len(ad)), nonce, key)
    if rc != 0:
        raise AssertionError("sealed value does not open")
    return m.raw[:mlen.value]


def unwrap_keyring(kek, wrapped):
    """crypto/keyring.h's Unwrap: (active id, {id: 32 key bytes})."""
    buf = open_sealed(kek, b"capsule/keyring/v1", wrapped)
    active = int.from_bytes(buf[1:5], "big")
    count = int.from_bytes(buf[37:41], "big")
    keys, p = {}, 41
    for _ in range(count):
        keys[int.from_bytes(buf[p:p + 4], "big")] = buf[p + 4:p + 36]
        p += 36
    return active, keys


def etcd_get_prefix(d, prefix):
    """{key: value} of every key under prefix, read raw from the member's client socket."""
    etcd_dir = os.path.join(d.data_root, "etcd")
    r = subprocess.run(["etcdctl", "--endpoints=unix://client.sock:2379", "get", "--prefix",
                        prefix, "-w", "json"], cwd=etcd_dir, capture_output=True, timeout=60,
                       env={"ETCDCTL_API": "3", "PATH": os.environ.get("PATH", "")})
    if r.returncode != 0:
        raise AssertionError(f"etcdctl: {r.stderr.decode()}")
    out = {}
    for kv in json.loads(r.stdout).get("kvs", []):
        out[base64.b64decode(kv["key"]).decode()] = base64.b64decode(kv.get("value", ""))
    return out


def sealed_key_ids(d):
    """{key: DEK id} of every sealed value (crypto/aead.h header), read raw."""
    ids = {}
    for prefix in SEALED_PREFIXES:
        for key, value in etcd_get_prefix(d, prefix).items():
            ids[key] = int.from_bytes(value[1:5], "big") if len(value) >= 45 else -1
    return ids


def stored_keyring(d):
    with open(os.path.join(d.data_root, "swarm", "kek"), "rb") as f:
        kek = f.read()
    return unwrap_keyring(kek, etcd_get_prefix(d, KEYRING_KEY)[KEYRING_KEY])


def state(d):
    r = d.api("GET", "/capsule/swarm/data-key")
    if r.status != 200:
        raise AssertionError(f"GET /capsule/swarm/data-key: {r!r}")
    return r.json()


def out(r):
    return f"rc={r.returncode}\nstdout:\n{r.stdout.decode()}\nstderr:\n{r.stderr.decode()}"


class DataKeyRotationTest(unittest.TestCase):
    def daemon(self, ip, name):
        d = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
        self.addCleanup(d.close)
        return d

    def import_image(self, d):
        tmp = tempfile.mkdtemp(prefix="cdk-", dir="/tmp")
        rootfs = busybox_image.build_rootfs_tar(os.path.join(tmp, "rootfs.tar"))
        r = d.docker(["import", rootfs, verify.IMAGE])
        self.assertEqual(r.returncode, 0, out(r) + d.log_tail())

    def start_load(self, d, ledger, tag, rng):
        stop = threading.Event()
        threads = [threading.Thread(target=ledger.client_loop,
                                    args=(d.sock, f"{tag}-{i}", stop, rng.random(), 30),
                                    daemon=True) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        return stop, threads

    def stop_load(self, stop, threads):
        stop.set()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "a client thread hangs")

    def wait_done(self, d, target, timeout=180):
        last = {}

        def done():
            s = state(d)
            last["s"] = s
            return s["Rotation"] is None and s["CurrentKeyID"] == target
        self.assertTrue(harness.wait_until(done, timeout, 0.2),
                        f"rotation not finished: {last.get('s')}\n{d.log_tail()}")
        return last["s"]

    def verify_everything(self, d, ledger, old_id, new_id):
        # No acknowledged write lost, no delete undone (the ledger against GET /secrets).
        listed = {s["ID"]: s["Spec"]["Name"] for s in d.api("GET", "/secrets").json()}
        lost, resurrected, wrong = ledger.reconcile(listed)
        self.assertEqual((lost, resurrected, wrong), ([], [], []), ledger.counts)
        live = dict(ledger.live)
        self.assertGreater(len(live), 100, ledger.counts)
        # Every secret by name (metadata opens; the ID is the acknowledged one).
        for name, s in live.items():
            r = d.api("GET", f"/secrets/{name}")
            self.assertEqual(r.status, 200, f"{name}: {r!r}")
            self.assertEqual(r.json()["ID"], s.id, name)
        # Every secret's bytes, through tasks (the agent's delivery).
        verified, corrupt = verify.hashes_through_task(d, list(live.values()), "dek")
        self.assertEqual(corrupt, [], corrupt[:5])
        self.assertEqual(verified, len(live))
        # The docker CLIs list every secret.
        for cli in harness.DOCKER_CLIS:
            r = d.docker(["secret", "ls", "-q"], cli=cli)
            self.assertEqual(r.returncode, 0, out(r))
            self.assertEqual(set(r.stdout.decode().split()), set(listed), harness.cli_label(cli))
        # The keyring holds only the new key; no stored value is sealed under the old one.
        active, keys = stored_keyring(d)
        self.assertEqual((active, sorted(keys)), (new_id, [new_id]))
        ids = sealed_key_ids(d)
        self.assertGreater(len(ids), len(live))
        under_old = [k for k, i in ids.items() if i == old_id]
        self.assertEqual(under_old, [], under_old[:5])
        self.assertEqual({i for i in ids.values()}, {new_id})
        return keys[new_id], len(live), len(ids)

    def assert_not_in_memory(self, d, old_key, new_key):
        """The old key's bytes are gone from capsuled's memory; the new key's are there (the
        positive control: the scan finds a key that must be in memory)."""
        old_needles = leakscan.needles(old_key)
        new_needles = leakscan.needles(new_key)
        hits, regions, scanned, _ = leakscan.scan_memory(d.pid, old_needles | new_needles)
        found = {n for _, ns in hits for n in ns}
        self.assertGreater(regions, 0)
        self.assertTrue(found & new_needles,
                        f"control: the current key was not found in {scanned} bytes")
        self.assertFalse(found & old_needles, f"old data key bytes in memory: {hits[:3]}")

    # ---------------------------------------------------------------------------------------
    def test_rotation_under_load_survives_kill9_and_destroys_the_old_key(self):
        d = self.daemon("127.0.60.1", "dek")
        d.swarm_init()
        self.import_image(d)
        rng = random.Random(1360)
        ledger = Ledger(1360)
        self.assertEqual(state(d)["CurrentKeyID"], 1)
        _, before_keys = stored_keyring(d)
        old_key = before_keys[1]
        # Enough values that the re-seal takes a while: load until ~1500 secrets are live.
        stop, threads = self.start_load(d, ledger, "pre", rng)
        harness.wait_until(lambda: len(ledger.live) >= 1500, 120, 0.2)
        # The rotation runs under the load (the CLI waits and prints its progress).
        cli = subprocess.Popen([harness.CAPSULE_CLI, "-H", "unix://" + d.sock, "swarm",
                                "rotate-data-key"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=d.cli_env())
        seen = {}

        def resealing():
            s = state(d)
            seen["s"] = s
            rot = s["Rotation"]
            # Well into the pass (a third of it), not at its first batch.
            return (rot is not None and rot["Phase"] == "resealing"
                    and rot["Done"] >= max(32, rot["Total"] // 3))
        self.assertTrue(harness.wait_until(resealing, 60, 0.02),
                        f"no re-seal progress: {seen.get('s')}\n{d.log_tail()}")
        # A second rotation meanwhile is refused, with the progress.
        r = d.api("POST", "/capsule/swarm/rotate-data-key")
        self.assertEqual(r.status, 409, r)
        self.assertIn("a data key rotation is already in progress", r.message())
        # kill -9 in the middle of the re-seal.
        at_kill = state(d)["Rotation"]
        d.kill9()
        self.stop_load(stop, threads)
        cli_out = cli.communicate(timeout=30)[0].decode()
        self.assertIn("Data key 2 is now current", cli_out)
        self.assertIn("Re-sealing: ", cli_out)
        self.assertLess(at_kill["Done"], at_kill["Total"],
                        f"the re-seal had finished before the kill: {at_kill}")
        # Restart: the leader resumes at its cursor and finishes, under the load again.
        d.start(timeout=60)
        stop, threads = self.start_load(d, ledger, "post", rng)
        final = self.wait_done(d, 2)
        self.stop_load(stop, threads)
        self.assertIn(b"data key rotation to key 2: resuming", d.log_bytes())
        self.assertEqual(final["KeyIDs"], [2])
        self.assertEqual(final["LastRotation"]["Phase"], "done")
        r = d.capsule(["info"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertIn("  Data Key: 2\n  Data Key Rotation: none\n", r.stdout.decode())
        new_key, live, values = self.verify_everything(d, ledger, 1, 2)
        self.assertNotEqual(new_key, old_key)
        self.assert_not_in_memory(d, old_key, new_key)
        print(f"\n[dek] killed at {at_kill['Done']}/{at_kill['Total']}; {live} live secrets, "
              f"{values} sealed values under key 2; ledger {ledger.counts}", file=sys.stderr)

    def test_rotation_with_autolock_keeps_every_secret_for_both_docker_clis(self):
        d = self.daemon("127.0.60.2", "dekauto")
        r = d.api("POST", "/swarm/init", {"ListenAddr": f"{d.ip}:2377", "AdvertiseAddr": d.ip,
                                          "Spec": {}, "AutoLockManagers": True})
        self.assertEqual(r.status, 200, f"{r!r}\n{d.log_tail()}")
        d._note_etcd()
        key = d.api("GET", "/swarm/unlockkey").json()["UnlockKey"]
        self.assertFalse(os.path.exists(os.path.join(d.data_root, "swarm", "kek")))
        self.import_image(d)
        ledger = Ledger(2360)
        for i in range(60):
            data = os.urandom(64 + i)
            name = f"auto-{i:03d}"
            ledger.acked_create(name, d.create_secret(name, data), data)
        r = d.capsule(["swarm", "rotate-data-key"], timeout=120)
        text = out(r)
        self.assertEqual(r.returncode, 0, text + d.log_tail())
        self.assertIn("Data key 2 is now current", text)
        self.assertIn("Data key rotation done: key 2 is current, key 1 destroyed", text)
        # Restart: locked; the same unlock key opens it (the keyring is still wrapped under W).
        d.stop()
        d.start(timeout=60)
        self.assertEqual(d.api("GET", "/secrets").status, 503)
        r = d.docker(["swarm", "unlock"], input=(key + "\n").encode())
        self.assertEqual(r.returncode, 0, out(r) + d.log_tail())
        self.assertTrue(harness.wait_until(lambda: d.api("GET", "/secrets").status == 200, 30))
        s = state(d)
        self.assertEqual((s["CurrentKeyID"], s["KeyIDs"], s["Rotation"]), (2, [2], None))
        listed = {x["ID"] for x in d.api("GET", "/secrets").json()}
        self.assertEqual(listed, {x.id for x in ledger.live.values()})
        for cli in harness.DOCKER_CLIS:
            r = d.docker(["secret", "ls", "-q"], cli=cli)
            self.assertEqual(r.returncode, 0, out(r))
            self.assertEqual(set(r.stdout.decode().split()), listed, harness.cli_label(cli))
            r = d.docker(["secret", "inspect", "auto-007"], cli=cli)
            self.assertEqual(r.returncode, 0, out(r))
        verified, corrupt = verify.hashes_through_task(d, list(ledger.live.values()), "auto")
        self.assertEqual((verified, corrupt), (len(ledger.live), []))
        ids = sealed_key_ids(d)
        self.assertEqual({i for i in ids.values()}, {2}, ids)

    def test_another_manager_resumes_after_the_leader_is_killed_mid_reseal(self):
        """Three managers: the rotation begins on a follower, the leader is killed -9 in the
        middle of the re-seal, another manager becomes leader, resumes and finishes; every
        manager (the killed one after its restart) holds only the new key."""
        names = ("dm1", "dm2", "dm3")
        ips = {n: f"127.0.60.{11 + i}" for i, n in enumerate(names)}
        ds = ha_swarm.start(type(self), ips, names)
        first = ds["dm1"]
        for d in ds.values():
            self.import_image(d)
        ledger = Ledger(3360)
        rng = random.Random(3360)
        stop, threads = self.start_load(first, ledger, "ha", rng)
        harness.wait_until(lambda: len(ledger.live) >= 800, 180, 0.2)
        self.stop_load(stop, threads)
        nodes = first.api("GET", "/nodes").json()
        leader_id = [n["ID"] for n in nodes if n.get("ManagerStatus", {}).get("Leader")][0]
        by_id = {first.api("GET", "/info").json()["Swarm"]["NodeID"]: "dm1"}
        for n in names[1:]:
            by_id[ds[n].api("GET", "/info").json()["Swarm"]["NodeID"]] = n
        leader = ds[by_id[leader_id]]
        follower = ds[[n for n in names if ds[n] is not leader][0]]
        _, before_keys = stored_keyring(follower)
        old_key = before_keys[1]
        r = follower.capsule(["swarm", "rotate-data-key", "--detach"])
        self.assertEqual(r.returncode, 0, out(r) + follower.log_tail())
        self.assertIn("Data key 2 is now current", r.stdout.decode())
        seen = {}

        def resealing():
            s = state(follower)
            seen["s"] = s
            rot = s["Rotation"]
            return (rot is not None and rot["Phase"] == "resealing"
                    and rot["Done"] >= max(32, rot["Total"] // 4))
        self.assertTrue(harness.wait_until(resealing, 60, 0.02),
                        f"no re-seal progress: {seen.get('s')}\n{leader.log_tail()}")
        at_kill = state(follower)["Rotation"]
        leader.kill9()
        self.assertLess(at_kill["Done"], at_kill["Total"], at_kill)
        # Another manager leads and resumes at the recorded cursor.
        others = [ds[n] for n in names if ds[n] is not leader]
        self.assertTrue(harness.wait_until(
            lambda: any(b"data key rotation to key 2: resuming" in d.log_bytes()
                        for d in others), 60, 0.5),
            "\n".join(d.log_tail() for d in others))
        # It finishes while the killed manager is down: that manager had loaded the keyring
        # with key 2 before it died (its /capsule/v1/keys/loaded record says so), and it loads
        # the keyring again when it starts, so nothing it writes can use key 1.
        self.wait_done(follower, 2)
        self.assertFalse(leader.running())
        leader.start(timeout=60)
        # Every manager: the keyring holds key 2 only, the secrets read, the old key is wiped.
        listed = {x["ID"]: x["Spec"]["Name"] for x in follower.api("GET", "/secrets").json()}
        self.assertEqual(ledger.reconcile(listed), ([], [], []))
        for name in names:
            d = ds[name]
            self.assertTrue(harness.wait_until(
                lambda: state(d)["KeyIDs"] == [2], 30, 0.2), name)
            for sname, sec in rng.sample(sorted(ledger.live.items()), 20):
                r = d.api("GET", f"/secrets/{sname}")
                self.assertEqual((r.status, r.json()["ID"]), (200, sec.id), f"{name}: {r!r}")
        # A sample's bytes through a task on the follower (its own logs: no log broker).
        sample = rng.sample(sorted(ledger.live.values(), key=lambda x: x.name), 30)
        name = [n for n in names if ds[n] is follower][0]
        r = follower.api("POST", "/services/create",
                         verify.service_spec("dek-ha", sample,
                                             constraints=[f"node.hostname=={name}"]))
        self.assertEqual(r.status, 201, r)
        sid, got = r.json()["ID"], {}

        def logged():
            for t in verify.tasks_of(follower, sid):
                log = verify.task_log(follower, t["ID"])
                if verify.END in log:
                    got.update(verify.parse_hashes(log))
                    return True
            return False
        self.assertTrue(harness.wait_until(logged, 120, 0.5), verify.tasks_of(follower, sid))
        self.assertEqual({x.id: got.get(x.id) for x in sample}, {x.id: x.sha for x in sample})
        self.assertEqual({i for i in sealed_key_ids(follower).values()}, {2})
        active, keys = stored_keyring(follower)
        for name in names:
            self.assert_not_in_memory(ds[name], old_key, keys[2])


if __name__ == "__main__":
    unittest.main()
