"""Networks as Docker objects (issue 16 part 3) with the docker CLIs and the capsule CLI:
create/ls/inspect/rm, the in-use refusal, the predefined networks, and a service on a custom
network whose task shows its address from the network's pool (NetworksAttachments) and whose
Endpoint shows its VIP. Connectivity is not part of this: a task keeps its own network
namespace with only `lo`, which the last test checks from inside the task.

Run: PYTHONPATH=.. python3 -m unittest -v test_networks   (from tests/integration)
Addresses: 127.0.42.x (see tests/harness).
"""

import ipaddress
import json
import re
import unittest

import harness
from harness import busybox_image

IMAGE = "capsule/busybox:1"
ID_RE = r"[0-9a-z]{25}"


def out(r):
    return f"rc={r.returncode}\nstdout={r.stdout!r}\nstderr={r.stderr!r}"


class NetworksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon("127.0.42.1", name="n", extra_args=["--hostname", "node1"])
        cls.addClassCleanup(cls.d.close)
        # A custom default pool, as `docker swarm init --default-addr-pool 10.77.0.0/16
        # --default-addr-pool-mask-length 24` sends it.
        r = cls.d.api("POST", "/swarm/init", {"ListenAddr": "127.0.42.1:2377",
                                              "AdvertiseAddr": "127.0.42.1", "Spec": {},
                                              "DefaultAddrPool": ["10.77.0.0/16"],
                                              "SubnetSize": 24})
        if r.status != 200:
            raise AssertionError(f"swarm init: {r!r}\n{cls.d.log_tail()}")
        _, cls.rootfs = busybox_image.class_rootfs_tar(cls, "cnw-")
        r = cls.d.docker(["import", cls.rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}\n{cls.d.log_tail()}")

    def dk(self, *args, cli=harness.DOCKER_20, ok=True):
        r = self.d.docker(list(args), cli=cli)
        if ok:
            self.assertEqual(r.returncode, 0, f"docker {args}: {out(r)}")
        return r

    def test_swarm_shows_its_address_pool_and_ingress(self):
        swarm = self.d.api("GET", "/swarm").json()
        self.assertEqual(swarm["DefaultAddrPool"], ["10.77.0.0/16"])
        self.assertEqual(swarm["SubnetSize"], 24)
        ingress = self.d.api("GET", "/networks/ingress").json()
        self.assertTrue(ingress["Ingress"])
        self.assertEqual(ingress["IPAM"]["Config"], [{"Subnet": "10.77.0.0/24",
                                                      "Gateway": "10.77.0.1"}])

    def test_create_ls_inspect_rm_with_both_clis(self):
        for i, cli in enumerate(harness.DOCKER_CLIS):
            with self.subTest(cli=harness.cli_label(cli)):
                name = f"front{i}"
                r = self.dk("network", "create", "-d", "overlay", "--label", "tier=web",
                            "--attachable", name, cli=cli)
                self.assertRegex(r.stdout.decode(), rf"^{ID_RE}\n$")
                nid = r.stdout.decode().strip()
                r = self.dk("network", "ls", cli=cli)
                lines = r.stdout.decode().splitlines()
                self.assertRegex(lines[0], r"^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\s*$")
                rows = {re.split(r"\s+", ln.strip())[1]: re.split(r"\s+", ln.strip())
                        for ln in lines[1:]}
                self.assertEqual(rows[name], [nid[:12], name, "overlay", "swarm"])
                self.assertEqual(rows["ingress"][2:], ["overlay", "swarm"])
                self.assertEqual(rows["host"][2:], ["host", "local"])
                self.assertEqual(rows["none"][2:], ["null", "local"])
                r = self.dk("network", "ls", "-q", "--filter", "label=tier=web",
                            "--filter", f"name={name}", cli=cli)
                self.assertEqual(r.stdout.decode(), nid[:12] + "\n")
                r = self.dk("network", "inspect", name, cli=cli)
                [net] = json.loads(r.stdout)
                self.assertEqual(net["Id"], nid)
                self.assertEqual(net["Driver"], "overlay")
                self.assertTrue(net["Attachable"])
                self.assertEqual(net["Labels"], {"tier": "web"})
                subnet = ipaddress.ip_network(net["IPAM"]["Config"][0]["Subnet"])
                self.assertTrue(subnet.subnet_of(ipaddress.ip_network("10.77.0.0/16")))
                self.assertEqual(subnet.prefixlen, 24)
                r = self.dk("network", "inspect", "nosuch", cli=cli, ok=False)
                self.assertEqual(r.returncode, 1)
                # 20.10 prints "Error: No such network: nosuch"; 28.x the daemon's message
                # (as it does against Docker).
                self.assertRegex(r.stderr.decode(),
                                 r"No such network: nosuch|network nosuch not found")
                r = self.dk("network", "rm", name, cli=cli)
                self.assertEqual(r.stdout.decode(), name + "\n")
                self.assertEqual(self.d.api("GET", f"/networks/{nid}").status, 404)

    def test_overlapping_subnet_is_refused(self):
        self.dk("network", "create", "-d", "overlay", "--subnet", "10.88.0.0/16", "wide")
        self.addCleanup(self.d.docker, ["network", "rm", "wide"])
        r = self.dk("network", "create", "-d", "overlay", "--subnet", "10.88.5.0/24", "inner",
                    ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("overlaps with subnet 10.88.0.0/16 of network wide", r.stderr.decode())

    def test_predefined_networks_cannot_be_removed(self):
        r = self.dk("network", "rm", "host", ok=False)
        self.assertIn("host is a pre-defined network and cannot be removed", r.stderr.decode())

    def test_capsule_cli(self):
        r = self.d.capsule(["network", "create", "--subnet", "10.99.0.0/24", "--gateway",
                            "10.99.0.254", "cnet"])
        self.assertEqual(r.returncode, 0, out(r))
        nid = r.stdout.decode().strip()
        r = self.d.capsule(["network", "ls", "--filter", "driver=overlay"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertRegex(r.stdout.decode(), rf"{nid[:12]}\s+cnet\s+overlay\s+swarm")
        r = self.d.capsule(["network", "inspect", "cnet"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(json.loads(r.stdout)[0]["IPAM"]["Config"],
                         [{"Subnet": "10.99.0.0/24", "Gateway": "10.99.0.254"}])
        r = self.d.capsule(["network", "rm", "cnet"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(r.stdout.decode(), "cnet\n")

    def test_service_on_a_custom_network(self):
        r = self.dk("network", "create", "-d", "overlay", "--subnet", "10.66.0.0/24", "backend")
        nid = r.stdout.decode().strip()
        r = self.dk("service", "create", "--detach", "--no-resolve-image", "--name", "web",
                    "--replicas", "2", "--network", "name=backend,alias=api", IMAGE,
                    "sh", "-c", "cat /proc/net/dev; sleep 1d")
        sid = r.stdout.decode().strip()

        def tasks():
            r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": ["web"]})})
            return [t for t in r.json() if t["DesiredState"] == "running"]

        def attached():
            ts = tasks()
            return ts if len(ts) == 2 and all(t.get("NetworksAttachments") for t in ts) else None

        ts = harness.wait_until(attached, 30)
        self.assertTrue(ts, f"tasks without addresses: {tasks()}\n{self.d.log_tail()}")
        addrs = set()
        for t in ts:
            [att] = t["NetworksAttachments"]
            self.assertEqual(att["Network"]["ID"], nid)
            self.assertEqual(att["Network"]["Spec"]["Name"], "backend")
            self.assertEqual(att["Network"]["IPAMOptions"]["Configs"][0]["Subnet"],
                             "10.66.0.0/24")
            [addr] = att["Addresses"]
            self.assertTrue(addr.endswith("/24"), addr)
            self.assertIn(ipaddress.ip_interface(addr).ip, ipaddress.ip_network("10.66.0.0/24"))
            addrs.add(addr)
            self.assertEqual(t["Spec"]["Networks"], [{"Target": nid, "Aliases": ["api"]}])
        # The VIP is written by the same orchestrator pass, after the tasks' creation.
        svc = harness.wait_until(
            lambda: (lambda s: s if "VirtualIPs" in s["Endpoint"] else None)(
                self.d.api("GET", f"/services/{sid}").json()), 30)
        self.assertTrue(svc, self.d.log_tail())
        self.assertEqual(svc["Spec"]["TaskTemplate"]["Networks"],
                         [{"Target": nid, "Aliases": ["api"]}])
        vips = svc["Endpoint"]["VirtualIPs"]
        self.assertEqual(vips, [{"NetworkID": nid, "Addr": "10.66.0.2/24"}])
        addrs.add(vips[0]["Addr"])
        self.assertEqual(len(addrs), 3, "VIP and task addresses must be distinct")
        self.assertNotIn("10.66.0.1/24", addrs)  # the gateway

        # In use: Docker's refusal, with both CLIs' output of the daemon's message.
        r = self.dk("network", "rm", "backend", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"rpc error: code = FailedPrecondition desc = network {nid} is in use by "
                      f"service {sid}", r.stderr.decode())

        # No connectivity: the task's namespace has only lo.
        def logs():
            r = self.d.docker(["service", "logs", "--raw", "web"])
            return r.stdout.decode() if "lo:" in r.stdout.decode() else None
        text = harness.wait_until(logs, 30)
        self.assertTrue(text, f"no task output\n{self.d.log_tail()}")
        if text:
            ifaces = {ln.split(":")[0].strip() for ln in text.splitlines() if ":" in ln
                      and "|" not in ln and "Inter" not in ln and "face" not in ln}
            self.assertEqual(ifaces, {"lo"}, text)

        self.dk("service", "rm", "web")
        self.dk("network", "rm", "backend")


if __name__ == "__main__":
    unittest.main()
