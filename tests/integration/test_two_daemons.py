"""Two capsuled processes at once, each with its own swarm: no cross-talk, both serve.

Run: PYTHONPATH=.. python3 -m unittest -v test_two_daemons   (from tests/integration)
Addresses: 127.0.4.1 and 127.0.4.2 (see tests/harness).
"""

import os
import threading
import unittest

import harness


class TwoDaemons(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = harness.Daemon("127.0.4.1", name="a")
        cls.addClassCleanup(cls.a.close)
        cls.b = harness.Daemon("127.0.4.2", name="b")
        cls.addClassCleanup(cls.b.close)
        cls.node_a = cls.a.swarm_init()
        cls.node_b = cls.b.swarm_init()

    def test_1_separate_swarms(self):
        self.assertNotEqual(self.node_a, self.node_b)
        sa = self.a.api("GET", "/swarm").json()
        sb = self.b.api("GET", "/swarm").json()
        self.assertNotEqual(sa["ID"], sb["ID"])
        self.assertNotEqual(sa["JoinTokens"]["Worker"], sb["JoinTokens"]["Worker"])
        ia = self.a.api("GET", "/info").json()["Swarm"]
        ib = self.b.api("GET", "/info").json()["Swarm"]
        self.assertEqual((ia["NodeID"], ia["NodeAddr"]), (self.node_a, "127.0.4.1"))
        self.assertEqual((ib["NodeID"], ib["NodeAddr"]), (self.node_b, "127.0.4.2"))
        self.assertNotEqual(self.a.etcd_pid(), self.b.etcd_pid())

    def test_2_secrets_do_not_leak_across(self):
        only_a = self.a.create_secret("only-in-a", b"aaa", {"side": "a"})
        r = self.b.api("GET", f"/secrets/{only_a}")
        self.assertEqual((r.status, r.message()), (404, f"secret {only_a} not found"))
        r = self.b.api("GET", "/secrets/only-in-a")
        self.assertEqual(r.status, 404)
        names_b = [s["Spec"]["Name"] for s in self.b.api("GET", "/secrets").json()]
        self.assertNotIn("only-in-a", names_b)
        # The same name can exist in both swarms, with different IDs.
        ida = self.a.create_secret("same-name", b"from a")
        idb = self.b.create_secret("same-name", b"from b")
        self.assertNotEqual(ida, idb)
        self.assertEqual(self.a.api("GET", "/secrets/same-name").json()["ID"], ida)
        self.assertEqual(self.b.api("GET", "/secrets/same-name").json()["ID"], idb)
        r = self.b.api("DELETE", "/secrets/same-name")
        self.assertEqual(r.status, 204)
        self.assertEqual(self.a.api("GET", "/secrets/same-name").status, 200)

    def test_3_concurrent_service(self):
        results = {"a": [], "b": []}

        def burst(d, key):
            c = d.new_client()
            for i in range(100):
                r = c.request("POST", "/secrets/create",
                              {"Name": f"conc-{key}-{i:03d}", "Data": harness.b64(os.urandom(16))})
                results[key].append(r.status)
                c.request("GET", "/secrets")
            c.close()

        ts = [threading.Thread(target=burst, args=(self.a, "a")),
              threading.Thread(target=burst, args=(self.b, "b"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(240)
        self.assertEqual(results["a"], [201] * 100)
        self.assertEqual(results["b"], [201] * 100)
        for d, mine, other in ((self.a, "conc-a-", "conc-b-"), (self.b, "conc-b-", "conc-a-")):
            names = [s["Spec"]["Name"] for s in d.api("GET", "/secrets").json()]
            self.assertEqual(len([n for n in names if n.startswith(mine)]), 100)
            self.assertEqual([n for n in names if n.startswith(other)], [])

    def test_4_stopping_one_leaves_the_other(self):
        extra = harness.Daemon("127.0.4.3", name="c")
        try:
            extra.swarm_init()
            extra.create_secret("c-one", b"c")
            extra.stop()
            self.assertEqual(extra.etcd_left_after_stop, [])
        finally:
            extra.close()
        self.assertEqual(self.a.api("GET", "/_ping", version=None).body, b"OK")
        self.assertEqual(self.b.api("GET", "/secrets/c-one").status, 404)
        self.b.create_secret("b-after-c", b"b")


if __name__ == "__main__":
    unittest.main()
