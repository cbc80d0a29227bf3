"""The manager's etcd peer port admits managers' certificates only (issue 12, part 7).

A peer connection to an etcd member can append to the Raft log, i.e. rewrite the whole store.
Every node of the swarm holds a certificate from the same CA, so the peer port must check the
role in the certificate, not only the CA: a worker's real certificate, presented from the
worker's own address (its IP SAN matches), must be refused. (Since manager joins, etcd no
longer checks a peer certificate's IP SAN against the source address — on loopback every
connection comes from 127.0.0.1 — so the role is the only check, as this test wants.)

Attacker: a worker (127.0.23.2) that joined normally, using the key and certificate that its
capsuled keeps in <data-root>/swarm/certificates/, dials the manager's peer port (127.0.23.1,
swarm port + 3) and asks for /members, an endpoint of etcd's peer API.
Positive control: the very same request with the manager's own certificate (from the manager's
address) gets the member list. Without the role check the worker's request would get it too.

Run: python3 -m unittest -v test_peer_port   (from tests/integration)
Addresses: 127.0.23.1 (manager), 127.0.23.2 (worker).
"""

import json
import os
import re
import subprocess
import unittest

import harness

MGR_IP, W_IP = "127.0.23.1", "127.0.23.2"


def certs_of(daemon):
    d = os.path.join(daemon.data_root, "swarm", "certificates")
    return (os.path.join(d, "swarm-node.crt"), os.path.join(d, "swarm-node.key"),
            os.path.join(d, "swarm-root-ca.crt"))


def peer_get(source_ip, cert, key, ca):
    """GET /members on the manager's etcd peer port over TLS from source_ip (cert None: no
    certificate). → ("ok", status_line, body) or ("refused", reason)."""
    return harness.etcd_peer_get(MGR_IP, source_ip, cert, key, ca)


class PeerPort(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = harness.Daemon(MGR_IP, name="m")
        cls.addClassCleanup(cls.m.close)
        cls.m.swarm_init()
        cls.w = harness.Daemon(W_IP, name="w")
        cls.addClassCleanup(cls.w.close)
        token = cls.m.api("GET", "/swarm").json()["JoinTokens"]["Worker"]
        r = cls.w.capsule(["swarm", "join", "--token", token, "--advertise-addr", W_IP,
                           "--listen-addr", f"{W_IP}:{harness.SWARM_PORT}",
                           f"{MGR_IP}:{harness.SWARM_PORT}"])
        if r.returncode != 0:
            raise AssertionError(f"join: {r.stdout!r} {r.stderr!r}\n{cls.w.log_tail()}")
        cls.manager_id = cls.m.api("GET", "/info").json()["Swarm"]["NodeID"]

    def test_manager_certificate_is_admitted(self):
        # Positive control: the request the attack makes does work with a manager's certificate.
        cert, key, ca = certs_of(self.m)
        result = peer_get(MGR_IP, cert, key, ca)
        self.assertEqual(result[0], "ok", result)
        self.assertIn(" 200 ", result[1])
        members = json.loads(result[2])
        self.assertEqual([m["name"] for m in members], [self.manager_id])

    def test_worker_certificate_from_worker_address_is_refused(self):
        cert, key, ca = certs_of(self.w)
        # The worker really holds a valid certificate of this swarm's CA, role worker, and dials
        # from the address its certificate names (the address the CA saw it join from; etcd
        # no longer checks the IP SAN against the remote address): only the role can refuse it.
        v = subprocess.run(["openssl", "verify", "-CAfile", certs_of(self.m)[2], cert],
                           capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        t = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName",
                            "-in", cert], capture_output=True, text=True)
        self.assertIn("OU = swarm-worker", t.stdout)
        ips = re.findall(r"IP Address:([0-9.]+)", t.stdout)
        self.assertTrue(ips, t.stdout)
        result = peer_get(ips[0], cert, key, ca)
        self.assertEqual(result[0], "refused", f"a worker's certificate was admitted: {result}")
        self.assertNotIn("connect:", result[1])  # refused by TLS, not a closed port

    def test_no_certificate_is_refused(self):
        _, _, ca = certs_of(self.w)
        result = peer_get(W_IP, None, None, ca)
        self.assertEqual(result[0], "refused", result)
        self.assertNotIn("connect:", result[1])

    def test_member_command_line_names_the_manager_role(self):
        pid = self.m.etcd_pid()
        self.assertIsNotNone(pid)
        args = [a.decode() for a in harness.proc_cmdline(pid)]
        self.assertIn("--peer-cert-allowed-hostname", args)
        self.assertEqual(args[args.index("--peer-cert-allowed-hostname") + 1], "swarm-manager")


if __name__ == "__main__":
    unittest.main()
