"""Durability: SIGTERM restart, kill -9 during a burst of creates, kill -9 of the etcd child.

Run: PYTHONPATH=.. python3 -m unittest -v test_restart   (from tests/integration)
Addresses: 127.0.3.x (see tests/harness).
"""

import os
import signal
import threading
import time
import unittest

import harness


def snapshot(d):
    r = d.api("GET", "/secrets")
    assert r.status == 200, r
    return {s["ID"]: s for s in r.json()}


class RestartTest(unittest.TestCase):
    def start(self, ip):
        d = harness.Daemon(ip)
        self.addCleanup(d.close)
        self.node_id = d.swarm_init()
        return d

    def check_data_intact(self, d, sid, name, data):
        """Identical Data is accepted (200), different Data refused (400): proves the stored
        value is intact without ever reading it back."""
        s = d.api("GET", f"/secrets/{sid}").json()
        labels = s["Spec"]["Labels"]
        r = d.api("POST", f"/secrets/{sid}/update",
                  {"Name": name, "Labels": labels, "Data": harness.b64(data + b"!")},
                  query={"version": s["Version"]["Index"]})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.message(), "rpc error: code = InvalidArgument desc = "
                                      "only updates to Labels are allowed")
        r = d.api("POST", f"/secrets/{sid}/update",
                  {"Name": name, "Labels": labels, "Data": harness.b64(data)},
                  query={"version": s["Version"]["Index"]})
        self.assertEqual(r.status, 200, r)

    def test_sigterm_restart_keeps_everything(self):
        d = self.start("127.0.3.1")
        swarm_before = d.api("GET", "/swarm").json()
        data = {}
        for i in range(50):
            name = f"rs-{i:02d}-{os.urandom(3).hex()}"
            blob = os.urandom(1 + (i * 997) % 4000)
            labels = {"i": str(i), "kind": "odd" if i % 2 else "even"} if i % 5 else None
            sid = d.create_secret(name, blob, labels)
            data[sid] = (name, blob)
        before = snapshot(d)
        self.assertEqual(set(before), set(data))
        old_pid = d.pid
        rc = d.stop()
        self.assertEqual(rc, 0, "clean shutdown exits 0\n" + d.log_tail())
        self.assertEqual(d.etcd_left_after_stop, [], "etcd child still alive after SIGTERM")
        d.start()
        self.assertNotEqual(d.pid, old_pid)
        r = d.api("GET", "/info").json()["Swarm"]
        self.assertEqual(r["LocalNodeState"], "active")
        self.assertEqual(r["NodeID"], self.node_id)
        swarm_after = d.api("GET", "/swarm").json()
        self.assertEqual(swarm_after["ID"], swarm_before["ID"])
        self.assertEqual(swarm_after["JoinTokens"], swarm_before["JoinTokens"])
        after = snapshot(d)
        self.assertEqual(after, before)  # same IDs, names, labels, Version, times
        for sid in list(data)[:50:7]:
            name, blob = data[sid]
            self.check_data_intact(d, sid, name, blob)
        # Names are still unique after the restart.
        name0 = data[next(iter(data))][0]
        r = d.api("POST", "/secrets/create", {"Name": name0.upper(), "Data": "eA=="})
        self.assertEqual(r.status, 409, r)

    def test_kill9_during_create_burst(self):
        d = self.start("127.0.3.2")
        acked = {}
        attempted = []
        stop = threading.Event()
        errors = []

        def creator():
            c = d.new_client()
            i = 0
            while not stop.is_set() and i < 5000:
                name = f"burst-{i:05d}"
                attempted.append(name)
                try:
                    r = c.request("POST", "/secrets/create",
                                  {"Name": name, "Data": harness.b64(name.encode())},
                                  retry=False)
                except OSError:
                    return  # daemon gone
                if r.status == 201:
                    acked[name] = r.json()["ID"]
                else:
                    errors.append(r)
                    return
                i += 1

        t = threading.Thread(target=creator)
        t.start()
        harness.wait_until(lambda: len(acked) >= 40 or not t.is_alive(), 60, 0.01)
        d.kill9()
        stop.set()
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertGreaterEqual(len(acked), 40)
        d.start()
        after = snapshot(d)
        by_name = {s["Spec"]["Name"]: sid for sid, s in after.items()}
        for name, sid in acked.items():
            self.assertEqual(by_name.get(name), sid, f"acknowledged create of {name} lost")
        # Nothing that was never attempted appeared; at most the one in-flight create extra.
        self.assertLessEqual(set(by_name), set(attempted))
        self.assertLessEqual(len(by_name) - len(acked), 1)
        # The daemon serves writes again, and the in-flight name is consistent.
        inflight = attempted[-1]
        r = d.api("POST", "/secrets/create", {"Name": inflight, "Data": "eA=="})
        self.assertEqual(r.status, 409 if inflight in by_name else 201, r)
        name = next(iter(acked))
        self.check_data_intact(d, acked[name], name, name.encode())

    def test_kill9_etcd_child(self):
        d = self.start("127.0.3.3")
        sid = d.create_secret("before-etcd-kill", b"v1", {"a": "b"})
        before = snapshot(d)
        etcd = d.etcd_pid()
        self.assertIsNotNone(etcd, "no <data>/etcd/etcd.pid")
        self.assertTrue(harness.pid_alive(etcd))
        os.kill(etcd, signal.SIGKILL)
        created = {}

        def try_create():
            name = f"after-{len(created)}-{os.urandom(2).hex()}"
            try:
                r = d.api("POST", "/secrets/create", {"Name": name, "Data": "eA=="})
            except OSError:
                return False
            if r.status == 201:
                created[name] = r.json()["ID"]
                return True
            return False

        ok = harness.wait_until(try_create, 60, 0.25)
        self.assertTrue(ok, "no successful create within 60 s after etcd was killed\n"
                        + d.log_tail())
        self.assertTrue(d.running(), "capsuled exited when its etcd died")
        new_etcd = d.etcd_pid()
        self.assertNotEqual(new_etcd, etcd)
        self.assertTrue(harness.pid_alive(new_etcd))
        after = snapshot(d)
        for k, v in before.items():
            self.assertEqual(after[k], v)
        self.check_data_intact(d, sid, "before-etcd-kill", b"v1")


if __name__ == "__main__":
    unittest.main()
