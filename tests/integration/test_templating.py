"""Templated secrets (issue 16 part 2) end to end: `docker secret create --template-driver
golang`, a service under runc whose task reads the rendered files (and sees its templated Env
value and Hostname), a bad template failing the task with Docker's message, and `secret "x"`
refused for a secret the task does not reference.

Run: PYTHONPATH=.. python3 -m unittest -v test_templating   (from tests/integration)
Addresses: 127.0.41.1 (single node). The image is Debian's busybox-static, imported by the test.
The plain template's output is a test value the task prints; the part that embeds a secret is a
canary the task only hashes (the canary convention: the value itself never reaches a log).
"""

import hashlib
import json
import os
import unittest

import harness
from harness import busybox_image

IP = "127.0.41.1"
IMAGE = "capsule/busybox:1"
SLEEP = 'trap "exit 0" TERM; sleep 1d & wait'


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


class Templating(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="tpl", extra_args=["--hostname", "node1"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        _, cls.rootfs = busybox_image.class_rootfs_tar(cls, "cpt-")
        r = cls.d.docker(["import", cls.rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}\n{cls.d.log_tail()}")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def tasks(self, service):
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running(self, service):
        return [t for t in self.tasks(service) if t["Status"]["State"] == "running"]

    def wait_running(self, service, n, timeout=90):
        self.assertTrue(harness.wait_until(lambda: len(self.running(service)) == n, timeout),
                        f"{service}: {len(self.running(service))} running, want {n}\n"
                        + json.dumps(self.tasks(service), indent=1)[:3000] + self.d.log_tail())
        return self.running(service)

    def task_log(self, task_id):
        r = self.d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        self.assertEqual(r.status, 200, r)
        return harness.demux_stream(r.body).decode(errors="replace")

    def wait_log(self, task_id, needle, timeout=30):
        ok = harness.wait_until(lambda: needle in self.task_log(task_id), timeout)
        self.assertTrue(ok, f"task {task_id} log lacks {needle!r}: {self.task_log(task_id)!r}")

    def create_template(self, name, text, cli=harness.DOCKER_20):
        self.ok(self.d.docker(["secret", "create", "--template-driver", "golang", name, "-"],
                              input=text.encode(), cli=cli))
        return self.d.api("GET", f"/secrets/{name}").json()["ID"]

    def failed_task(self, service, timeout=60):
        found = []

        def failed():
            found[:] = [t for t in self.tasks(service) if t["Status"]["State"] == "failed"]
            return bool(found)
        self.assertTrue(harness.wait_until(failed, timeout),
                        json.dumps(self.tasks(service), indent=1)[:3000] + self.d.log_tail())
        return found[0]

    def remove_service(self, name):
        self.ok(self.d.docker(["service", "rm", name]))

        def gone():
            r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [name]})})
            return r.status == 404 or (r.status == 200 and r.json() == [])
        self.assertTrue(harness.wait_until(gone, 60), f"tasks of {name} still listed")

    # ---- tests -----------------------------------------------------------------------------
    def test_templated_secrets_render_per_task(self):
        d = self.d
        canary = b"CANARY-TPL-" + os.urandom(12).hex().encode()
        d.create_secret("tpl-pw", canary)
        self.create_template(
            "tpl-plain", '{{ .Service.Name }}-{{ .Task.Slot }} X={{ env "X" }} '
            'node={{ .Node.ID }} task={{ .Task.Name }}')
        self.create_template("tpl-secret", 'pw={{ secret "pw" }};', cli=harness.OTHER_CLI)
        # Docker keeps the driver on the secret.
        spec = d.api("GET", "/secrets/tpl-plain").json()["Spec"]
        self.assertEqual(spec.get("Templating"), {"Name": "golang"}, spec)
        self.ok(d.docker(["service", "create", "-d", "--name", "tplsvc", "--replicas", "2",
                          "-e", "X=hello-x", "-e", "WHO={{.Service.Name}}.{{.Task.Slot}}",
                          "--hostname", "{{.Node.Hostname}}-{{.Task.Slot}}",
                          "--secret", "source=tpl-plain,target=rendered",
                          "--secret", "source=tpl-secret,target=withpw",
                          "--secret", "source=tpl-pw,target=pw", IMAGE, "sh", "-c",
                          "echo \"[$(cat /run/secrets/rendered)]\"; sha256sum /run/secrets/withpw; "
                          "echo \"who=$WHO host=$(hostname)\"; "
                          "cat /run/secrets/pw | sha256sum; " + SLEEP], timeout=120))
        tasks = self.wait_running("tplsvc", 2)
        node_id = d.api("GET", "/info").json()["Swarm"]["NodeID"]
        want_digest = hashlib.sha256(b"pw=" + canary + b";").hexdigest()
        raw_digest = hashlib.sha256(canary).hexdigest()
        for t in tasks:
            slot = t["Slot"]
            name = f"tplsvc.{slot}.{t['ID']}"
            self.wait_log(t["ID"], f"[tplsvc-{slot} X=hello-x node={node_id} task={name}]")
            self.wait_log(t["ID"], f"{want_digest}  /run/secrets/withpw")
            # Service-spec templating: Env values and Hostname, with the node's hostname.
            self.wait_log(t["ID"], f"who=tplsvc.{slot} host=node1-{slot}")
            self.wait_log(t["ID"], raw_digest)  # the referenced secret itself is untouched
            self.assertNotIn(canary.decode(), self.task_log(t["ID"]))
        self.assertNotIn(canary, d.log_bytes())
        for path in ("/secrets/tpl-secret", "/secrets/tpl-pw", "/services/tplsvc", "/tasks"):
            self.assertNotIn(canary, d.api("GET", path).body)
        self.remove_service("tplsvc")

    def test_bad_template_fails_the_task_with_dockers_message(self):
        d = self.d
        sid = self.create_template("tpl-bad", "a {{ .Nope }}")
        self.ok(d.docker(["service", "create", "-d", "--name", "badsvc",
                          "--restart-condition", "none", "--secret", "tpl-bad", IMAGE,
                          "sh", "-c", SLEEP]))
        t = self.failed_task("badsvc")
        self.assertEqual(
            t["Status"]["Err"],
            "starting container failed: unable to get secret from secret store: failed to "
            f"expand templated secret {sid}: template: expansion:1:5: executing \"expansion\" "
            "at <.Nope>: can't evaluate field Nope in type *template.PayloadContext")
        ps = self.ok(d.docker(["service", "ps", "--no-trunc", "badsvc"]))
        self.assertIn("failed to expand templated secret", ps)
        self.remove_service("badsvc")

    def test_secret_function_refuses_a_secret_the_task_does_not_reference(self):
        d = self.d
        other = b"CANARY-OTHER-" + os.urandom(12).hex().encode()
        d.create_secret("tpl-other", other)
        # Another service on this node holds tpl-other, so the node has its data.
        self.ok(d.docker(["service", "create", "-d", "--name", "holder", "--secret",
                          "source=tpl-other,target=other", IMAGE, "sh", "-c", SLEEP]))
        self.wait_running("holder", 1)
        sid = self.create_template("tpl-steal", '{{ secret "other" }}')
        self.ok(d.docker(["service", "create", "-d", "--name", "thief",
                          "--restart-condition", "none", "--secret", "tpl-steal", IMAGE,
                          "sh", "-c", "cat /run/secrets/tpl-steal | sha256sum; " + SLEEP]))
        t = self.failed_task("thief")
        self.assertEqual(
            t["Status"]["Err"],
            "starting container failed: unable to get secret from secret store: failed to "
            f"expand templated secret {sid}: template: expansion:1:3: executing \"expansion\" "
            "at <secret \"other\">: error calling secret: secret target other not found")
        # Control: the same template in a service that references tpl-other as "other" expands.
        self.ok(d.docker(["service", "create", "-d", "--name", "owner",
                          "--secret", "source=tpl-other,target=other", "--secret", "tpl-steal",
                          IMAGE, "sh", "-c", "cat /run/secrets/tpl-steal | sha256sum; " + SLEEP]))
        [o] = self.wait_running("owner", 1)
        self.wait_log(o["ID"], hashlib.sha256(other).hexdigest())
        self.assertNotIn(other, d.log_bytes())
        for name in ("thief", "owner", "holder"):
            self.remove_service(name)


if __name__ == "__main__":
    unittest.main()
