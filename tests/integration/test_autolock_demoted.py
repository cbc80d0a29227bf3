"""An autolocked manager demoted while it was down (issue 12 part 5, the autolock case): it
starts locked, and once `docker swarm unlock` opens it, it finds its store member removed and
turns itself into a worker as an unlocked one does at start (it asks another manager for a
worker's certificate). Real capsuled processes and etcd members, the docker CLI (20.10).

m1 runs `swarm init`, m2 and m3 join as managers, then `swarm update --autolock=true`.
m3 is stopped and demoted through m1 (2 of 3 managers up: Docker's guard passes; the leader
removes its member although it is down). m3 started again is locked (Docker's text); unlocked
with the swarm's key it becomes a Ready worker on m1's `docker node ls` (no MANAGER STATUS), not
a manager in its own `docker info`, with a worker's certificate and its key in the clear (a
worker is not autolocked), and no etcd dir, KEK, autolock box or sealed key left.

Run: PYTHONPATH=.. python3 -m unittest -v test_autolock_demoted   (from tests/integration)
Addresses: 127.0.73.1 (m1), .2 (m2), .3 (m3).
"""

import json
import os
import time
import unittest

import harness
from harness import ha_swarm

IP = {"m1": "127.0.73.1", "m2": "127.0.73.2", "m3": "127.0.73.3"}
LOCKED = ('Swarm is encrypted and needs to be unlocked before it can be used. Please use '
          '"docker swarm unlock" to unlock it.')
WORKER_BOUND_S = 60  # m3 unlocked → a worker, Ready on m1


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def etcd_members(daemon):
    """The member names (node IDs) daemon's own etcd member lists; None when it cannot say."""
    members = ha_swarm.etcd_member_list(daemon)
    return None if members is None else sorted(m.get("name", "") for m in members)


class AutolockDemoted(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = ha_swarm.start(cls, IP, ("m1", "m2", "m3"), heartbeat="1s")
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}

    def ok(self, r, d):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + d.log_tail())
        return r.stdout.decode()

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.1), msg() if callable(msg) else msg)

    def node_rows(self, d):
        """{hostname: (status, manager status)} of `docker node ls` on d."""
        r = d.docker(["node", "ls", "--format", "{{.Hostname}}|{{.Status}}|{{.ManagerStatus}}"])
        if r.returncode != 0:
            return {}
        rows = [line.split("|") for line in r.stdout.decode().split("\n") if line]
        return {h: (s, m) for h, s, m in rows}

    def test_an_autolocked_manager_demoted_while_down_becomes_a_worker_once_unlocked(self):
        m1, m3 = self.d["m1"], self.d["m3"]
        self.ok(m1.docker(["swarm", "update", "--autolock=true"]), m1)
        key = self.ok(m1.docker(["swarm", "unlock-key", "-q"]), m1).strip()
        certs = os.path.join(m3.data_root, "swarm", "certificates")
        swarm = os.path.join(m3.data_root, "swarm")
        self.wait(lambda: (not os.path.exists(os.path.join(swarm, "kek"))
                           and os.path.exists(os.path.join(swarm, "autolock"))), 30, m3.log_tail)
        m3.stop()
        # Stopped: its key lies on disk only sealed (the tmpfs over certificates/ is gone).
        self.assertTrue(os.path.exists(os.path.join(certs, "swarm-node.key.sealed")))
        self.assertFalse(os.path.exists(os.path.join(certs, "swarm-node.key")))
        r = m1.docker(["node", "demote", "m3"])
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, "Manager m3 demoted in the swarm.\n"), out(r))
        self.wait(lambda: etcd_members(m1) == sorted([self.ids["m1"], self.ids["m2"]]), 30,
                  lambda: f"{etcd_members(m1)}\n{m1.log_tail()}")

        m3.start(timeout=WORKER_BOUND_S)
        info = m3.api("GET", "/info").json()["Swarm"]
        self.assertEqual((info["LocalNodeState"], info["Error"]), ("locked", LOCKED), info)
        started = time.monotonic()
        self.assertEqual(self.ok(m3.docker(["swarm", "unlock"], input=key.encode() + b"\n"), m3),
                         "")
        # Both views: m1 sees m3's worker session Ready, and m3 itself reports a worker (its
        # agent's session starts a moment before its own state is switched).
        self.wait(lambda: (self.node_rows(m1).get("m3") == ("Ready", "")
                           and not m3.api("GET", "/info").json()["Swarm"]["ControlAvailable"]),
                  WORKER_BOUND_S, lambda: f"{self.node_rows(m1)}\n{m3.log_tail()}")
        print(f"\nm3 unlocked to a Ready worker: {time.monotonic() - started:.1f} s", flush=True)
        info = m3.api("GET", "/info").json()["Swarm"]
        self.assertEqual((info["LocalNodeState"], info["ControlAvailable"], info.get("Error", "")),
                         ("active", False, ""), info)
        self.assertEqual(ha_swarm.cert_ou(os.path.join(certs, "swarm-node.crt")), "swarm-worker")
        # A worker's key lies in the clear (workers are not autolocked); the tmpfs is gone.
        with open(os.path.join(certs, "swarm-node.key")) as f:
            self.assertIn("PRIVATE KEY", f.read())
        self.assertFalse(os.path.exists(os.path.join(certs, "swarm-node.key.sealed")))
        self.assertNotIn(certs, harness.mounts_below(m3.data_root))
        for gone in ("etcd", os.path.join("swarm", "kek"), os.path.join("swarm", "autolock")):
            self.assertFalse(os.path.exists(os.path.join(m3.data_root, gone)), gone)
        self.assertIsNone(m3.etcd_pid())
        with open(os.path.join(m3.data_root, "swarm", "state.json")) as f:
            self.assertEqual(json.load(f)["Role"], "worker")
        n = m1.api("GET", f"/nodes/{self.ids['m3']}").json()
        self.assertEqual((n["Spec"]["Role"], n["Status"]["State"]), ("worker", "ready"))
        self.assertNotIn("ManagerStatus", n)
        # Restarted, it starts as the worker it is (not locked).
        m3.stop()
        m3.start(timeout=WORKER_BOUND_S)
        self.wait(lambda: m3.api("GET", "/info").json()["Swarm"]["LocalNodeState"] == "active",
                  30, m3.log_tail)
        self.wait(lambda: self.node_rows(m1).get("m3") == ("Ready", ""), WORKER_BOUND_S,
                  lambda: f"{self.node_rows(m1)}\n{m3.log_tail()}")


if __name__ == "__main__":
    unittest.main()
