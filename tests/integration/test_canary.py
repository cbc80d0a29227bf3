"""Leak scan: a unique secret value must never reach disk, the log, the environment or any read.

Run: PYTHONPATH=.. python3 -m unittest -v test_canary   (from tests/integration)
Addresses: 127.0.5.x (see tests/harness).
"""

import base64
import json
import os
import unittest
import urllib.parse

import harness
from harness.leakscan import b64_forms, files_under, read_bytes


class Canary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon("127.0.5.1")
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        cls.name = "canaryname" + os.urandom(8).hex()
        cls.value = b"CANARYVALUE" + os.urandom(16).hex().encode()
        cls.needles = {"value": {cls.value} | b64_forms(cls.value)}
        cls.needles["value"].add(json.dumps(cls.value.decode()).encode())

    def scan(self, stage):
        """Returns a list of (what, where) leaks found now."""
        leaks = []
        scanned = 0
        for root in (self.d.data_root, self.d.exec_root):
            for p in files_under(root):
                blob = read_bytes(p)
                scanned += 1
                for n in self.needles["value"]:
                    if n in blob:
                        leaks.append((f"{stage}: value {n[:16]!r}...", p))
                if root == self.d.data_root and self.name.encode() in blob:
                    leaks.append((f"{stage}: name", p))
        log = self.d.log_bytes()
        for n in self.needles["value"]:
            if n in log:
                leaks.append((f"{stage}: value {n[:16]!r}...", self.d.log_path))
        for pid in [self.d.pid, self.d.etcd_pid()]:
            if pid and harness.pid_alive(pid):
                env = read_bytes(f"/proc/{pid}/environ")
                if self.value in env:
                    leaks.append((f"{stage}: value", f"/proc/{pid}/environ"))
        self.assertGreater(scanned, 3, "scan found almost no files: is the data root right?")
        return leaks

    def assert_no_value(self, r):
        for n in self.needles["value"]:
            self.assertNotIn(n, r.body)

    def test_canary(self):
        d = self.d
        r = d.api("POST", "/secrets/create", {"Name": self.name, "Labels": {"canary": "1"},
                                              "Data": harness.b64(self.value)})
        self.assertEqual(r.status, 201, r)
        sid = r.json()["ID"]
        self.assert_no_value(r)
        # Error paths that carry the value: duplicate name, data change on update,
        # and dockerode's habit of repeating the spec in the query string.
        r = d.api("POST", "/secrets/create", {"Name": self.name, "Data": harness.b64(self.value)})
        self.assertEqual(r.status, 409)
        self.assert_no_value(r)
        q = urllib.parse.urlencode({"Name": self.name + "q", "Data": harness.b64(self.value)})
        r = d.api("POST", "/secrets/create", {"Name": self.name + "q",
                                              "Data": harness.b64(self.value)}, query=q)
        self.assertEqual(r.status, 201, r)
        qid = r.json()["ID"]
        reads = [d.api("GET", "/secrets"), d.api("GET", f"/secrets/{sid}"),
                 d.api("GET", f"/secrets/{self.name}"),
                 d.api("GET", "/secrets", query={"filters": json.dumps({"names": [self.name]})})]
        for r in reads:
            self.assertEqual(r.status, 200)
            self.assertIn(sid.encode(), r.body)
            self.assert_no_value(r)
        idx = reads[1].json()["Version"]["Index"]
        r = d.api("POST", f"/secrets/{sid}/update",
                  {"Name": self.name, "Labels": {"canary": "2"},
                   "Data": harness.b64(self.value + b"x")}, query={"version": idx})
        self.assertEqual(r.status, 400)
        self.assert_no_value(r)
        r = d.api("POST", f"/secrets/{sid}/update",
                  {"Name": self.name, "Labels": {"canary": "2"}, "Data": harness.b64(self.value)},
                  query={"version": idx})
        self.assertEqual(r.status, 200, r)
        r = d.api("GET", f"/secrets/{sid}")
        self.assertEqual(r.json()["Spec"]["Labels"], {"canary": "2"})
        self.assert_no_value(r)

        leaks = self.scan("running")
        d.restart()
        r = d.api("GET", f"/secrets/{sid}")
        self.assertEqual(r.status, 200)
        self.assert_no_value(r)
        leaks += self.scan("after restart")
        self.assertEqual(d.api("DELETE", f"/secrets/{sid}").status, 204)
        self.assertEqual(d.api("DELETE", f"/secrets/{qid}").status, 204)
        leaks += self.scan("after delete")
        d.stop()
        leaks += self.scan("stopped")
        self.assertEqual(leaks, [])

    def test_scanner_finds_a_planted_canary(self):
        """Control: the scan does detect the value (so a clean result means something)."""
        planted = os.path.join(self.d.data_root, "planted-by-test")
        with open(planted, "wb") as f:
            f.write(b"xx" + base64.b64encode(b"Q" + self.value) + b"yy")
        try:
            leaks = self.scan("control")
        finally:
            os.unlink(planted)
        self.assertIn(planted, [w for _, w in leaks])


if __name__ == "__main__":
    unittest.main()
