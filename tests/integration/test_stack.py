"""`docker stack deploy|ls|services|ps|rm` end to end (issue 16 part 4): a compose file with two
services, two secrets (one from a file, one external), a config, a custom network and the
default one, against a real capsuled (etcd, runc, tmpfs), with each docker CLI (20.10, and 28.x
when present). Requests the CLI sends: ../shared/STACK-DEPLOY.md (measured on Docker).

  - deploy: the CLI's "Creating …" lines; both services run; the task sees the secret (by its
    hash: the canary convention), its uid/gid/mode, and the config's content and mode;
  - redeploy with the same files: "Updating service …" only, the same secret ID, and nothing
    restarts (the same task IDs);
  - redeploy with a changed config under a new `name:`: the service using it rolls to a new task
    reading the new content, the other service keeps its task;
  - redeploy with a changed secret file: refused with Docker's text, nothing changes;
  - `stack ls`, `stack services`, `stack ps` show the stack;
  - `stack rm`: no service, secret, config, network, task process or tmpfs of the stack is left;
    the external secret stays.

Run: PYTHONPATH=.. python3 -m unittest -v test_stack   (from tests/integration)
Addresses: 127.0.47.1 (own block).
"""

import hashlib
import json
import os
import re
import subprocess
import tempfile
import shutil
import unittest

import harness
from harness import busybox_image

IP = "127.0.47.1"
IMAGE = "capsule/busybox:1"
LABEL = "com.docker.stack.namespace"
# What each task prints: the hash of its secret (never the secret), the secret's and the
# config's owner and mode, and the config itself (configs are not secret).
SHOW = ('echo "pw $(sha256sum /run/secrets/db_pw | cut -c1-64)"; '
        'echo "ext $(sha256sum /run/secrets/ext | cut -c1-64)"; '
        'echo "pwstat $(stat -c "%u %g %a" /run/secrets/db_pw)"; '
        'echo "confstat $(stat -c "%u %g %a" /etc/app.conf)"; '
        'echo "conf $(cat /etc/app.conf)"; '
        'trap "exit 0" TERM; sleep 1d & wait')
WORKER = ('echo "pw $(sha256sum /run/secrets/pw | cut -c1-64)"; '
          'trap "exit 0" TERM; sleep 1d & wait')

COMPOSE = """\
version: "3.8"
services:
  app:
    image: {image}
    command: ["sh", "-c", {show}]
    secrets:
      - source: pw
        target: db_pw
        uid: "2000"
        gid: "3000"
        mode: 0400
      - ext
    configs:
      - source: conf
        target: /etc/app.conf
        mode: 0440
    networks: [back]
  worker:
    image: {image}
    command: ["sh", "-c", {worker}]
    secrets: [pw]
secrets:
  pw:
    file: ./pw.txt
  ext:
    external: true
configs:
  conf:
    file: {conf_file}
{conf_name}networks:
  back:
    driver: overlay
"""


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Stack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_docker_cli(harness.DOCKER_20)
        cls.d = harness.Daemon(IP, name="stk", extra_args=["--hostname", "stknode"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cpstk-")
        r = cls.d.docker(["import", rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}\n{cls.d.log_tail()}")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return out(r)

    def listed(self, kind, stack):
        r = self.d.api("GET", f"/{kind}",
                       query={"filters": json.dumps({"label": {f"{LABEL}={stack}": True}})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running_task(self, service):
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps(
            {"service": {service: True}, "desired-state": {"running": True}})})
        self.assertEqual(r.status, 200, r)
        return [t for t in r.json() if t["Status"]["State"] == "running"]

    def wait_one_running(self, service, not_id=None):
        box = {}

        def check():
            ts = self.running_task(service)
            if len(ts) == 1 and ts[0]["ID"] != not_id:
                box["t"] = ts[0]
                return True
            return False
        self.assertTrue(harness.wait_until(check, 90),
                        f"{service}: no (new) running task\n{self.d.log_tail()}")
        return box["t"]

    def task_log(self, task_id):
        r = self.d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        self.assertEqual(r.status, 200, r)
        return harness.demux_stream(r.body).decode(errors="replace")

    def wait_log(self, task_id, needle):
        self.assertTrue(harness.wait_until(lambda: needle in self.task_log(task_id), 30),
                        f"{task_id}: {needle!r} not in {self.task_log(task_id)!r}")
        return self.task_log(task_id)

    def runc_containers(self):
        r = subprocess.run([harness.RUNC, "--root", os.path.join(self.d.exec_root, "runc"),
                            "list", "-q"], capture_output=True)
        return r.stdout.decode().split()

    def tmpfs_mounts(self):
        with open("/proc/self/mountinfo") as f:
            return [l for l in f.read().splitlines() if self.d.exec_root in l and "tmpfs" in l]

    # ---- the session, once per CLI --------------------------------------------------------
    def test_stack_session_20(self):
        self.session(harness.DOCKER_20, "st20")

    def test_stack_session_second_cli(self):
        harness.require_docker_cli(harness.DOCKER_2)
        self.session(harness.DOCKER_2, "st2")

    def session(self, cli, st):
        d = self.d
        work = tempfile.mkdtemp(prefix="cpstk-", dir="/tmp")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        pw = b"stack-pw-" + os.urandom(12).hex().encode()
        ext = b"stack-ext-" + os.urandom(12).hex().encode()
        with open(os.path.join(work, "pw.txt"), "wb") as f:
            f.write(pw)
        with open(os.path.join(work, "app.conf"), "w") as f:
            f.write("colour=blue\n")
        with open(os.path.join(work, "app2.conf"), "w") as f:
            f.write("colour=green\n")

        def write_compose(conf_file="./app.conf", conf_name=""):
            with open(os.path.join(work, "docker-compose.yml"), "w") as f:
                f.write(COMPOSE.format(image=IMAGE, show=json.dumps(SHOW.replace("$", "$$")),
                                       worker=json.dumps(WORKER.replace("$", "$$")),
                                       conf_file=conf_file,
                                       conf_name=conf_name))

        def deploy(*extra):
            return d.docker(["stack", "deploy", "--resolve-image", "never", *extra, "-c",
                             "docker-compose.yml", st], cli=cli, cwd=work, timeout=120)

        # An external secret the stack uses by its own name.
        if d.api("GET", "/secrets/ext").status == 404:
            self.ok(d.docker(["secret", "create", "ext", "-"], input=ext))
        else:
            ext = self.ext  # made by the other CLI's session
        self.__class__.ext = ext

        # -- first deploy
        write_compose()
        text = self.ok(deploy())
        for line in (f"Creating network {st}_default", f"Creating network {st}_back",
                     f"Creating secret {st}_pw", f"Creating config {st}_conf",
                     f"Creating service {st}_app", f"Creating service {st}_worker"):
            self.assertIn(line, text)
        app = self.wait_one_running(f"{st}_app")
        worker = self.wait_one_running(f"{st}_worker")
        log = self.wait_log(app["ID"], "conf ")
        self.assertIn(f"pw {sha(pw)}", log)
        self.assertIn(f"ext {sha(ext)}", log)
        self.assertIn("pwstat 2000 3000 400", log)
        self.assertIn("confstat 0 0 440", log)
        self.assertIn("conf colour=blue", log)
        self.assertIn(f"pw {sha(pw)}", self.wait_log(worker["ID"], "pw "))
        self.assertNotIn(pw.decode(), log)
        [secret] = [s for s in self.listed("secrets", st) if s["Spec"]["Name"] == f"{st}_pw"]
        # The services are attached to their networks.
        spec = d.api("GET", f"/services/{st}_app").json()["Spec"]
        nets = {n["Id"]: n["Name"] for n in self.listed("networks", st)}
        self.assertEqual(sorted(nets.values()), [f"{st}_back", f"{st}_default"])
        self.assertEqual([nets.get(n["Target"]) for n in spec["TaskTemplate"]["Networks"]],
                         [f"{st}_back"])

        # -- the other stack commands
        ls = self.ok(d.docker(["stack", "ls"], cli=cli))
        self.assertRegex(ls, rf"(?m)^{st}\s+2\b")
        services = self.ok(d.docker(["stack", "services", st], cli=cli))
        self.assertRegex(services, rf"{st}_app\s+replicated\s+1/1\s+{re.escape(IMAGE)}")
        self.assertRegex(services, rf"{st}_worker\s+replicated\s+1/1\s+{re.escape(IMAGE)}")
        ps = self.ok(d.docker(["stack", "ps", st], cli=cli))
        self.assertRegex(ps, rf"{st}_app\.1\s+{re.escape(IMAGE)}\s+stknode\s+Running\s+Running")
        self.assertRegex(ps, rf"{st}_worker\.1\s+{re.escape(IMAGE)}\s+stknode\s+Running")

        # -- redeploy, same files: updated in place, nothing restarts
        text = self.ok(deploy())
        self.assertIn(f"Updating service {st}_app", text)
        self.assertIn(f"Updating service {st}_worker", text)
        self.assertNotIn("Creating", text)
        [again] = [s for s in self.listed("secrets", st) if s["Spec"]["Name"] == f"{st}_pw"]
        self.assertEqual(again["ID"], secret["ID"])
        self.assertFalse(harness.wait_until(
            lambda: [t["ID"] for t in self.running_task(f"{st}_app")] != [app["ID"]], 5),
            "a redeploy of the same files restarted the app task")
        self.assertEqual([t["ID"] for t in self.running_task(f"{st}_worker")], [worker["ID"]])

        # -- redeploy with a changed secret file: Docker's refusal, nothing changes
        with open(os.path.join(work, "pw.txt"), "wb") as f:
            f.write(b"changed-" + pw)
        r = deploy()
        self.assertEqual(r.returncode, 1, out(r))
        self.assertIn(f"failed to update secret {st}_pw", out(r))
        self.assertIn("only updates to Labels are allowed", out(r))
        with open(os.path.join(work, "pw.txt"), "wb") as f:
            f.write(pw)

        # -- redeploy with a changed config under a new name: app rolls, worker stays
        write_compose("./app2.conf", conf_name=f"    name: {st}_conf_v2\n")
        text = self.ok(deploy())
        self.assertIn(f"Creating config {st}_conf_v2", text)
        app2 = self.wait_one_running(f"{st}_app", not_id=app["ID"])
        self.assertIn("conf colour=green", self.wait_log(app2["ID"], "conf "))
        self.assertEqual([t["ID"] for t in self.running_task(f"{st}_worker")], [worker["ID"]])

        # -- stack rm: nothing of the stack is left
        text = self.ok(d.docker(["stack", "rm", st], cli=cli, timeout=120))
        self.assertIn(f"Removing service {st}_app", text)
        for kind in ("services", "secrets", "configs", "networks"):
            self.assertTrue(harness.wait_until(lambda: self.listed(kind, st) == [], 60),
                            f"{kind} of {st} left: {self.listed(kind, st)}")
        self.assertTrue(harness.wait_until(lambda: self.listed("tasks", st) == [], 60),
                        f"tasks of {st} left: {self.listed('tasks', st)}")
        self.assertTrue(harness.wait_until(lambda: not self.runc_containers(), 60),
                        f"task containers left: {self.runc_containers()}")
        self.assertTrue(harness.wait_until(lambda: not self.tmpfs_mounts(), 30),
                        f"tmpfs left: {self.tmpfs_mounts()}")
        self.assertEqual(d.api("GET", "/secrets/ext").status, 200)  # external: not the stack's


if __name__ == "__main__":
    unittest.main()
