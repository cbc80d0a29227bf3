"""Automatic node-certificate renewal: a manager and a worker whose certificates last 20 s.

Run: PYTHONPATH=.. python3 -m unittest -v test_renewal   (from tests/integration)
Addresses: 127.0.10.1 (manager), 127.0.10.2 (worker w1).
Both capsuled run with the hidden test flags `--node-cert-validity 20 --cert-check-period 1`
(Docker refuses a NodeCertExpiry under 1 h), so each node renews its certificate about every
10 s: the manager signs its own locally, the worker calls NodeCA.RenewNodeCertificate and
reconnects its session with the new certificate. The test runs past the first certificates'
expiry and checks that the worker stays Ready (its heartbeats authenticate with the renewed
certificate) and that a worker restart reconnects with the renewed certificate on disk.
"""

import os
import ssl
import time
import unittest

import harness

MGR_IP, W1_IP = "127.0.10.1", "127.0.10.2"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
VALIDITY = 20
TEST_FLAGS = ["--node-cert-validity", str(VALIDITY), "--cert-check-period", "1"]


def out(r):
    return r.stdout.decode() + r.stderr.decode()


def cert_path(d):
    return os.path.join(d.data_root, "swarm", "certificates", "swarm-node.crt")


def not_after(d):
    """The node certificate's notAfter, as Unix seconds."""
    info = ssl._ssl._test_decode_cert(cert_path(d))
    return ssl.cert_time_to_seconds(info["notAfter"])


def subject(d):
    info = ssl._ssl._test_decode_cert(cert_path(d))
    return {k: v for rdn in info["subject"] for (k, v) in rdn}


class Renewal(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = harness.Daemon(MGR_IP, name="m", extra_args=["--hostname", "mgr"] + TEST_FLAGS)
        cls.addClassCleanup(cls.m.close)
        r = cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                          MANAGER_ADDR, "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(f"swarm init: {out(r)}\n{cls.m.log_tail()}")
        cls.w1 = harness.Daemon(W1_IP, name="w1", extra_args=["--hostname", "w1"] + TEST_FLAGS)
        cls.addClassCleanup(cls.w1.close)
        token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        r = cls.w1.docker(["swarm", "join", "--token", token, "--advertise-addr", W1_IP,
                           "--listen-addr", f"{W1_IP}:{harness.SWARM_PORT}", MANAGER_ADDR])
        if r.returncode != 0:
            raise AssertionError(f"join: {out(r)}\n{cls.w1.log_tail()}")
        cls.w1_id = cls.w1.api("GET", "/info").json()["Swarm"]["NodeID"]
        if not harness.wait_until(lambda: cls.node_state(cls.w1_id) == "ready", 20, 0.05):
            raise AssertionError(f"w1 not Ready: {cls.node_state(cls.w1_id)}")

    @classmethod
    def node_state(cls, node_id):
        r = cls.m.api("GET", f"/nodes/{node_id}")
        return r.json()["Status"]["State"] if r.status == 200 else None

    def assert_node_ls_ready(self):
        r = self.m.docker(["node", "ls"])
        self.assertEqual(r.returncode, 0, out(r))
        rows = {}
        for line in r.stdout.decode().splitlines()[1:]:
            f = line.replace("*", " ").split()
            rows[f[1]] = f[2:]
        self.assertEqual(rows["mgr"][:3], ["Ready", "Active", "Leader"], out(r))
        self.assertEqual(rows["w1"][:2], ["Ready", "Active"], out(r))

    def test_certificates_renew_and_the_worker_stays_ready(self):
        nodes = (self.m, self.w1)
        first = {d.name: not_after(d) for d in nodes}
        subjects = {d.name: subject(d) for d in nodes}
        for d in nodes:
            # The short validity is in force (20 s, whole seconds).
            self.assertLessEqual(first[d.name] - time.time(), VALIDITY + 1, d.name)
        # Both files are replaced by certificates that last longer, twice (~10 s apart).
        latest = dict(first)
        renewals = {d.name: 0 for d in nodes}

        def renewed_twice():
            for d in nodes:
                try:
                    t = not_after(d)
                except (OSError, ssl.SSLError):
                    continue  # mid-rename
                if t > latest[d.name]:
                    latest[d.name] = t
                    renewals[d.name] += 1
            return all(n >= 2 for n in renewals.values())

        self.assertTrue(harness.wait_until(renewed_twice, 3 * VALIDITY, 0.2),
                        f"renewals {renewals}\n{self.m.log_tail()}\n{self.w1.log_tail()}")
        for d in nodes:
            self.assertEqual(subject(d), subjects[d.name], d.name)  # same CN/OU/O
        self.assertIn("renewed this node's certificate", self.m.log_bytes().decode())
        self.assertIn("NodeCA: renewed the certificate of node " + self.w1_id,
                      self.m.log_bytes().decode())
        self.assertIn("reconnecting to manager", self.w1.log_bytes().decode())

        # Past the first certificates' expiry, the worker is still Ready for several
        # heartbeat periods (it would be Down after ~3 s of refused heartbeats).
        wait = max(first.values()) + 1 - time.time()
        if wait > 0:
            time.sleep(wait)
        for _ in range(10):
            self.assertEqual(self.node_state(self.w1_id), "ready", self.w1.log_tail())
            time.sleep(0.5)
        self.assert_node_ls_ready()
        self.assertNotIn("UNAUTHENTICATED", self.w1.log_bytes().decode())

    def test_restarted_worker_reconnects_with_its_renewed_certificate(self):
        issued = not_after(self.w1)
        self.assertTrue(harness.wait_until(lambda: not_after(self.w1) > issued, 2 * VALIDITY,
                                           0.2))
        self.w1.stop()
        self.assertTrue(harness.wait_until(lambda: self.node_state(self.w1_id) == "down", 15,
                                           0.1))
        self.w1.start()
        self.assertTrue(harness.wait_until(lambda: self.node_state(self.w1_id) == "ready", 20,
                                           0.1), self.w1.log_tail())
        self.assert_node_ls_ready()


if __name__ == "__main__":
    unittest.main()
