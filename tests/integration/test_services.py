"""Services and tasks end to end: real capsuled, etcd, runc, tmpfs and the docker CLIs
(20.10, and 28.x when present).

Run: PYTHONPATH=.. python3 -m unittest -v test_services   (from tests/integration)
Addresses: 127.0.16.1 (single node). The image is Debian's busybox-static, imported by the test.
Secrets used here are test values printed by the task on purpose (the issue's session); leak
checks use a canary whose task prints only a hash.
"""

import hashlib
import json
import os
import re
import time
import unittest

import harness
from harness import busybox_image

IP = "127.0.16.1"
IMAGE = "capsule/busybox:1"
SHOW = ('stat -c "%u %g %a" /run/secrets/password; cat /run/secrets/password; echo; '
        'grep /run/secrets /proc/mounts; trap "exit 0" TERM; sleep 1d & wait')


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return f.read()


class Services(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="s", extra_args=["--hostname", "node1"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        _, cls.rootfs = busybox_image.class_rootfs_tar(cls, "cps-")
        r = cls.d.docker(["import", cls.rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}\n{cls.d.log_tail()}")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def tasks(self, service, desired=None):
        f = {"service": [service]}
        if desired:
            f["desired-state"] = [desired]
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps(f)})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running(self, service):
        return [t for t in self.tasks(service) if t["Status"]["State"] == "running"]

    def wait_running(self, service, n, timeout=60):
        self.assertTrue(harness.wait_until(lambda: len(self.running(service)) == n, timeout),
                        f"{service}: {len(self.running(service))} running, want {n}\n"
                        + json.dumps(self.tasks(service), indent=1)[:3000] + self.d.log_tail())
        return self.running(service)

    def task_log(self, task_id):
        r = self.d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        self.assertEqual(r.status, 200, r)
        return demux(r.body)

    def wait_log(self, task_id, needle, timeout=30):
        ok = harness.wait_until(lambda: needle in self.task_log(task_id), timeout)
        self.assertTrue(ok, f"task {task_id} log lacks {needle!r}: {self.task_log(task_id)!r}")

    def secret_mounts(self):
        return [l for l in host_mounts().splitlines() if self.d.exec_root in l]

    def remove_service(self, name):
        """docker service rm, then waits until the service's tasks are gone from the API."""
        sid = self.d.api("GET", f"/services/{name}").json()["ID"]
        self.ok(self.d.docker(["service", "rm", name]))
        self.wait_tasks_gone(sid)

    def wait_tasks_gone(self, service_id):
        def gone():
            r = self.d.api("GET", "/tasks",
                           query={"filters": json.dumps({"service": [service_id]})})
            return r.status == 404 or (r.status == 200 and r.json() == [])
        self.assertTrue(harness.wait_until(gone, 60), f"tasks of {service_id} still listed")

    # ---- the session -----------------------------------------------------------------
    def test_session(self):
        d = self.d
        self.ok(d.docker(["secret", "create", "pw", "-"], input=b"s3cr3t"))
        r = d.docker(["service", "create", "--name", "app", "--secret",
                      "source=pw,target=password,uid=2000,gid=3000,mode=0400", IMAGE,
                      "sh", "-c", SHOW], cli=harness.OTHER_CLI, timeout=120)
        text = self.ok(r) + r.stderr.decode()
        self.assertIn("converged", text)
        [task] = self.wait_running("app", 1)
        self.wait_log(task["ID"], "s3cr3t")
        log = self.task_log(task["ID"])
        self.assertIn("2000 3000 400", log)
        self.assertRegex(log, r"tmpfs /run/secrets/password tmpfs ro,nosuid,nodev,noexec")
        # docker service ps / logs with each CLI
        for cli in harness.DOCKER_CLIS:
            ps = self.ok(d.docker(["service", "ps", "app"], cli=cli))
            self.assertRegex(ps, r"app\.1\s+capsule/busybox:1\s+node1\s+Running\s+Running")
            logs = self.ok(d.docker(["service", "logs", "app"], cli=cli))
            self.assertIn("2000 3000 400", logs)
            self.assertIn("s3cr3t", logs)
            self.assertRegex(logs, r"app\.1\.\w+@node1\s+\| s3cr3t")
        # The host sees the task's own tmpfs (under the exec root), never /run/secrets.
        self.assertNotIn(" /run/secrets", host_mounts())
        self.assertEqual(len(self.secret_mounts_of(task["ID"])), 1, self.secret_mounts())
        # In use: the exact 400, nothing changed.
        r = d.docker(["secret", "rm", "pw"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is in use by the following service: app", out(r))
        # Replace the secret: the task is replaced, the new one reads the new value.
        self.ok(d.docker(["secret", "create", "pw2", "-"], input=b"n3w"))
        self.ok(d.docker(["service", "update", "--secret-rm", "pw", "--secret-add",
                          "source=pw2,target=password", "app"], cli=harness.OTHER_CLI,
                         timeout=120))
        [new] = self.wait_running("app", 1)
        self.assertNotEqual(new["ID"], task["ID"])
        self.wait_log(new["ID"], "n3w")
        self.assertIn("0 0 444", self.task_log(new["ID"]))
        self.assertTrue(harness.wait_until(lambda: not self.secret_mounts_of(task["ID"]), 30),
                        "the replaced task's tmpfs is still mounted")
        self.ok(d.docker(["secret", "rm", "pw"]))
        # Scale, then remove.
        self.ok(d.docker(["service", "scale", "app=3"], timeout=120))
        tasks = self.wait_running("app", 3)
        self.assertEqual(sorted(t["Slot"] for t in tasks), [1, 2, 3])
        ls = self.ok(d.docker(["service", "ls"], cli=harness.DOCKER_20))
        self.assertRegex(ls, r"app\s+replicated\s+3/3\s+capsule/busybox:1")
        app_tasks = {t["ID"] for t in self.tasks("app")}
        pw2 = d.api("GET", "/secrets/pw2").json()["ID"]
        self.ok(d.docker(["service", "rm", "app"]))
        mine = lambda: [m for m in self.secret_mounts() if any(i in m for i in app_tasks)]
        self.assertTrue(harness.wait_until(lambda: not mine(), 30),
                        f"mounts left after service rm: {mine()}")
        self.assertTrue(harness.wait_until(
            lambda: not app_tasks & set(self.agent()["Tasks"]), 30), self.agent())
        self.assertNotIn(pw2, self.agent()["Secrets"])
        self.ok(d.docker(["secret", "rm", "pw2"]))

    def secret_mounts_of(self, task_id):
        return [l for l in self.secret_mounts() if task_id in l and "tmpfs" in l]

    def agent(self):
        r = self.d.api("GET", "/capsule/agent", version=None)
        self.assertEqual(r.status, 200, r)
        return r.json()

    # ---- more shapes -------------------------------------------------------------------------
    def test_absolute_target_and_two_secrets(self):
        d = self.d
        a = d.create_secret("two-a", b"alpha")
        b = d.create_secret("two-b", b"bravo")
        cmd = ('cat /etc/app/a.txt; echo; stat -c "%u %g %a" /etc/app/a.txt; '
               'cat /run/secrets/two-b; echo; ls /run/secrets; sleep 1d')
        self.ok(d.docker(["service", "create", "-d", "--name", "two", "--secret",
                          "source=two-a,target=/etc/app/a.txt,mode=0440,uid=2000",
                          "--secret", "two-b", IMAGE, "sh", "-c", cmd]))
        [t] = self.wait_running("two", 1)
        self.wait_log(t["ID"], "bravo")
        log = self.task_log(t["ID"])
        self.assertIn("alpha", log)
        self.assertIn("2000 0 440", log)
        self.remove_service("two")
        for s in (a, b):
            self.assertTrue(harness.wait_until(
                lambda s=s: d.api("DELETE", f"/secrets/{s}").status == 204, 30))

    def test_bad_targets_rejected(self):
        d = self.d
        d.create_secret("tgt", b"x")
        for target, needle in (("../escape", ".."), ("a/../b", ".."), ("a//b", "")):
            r = d.docker(["service", "create", "-d", "--name", "bad", "--secret",
                          f"source=tgt,target={target}", IMAGE, "true"])
            self.assertNotEqual(r.returncode, 0, f"{target}: {out(r)}")
            self.assertIn(needle, out(r))
        self.assertEqual(d.api("GET", "/services").json(), [])
        r = d.docker(["service", "create", "-d", "--name", "bad", "--secret", "nosuch",
                      IMAGE, "true"])
        self.assertIn("secret not found: nosuch", out(r))

    def test_restart_policy(self):
        d = self.d
        self.ok(d.docker(["service", "create", "-d", "--name", "flaky", "--restart-condition",
                          "on-failure", "--restart-delay", "100ms", "--restart-max-attempts",
                          "2", IMAGE, "sh", "-c", "exit 3"]))
        # 1 try + 2 restarts, then nothing more.
        self.assertTrue(harness.wait_until(lambda: len(self.tasks("flaky")) == 3 and all(
            t["Status"]["State"] == "failed" for t in self.tasks("flaky")), 60),
            json.dumps(self.tasks("flaky"), indent=1)[:2000])
        time.sleep(1.5)
        tasks = self.tasks("flaky")
        self.assertEqual(len(tasks), 3)
        self.assertIn("task: non-zero exit (3)", tasks[0]["Status"].get("Err", ""))
        self.remove_service("flaky")
        self.ok(d.docker(["service", "create", "-d", "--name", "once", "--restart-condition",
                          "none", IMAGE, "true"]))
        self.assertTrue(harness.wait_until(lambda: [t["Status"]["State"] for t in
                                                    self.tasks("once")] == ["complete"], 60))
        time.sleep(1)
        self.assertEqual(len(self.tasks("once")), 1)
        self.remove_service("once")

    def test_missing_image_rejected(self):
        d = self.d
        self.ok(d.docker(["service", "create", "-d", "--no-resolve-image", "--name", "noimg",
                          "capsule/absent:1", "true"]))
        self.assertTrue(harness.wait_until(lambda: any(
            "No such image: capsule/absent:1" in t["Status"].get("Err", "")
            for t in self.tasks("noimg")), 60), json.dumps(self.tasks("noimg"))[:2000])
        self.remove_service("noimg")

    def test_canary_stays_out_of_reads_env_and_disk(self):
        d = self.d
        value = b"CANARY" + os.urandom(12).hex().encode()
        digest = hashlib.sha256(value).hexdigest()
        d.create_secret("canary", value)
        self.ok(d.docker(["service", "create", "-d", "--name", "canary", "--secret", "canary",
                          "-e", "X=1", IMAGE, "sh", "-c",
                          "sha256sum /run/secrets/canary; sleep 1d"]))
        [t] = self.wait_running("canary", 1)
        self.wait_log(t["ID"], digest)
        for path in ("/services/canary", f"/tasks/{t['ID']}", "/tasks", "/services"):
            self.assertNotIn(value, d.api("GET", path).body)
        pid = t["Status"]["ContainerStatus"]["PID"]
        with open(f"/proc/{pid}/environ", "rb") as f:
            self.assertNotIn(value, f.read())
        self.assertNotIn(value, d.log_bytes())
        own = f"/secrets/{t['ID']}"  # the task's own tmpfs is the one place it may be
        for root in (d.data_root, d.exec_root):
            for dirpath, _, files in os.walk(root):
                if own in dirpath or "/rootfs" in dirpath:
                    continue
                for n in files:
                    p = os.path.join(dirpath, n)
                    try:
                        with open(p, "rb") as f:
                            self.assertNotIn(value, f.read(), p)
                    except (OSError, PermissionError):
                        pass
        self.remove_service("canary")

    def test_restart_readopts_running_task_and_logs_follow(self):
        d = self.d
        d.create_secret("keep", b"kept-value")
        self.ok(d.docker(["service", "create", "-d", "--name", "keep", "--secret", "keep", IMAGE,
                          "sh", "-c", 'trap "exit 0" TERM; cat /run/secrets/keep; echo; '
                          'while true; do echo tick; sleep 0.2; done']))
        [t] = self.wait_running("keep", 1)
        self.wait_log(t["ID"], "kept-value")
        pid = t["Status"]["ContainerStatus"]["PID"]
        mounts = self.secret_mounts_of(t["ID"])
        self.assertEqual(len(mounts), 1, self.secret_mounts())
        d.restart()  # SIGTERM capsuled, start it again: the task keeps running, re-adopted
        self.assertTrue(harness.pid_alive(pid), "the task died with capsuled")
        self.assertTrue(harness.wait_until(
            lambda: [x["ID"] for x in self.running("keep")] == [t["ID"]], 30),
            json.dumps(self.tasks("keep"), indent=1)[:2000])
        self.assertEqual(self.secret_mounts_of(t["ID"]), mounts)
        # Only this task is left on the node once the restarted agent has settled (a task of an
        # earlier test may still have been on its way out when capsuled stopped).
        self.assertTrue(harness.wait_until(lambda: self.agent()["Tasks"] == [t["ID"]], 30),
                        self.agent())
        # docker service logs -f streams new lines as the task prints them.
        import subprocess
        p = subprocess.Popen([harness.OTHER_CLI, "service", "logs", "-f", "--tail", "1", "keep"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=d.cli_env(), cwd=d.root)
        import threading
        watchdog = threading.Timer(30, p.kill)  # a stuck stream ends the read, not the suite
        watchdog.start()
        try:
            lines = [p.stdout.readline().decode() for _ in range(4)]
        finally:
            watchdog.cancel()
            p.kill()
            p.wait()
            p.stdout.close()
        self.assertTrue(all("tick" in l for l in lines), lines)
        self.remove_service("keep")
        self.assertTrue(harness.wait_until(lambda: not harness.pid_alive(pid), 30))
        # The agent unmounts the task's secrets once it has seen the process exit: shortly after.
        self.assertTrue(harness.wait_until(lambda: self.secret_mounts_of(t["ID"]) == [], 30),
                        self.secret_mounts())

    def test_capsule_cli(self):
        d = self.d
        tar = self.rootfs
        self.ok(d.capsule(["image", "import", tar, "capsule/cli:1"]))
        self.assertIn("capsule/cli", self.ok(d.capsule(["image", "ls"])))
        self.ok(d.capsule(["secret", "create", "clipw", "-"], input=b"viacli"))
        r = d.capsule(["service", "create", "--name", "clisvc", "--secret",
                       "source=clipw,target=p,mode=0400", "capsule/cli:1", "sh", "-c",
                       "cat /run/secrets/p; echo; sleep 1d"], timeout=120)
        self.ok(r)
        self.wait_running("clisvc", 1)
        self.assertIn("clisvc", self.ok(d.capsule(["service", "ls"])))
        self.assertIn("Running", self.ok(d.capsule(["service", "ps", "clisvc"])))
        self.assertTrue(harness.wait_until(
            lambda: "viacli" in out(d.capsule(["service", "logs", "clisvc"])), 30))
        self.assertEqual(json.loads(self.ok(d.capsule(["service", "inspect", "clisvc"])))[0]
                         ["Spec"]["Name"], "clisvc")
        self.ok(d.capsule(["service", "scale", "clisvc=2"], timeout=120))
        self.wait_running("clisvc", 2)
        sid = d.api("GET", "/services/clisvc").json()["ID"]
        self.ok(d.capsule(["service", "rm", "clisvc"]))
        self.wait_tasks_gone(sid)
        # The node removes the tasks' containers after they leave the API; until then the image
        # is in use (a 409, as Docker's for a container using it).
        self.assertTrue(harness.wait_until(
            lambda: d.capsule(["image", "rm", "capsule/cli:1"]).returncode == 0, 30, 0.5))
        self.assertNotIn("capsule/cli", self.ok(d.capsule(["image", "ls"])))


def demux(body):
    return harness.demux_stream(body).decode(errors="replace")


if __name__ == "__main__":
    unittest.main()
