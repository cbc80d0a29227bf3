"""Docker configs end to end (issue 16 part 1): real capsuled, etcd, runc, tmpfs and the docker
CLIs (20.10, and 28.x when present).

Run: PYTHONPATH=.. python3 -m unittest -v test_configs   (from tests/integration)
Addresses: 127.0.40.1 (single node). The image is Debian's busybox-static, imported by the test.
Config contents here are test values that the task prints on purpose.
"""

import base64
import json
import unittest

import harness
from harness import busybox_image

IP = "127.0.40.1"
IMAGE = "capsule/busybox:1"
CONTENT = b"listen=8080\nname=capsule\n"
SHOW = ('stat -c "STAT %u %g %a" /etc/app.conf; cat /etc/app.conf; '
        'cat /plain.conf; stat -c "PLAIN %u %g %a" /plain.conf; '
        'if echo x >> /etc/app.conf; then echo WRITABLE; else echo READONLY; fi; '
        'grep -E " /etc/app.conf | /plain.conf " /proc/mounts; '
        'trap "exit 0" TERM; sleep 1d & wait')


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


class Configs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_docker_cli(harness.DOCKER_20)
        d = cls.d = harness.Daemon(IP, name="cfg", extra_args=["--hostname", "node1"])
        cls.addClassCleanup(d.close)
        d.swarm_init()
        imported = d.docker(["import", busybox_image.class_rootfs_tar(cls, "cpc-")[1], IMAGE])
        assert imported.returncode == 0, f"docker import: {out(imported)}\n{d.log_tail()}"

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def fails(self, r, needle):
        self.assertNotEqual(r.returncode, 0, out(r))
        self.assertIn(needle, out(r))

    def service_tasks(self, service):
        """The service's tasks (by name or ID); [] once it is gone."""
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return r.json() if r.status == 200 else []

    def one_running(self, service, other_than=None, timeout=60):
        """Waits for the service's single running task (not `other_than`) and returns it."""
        def pick():
            return [t for t in self.service_tasks(service)
                    if t["Status"]["State"] == "running" and t["ID"] != other_than]
        ok = harness.wait_until(lambda: len(pick()) == 1, timeout)
        self.assertTrue(ok, json.dumps(self.service_tasks(service))[:3000] + self.d.log_tail())
        return pick()[0]

    def log_of(self, task_id, needle, timeout=30):
        """The task's log once it holds `needle`."""
        def text():
            r = self.d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
            return harness.demux_stream(r.body).decode(errors="replace") if r.status == 200 else ""
        self.assertTrue(harness.wait_until(lambda: needle in text(), timeout),
                        f"task {task_id} log lacks {needle!r}: {text()!r}")
        return text()

    def held_by_agent(self):
        """IDs of the secrets and configs this node's agent holds."""
        return self.d.api("GET", "/capsule/agent", version=None).json()["Secrets"]

    # ---- objects: create, ls, inspect, update, rm ----------------------------------------------
    def test_config_objects_with_each_cli(self):
        d = self.d
        for cli in harness.DOCKER_CLIS:
            tag = harness.cli_label(cli)
            name = f"obj{tag}.conf"
            cid = self.ok(d.docker(["config", "create", "-l", "team=a", name, "-"],
                                   input=CONTENT, cli=cli)).strip()
            self.assertRegex(cid, r"^[a-z0-9]{25}$")
            ls = self.ok(d.docker(["config", "ls"], cli=cli))
            self.assertRegex(ls, rf"{cid}\s+{name}\s+")
            quiet = self.ok(d.docker(["config", "ls", "-q", "--filter", f"name=obj{tag}"],
                                     cli=cli))
            self.assertEqual(quiet.split(), [cid])
            [c] = json.loads(self.ok(d.docker(["config", "inspect", name], cli=cli)))
            self.assertEqual(c["ID"], cid)
            self.assertEqual(c["Spec"]["Labels"], {"team": "a"})
            self.assertEqual(base64.b64decode(c["Spec"]["Data"]), CONTENT)
            pretty = self.ok(d.docker(["config", "inspect", "--pretty", name], cli=cli))
            self.assertRegex(pretty, rf"Name:\s+{name}\n")
            self.assertIn("Data:\n" + CONTENT.decode(), pretty)
            # An existing name, in another case.
            self.fails(d.docker(["config", "create", name.upper(), "-"], input=b"x", cli=cli),
                       "already exists")
            self.ok(d.docker(["config", "rm", name], cli=cli))
            # 20.10: "Error: No such config: <n>"; 28.x shows the daemon's 404 text.
            gone = d.docker(["config", "inspect", name], cli=cli)
            self.assertNotEqual(gone.returncode, 0, out(gone))
            self.assertRegex(out(gone), rf"No such config: {name}|config {name} not found")

    def test_api_update_limits_and_filters(self):
        d = self.d
        body = {"Name": "upd.conf", "Data": base64.b64encode(b"v1").decode()}
        r = d.api("POST", "/configs/create", body=body)
        self.assertEqual(r.status, 201, r)
        cid = r.json()["ID"]
        v = d.api("GET", f"/configs/{cid}").json()["Version"]["Index"]
        # Labels only; identical data accepted, changed data refused with Docker's text.
        r = d.api("POST", f"/configs/{cid}/update", query={"version": str(v)},
                  body={**body, "Labels": {"x": "1"}})
        self.assertEqual(r.status, 200, r)
        after = d.api("GET", f"/configs/{cid}").json()
        self.assertEqual(after["Spec"]["Labels"], {"x": "1"})
        r = d.api("POST", f"/configs/{cid}/update",
                  query={"version": str(after["Version"]["Index"])},
                  body={"Name": "upd.conf", "Data": base64.b64encode(b"v2").decode()})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()["message"], "rpc error: code = InvalidArgument desc = only "
                         "updates to Labels are allowed")
        # Filters: names is refused for configs (not for secrets).
        r = d.api("GET", "/configs", query={"filters": json.dumps({"names": ["upd.conf"]})})
        self.assertEqual(r.status, 400, r)
        r = d.api("GET", "/configs", query={"filters": json.dumps({"label": ["x=1"]})})
        self.assertEqual([c["ID"] for c in r.json()], [cid])
        # 1000 KiB limit (a secret's is 500 KiB).
        big = base64.b64encode(b"x" * 1024000).decode()
        r = d.api("POST", "/configs/create", body={"Name": "big", "Data": big})
        self.assertEqual(r.status, 400, r)
        self.assertIn("config data must be larger than 0 and less than 1024000 bytes",
                      r.json()["message"])
        r = d.api("POST", "/configs/create",
                  body={"Name": "big", "Data": base64.b64encode(b"x" * 1023999).decode()})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(d.api("DELETE", "/configs/big").status, 204)
        self.assertEqual(d.api("DELETE", f"/configs/{cid}").status, 204)

    # ---- a service with configs --------------------------------------------------------------
    def test_service_with_config(self):
        d = self.d
        self.ok(d.docker(["config", "create", "app.conf", "-"], input=CONTENT))
        self.ok(d.docker(["config", "create", "plain.conf", "-"], input=b"plain\n"))
        r = d.docker(["service", "create", "--name", "web",
                      "--config", "source=app.conf,target=/etc/app.conf,mode=0440,uid=2000,gid=3000",
                      "--config", "plain.conf", IMAGE, "sh", "-c", SHOW],
                     cli=harness.OTHER_CLI, timeout=120)
        self.ok(r)
        task = self.one_running("web")
        log = self.log_of(task["ID"], "READONLY")
        self.assertIn("STAT 2000 3000 440", log)
        self.assertIn(CONTENT.decode(), log)
        self.assertIn("plain", log)
        self.assertIn("PLAIN 0 0 444", log)  # defaults: uid 0, gid 0, mode 0444, target /<name>
        self.assertNotIn("WRITABLE", log)
        # Mounted from the task's tmpfs, read-only.
        self.assertRegex(log, r"tmpfs /etc/app.conf tmpfs ro,nosuid,nodev,noexec")
        self.assertRegex(log, r"tmpfs /plain.conf tmpfs ro,")
        # Service inspect shows the references as Docker does.
        for cli in harness.DOCKER_CLIS:
            [svc] = json.loads(self.ok(d.docker(["service", "inspect", "web"], cli=cli)))
            refs = svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"]
            by_name = {ref["ConfigName"]: ref for ref in refs}
            self.assertEqual(by_name["app.conf"]["File"],
                             {"Name": "/etc/app.conf", "UID": "2000", "GID": "3000", "Mode": 288})
            self.assertEqual(by_name["plain.conf"]["File"],
                             {"Name": "plain.conf", "UID": "0", "GID": "0", "Mode": 292})
        # Delivered to this node while the task needs it.
        app_id = d.api("GET", "/configs/app.conf").json()["ID"]
        self.assertIn(app_id, self.held_by_agent())
        # In use: Docker's 400.
        r = d.docker(["config", "rm", "app.conf"])
        self.fails(r, "config 'app.conf' is in use by the following service: web")
        # --config-rm / --config-add: the task is replaced and reads the new config.
        self.ok(d.docker(["config", "create", "app2.conf", "-"], input=b"second\n"))
        self.ok(d.docker(["service", "update", "--config-rm", "app.conf", "--config-add",
                          "source=app2.conf,target=/etc/app.conf", "web"], timeout=120))
        new = self.one_running("web", other_than=task["ID"])
        self.assertIn("STAT 0 0 444", self.log_of(new["ID"], "second"))
        self.assertTrue(harness.wait_until(lambda: app_id not in self.held_by_agent(), 30),
                        "the removed config is still held by the agent")
        self.ok(d.docker(["config", "rm", "app.conf"]))
        self.ok(d.docker(["service", "rm", "web"]))
        self.assertTrue(harness.wait_until(lambda: not self.service_tasks(task["ServiceID"]), 60),
                        "the service's tasks are still listed")
        self.ok(d.docker(["config", "rm", "app2.conf", "plain.conf"]))

    def test_unknown_config_refused(self):
        r = self.d.docker(["service", "create", "-d", "--name", "bad", "--config", "nosuch",
                           IMAGE, "true"])
        self.fails(r, "config not found: nosuch")
        self.assertEqual(self.d.api("GET", "/services").json(), [])


if __name__ == "__main__":
    unittest.main()
