"""The issue's session with the real docker CLIs (20.10, and 28.x when this machine has it; see
tests/harness/docker_cli.py) and with our capsule CLI.

Run: PYTHONPATH=.. python3 -m unittest -v test_docker_cli   (from tests/integration)
Addresses: 127.0.2.x (see tests/harness). The docker CLIs only ever talk to the
daemon's unix socket (DOCKER_HOST), with a temp DOCKER_CONFIG.
"""

import json
import os
import re
import unittest

import harness

ID_RE = r"[0-9a-z]{25}"
KEY_PEM = (b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIC7NzfXq0b2c9itest0key0not0real00000\n"
           b"-----END PRIVATE KEY-----\n")


class DockerCliSession:
    """Mixin: the session, run with self.CLI; one daemon per CLI."""
    CLI = None
    IP = None

    @classmethod
    def setUpClass(cls):
        harness.require_docker_cli(cls.CLI)
        cls.d = harness.Daemon(cls.IP)
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        with open(os.path.join(cls.d.root, "key.pem"), "wb") as f:
            f.write(KEY_PEM)

    def dk(self, *args, input=None, ok=True):
        r = self.d.docker(list(args), cli=self.CLI, input=input)
        if ok:
            self.assertEqual(r.returncode, 0, f"docker {args}: rc={r.returncode}\n"
                             f"stdout={r.stdout!r}\nstderr={r.stderr!r}")
        return r

    def test_session(self):
        # docker info
        r = self.dk("info")
        out = r.stdout.decode()
        self.assertRegex(out, r"\n\s*Swarm: active\n")
        self.assertRegex(out, r"\n\s*Is Manager: true\n")
        self.assertRegex(out, rf"\n\s*NodeID: {ID_RE}\n")
        if self.CLI == harness.DOCKER_20:
            warnings = [ln for ln in r.stderr.decode().splitlines() if "WARNING" in ln]
            self.assertEqual(warnings, [], "docker 20.10 info printed warnings")

        # create from stdin and from a file with a label
        r = self.dk("secret", "create", "db_password", "-", input=b"s3cr3t")
        self.assertRegex(r.stdout.decode(), rf"^{ID_RE}\n$")
        db_id = r.stdout.decode().strip()
        r = self.dk("secret", "create", "tls_key", "./key.pem", "--label", "env=prod")
        self.assertRegex(r.stdout.decode(), rf"^{ID_RE}\n$")
        tls_id = r.stdout.decode().strip()
        self.assertNotEqual(db_id, tls_id)

        # ls (table)
        r = self.dk("secret", "ls")
        lines = r.stdout.decode().splitlines()
        self.assertRegex(lines[0], r"^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED\s*$")
        rows = sorted(re.split(r"\s{2,}", ln.strip())[:2] for ln in lines[1:])
        self.assertEqual(rows, sorted([[db_id, "db_password"], [tls_id, "tls_key"]]))

        # ls --filter label=env=prod -q
        r = self.dk("secret", "ls", "--filter", "label=env=prod", "-q")
        self.assertEqual(r.stdout.decode(), tls_id + "\n")
        r = self.dk("secret", "ls", "-q", "--filter", "name=db_")
        self.assertEqual(r.stdout.decode(), db_id + "\n")

        # inspect: metadata only
        r = self.dk("secret", "inspect", "db_password")
        self.assertNotIn(b"s3cr3t", r.stdout)
        self.assertNotIn(b'"Data"', r.stdout)
        objs = json.loads(r.stdout)
        self.assertEqual(len(objs), 1)
        self.assertEqual(objs[0]["ID"], db_id)
        self.assertEqual(objs[0]["Spec"], {"Name": "db_password", "Labels": {}})
        r = self.dk("secret", "inspect", "--format", "{{.Spec.Labels.env}}", "tls_key")
        self.assertEqual(r.stdout.decode(), "prod\n")

        # duplicate create
        r = self.dk("secret", "create", "db_password", "-", input=b"other", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error response from daemon: rpc error: code = AlreadyExists desc = "
                      "secret db_password already exists", r.stderr.decode())

        # rm, inspect of a missing secret
        r = self.dk("secret", "rm", "tls_key")
        self.assertEqual(r.stdout.decode(), "tls_key\n")
        r = self.dk("secret", "ls", "-q")
        self.assertEqual(r.stdout.decode(), db_id + "\n")
        r = self.dk("secret", "inspect", "nosuch", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.decode(), "[]\n")
        self.assertEqual(r.stderr.decode(), self.INSPECT_MISSING)
        r = self.dk("secret", "rm", "nosuch", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), self.RM_MISSING)

        # leave, init again: a fresh, empty swarm
        r = self.dk("swarm", "leave", "--force")
        self.assertEqual(r.stdout.decode(), "Node left the swarm.\n")
        r = self.dk("info")
        self.assertRegex(r.stdout.decode(), r"\n\s*Swarm: inactive\n")
        r = self.dk("secret", "ls", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(harness.NOT_MANAGER, r.stderr.decode())
        r = self.dk("swarm", "init", "--advertise-addr", self.IP, "--listen-addr",
                    f"{self.IP}:2377")
        out = r.stdout.decode()
        self.assertRegex(out, rf"^Swarm initialized: current node \({ID_RE}\) is now a manager\.\n")
        self.assertRegex(out, rf"docker swarm join --token SWMTKN-1-[0-9a-z]{{50}}-[0-9a-z]{{25}} "
                              rf"{re.escape(self.IP)}:2377")
        r = self.dk("secret", "ls", "-q")
        self.assertEqual(r.stdout.decode(), "")


class DockerCli20(DockerCliSession, unittest.TestCase):
    CLI = harness.DOCKER_20
    IP = "127.0.2.2"
    # Both CLIs' wording checked against the Docker oracle (a 404 "secret X not found").
    INSPECT_MISSING = "Status: Error: No such secret: nosuch, Code: 1\n"
    RM_MISSING = "Error: No such secret: nosuch\n"


class DockerCli2(DockerCliSession, unittest.TestCase):
    """The same session with the second CLI (28.x); skipped, with the plain reason, without it."""
    CLI = harness.DOCKER_2
    IP = "127.0.2.1"
    INSPECT_MISSING = "Error response from daemon: secret nosuch not found\n"
    RM_MISSING = "Error response from daemon: secret nosuch not found\n"


class CapsuleCli(unittest.TestCase):
    """The same session with our own CLI (Docker's output formats and exit codes)."""
    IP = "127.0.2.3"

    @classmethod
    def setUpClass(cls):
        if not os.access(harness.CAPSULE_CLI, os.X_OK):
            raise unittest.SkipTest(f"{harness.CAPSULE_CLI} not built")
        cls.d = harness.Daemon(cls.IP)
        cls.addClassCleanup(cls.d.close)
        with open(os.path.join(cls.d.root, "key.pem"), "wb") as f:
            f.write(KEY_PEM)

    def cap(self, *args, input=None, ok=True):
        r = self.d.capsule(list(args), input=input)
        if ok:
            self.assertEqual(r.returncode, 0, f"capsule {args}: rc={r.returncode}\n"
                             f"stdout={r.stdout!r}\nstderr={r.stderr!r}")
        return r

    def test_session(self):
        r = self.cap("secret", "ls", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(harness.NOT_MANAGER, r.stderr.decode())
        r = self.cap("swarm", "init", "--advertise-addr", self.IP, "--listen-addr",
                     f"{self.IP}:2377")
        self.assertRegex(r.stdout.decode(),
                         rf"^Swarm initialized: current node \({ID_RE}\) is now a manager\.")
        r = self.cap("secret", "create", "db_password", "-", input=b"s3cr3t")
        self.assertRegex(r.stdout.decode(), rf"^{ID_RE}\n$")
        db_id = r.stdout.decode().strip()
        r = self.cap("secret", "create", "tls_key", "key.pem", "--label", "env=prod")
        self.assertRegex(r.stdout.decode(), rf"^{ID_RE}\n$")
        tls_id = r.stdout.decode().strip()

        r = self.cap("secret", "ls")
        lines = r.stdout.decode().splitlines()
        self.assertRegex(lines[0], r"^ID\s+NAME\s+")
        self.assertEqual(len(lines), 3, lines)
        rows = sorted(re.split(r"\s{2,}", ln.strip())[:2] for ln in lines[1:])
        self.assertEqual(rows, sorted([[db_id, "db_password"], [tls_id, "tls_key"]]))
        r = self.cap("secret", "ls", "-q", "--filter", "label=env=prod")
        self.assertEqual(r.stdout.decode(), tls_id + "\n")

        r = self.cap("secret", "inspect", "db_password")
        self.assertNotIn(b"s3cr3t", r.stdout)
        objs = json.loads(r.stdout)
        self.assertEqual([o["ID"] for o in objs], [db_id])
        self.assertNotIn("Data", objs[0]["Spec"])
        r = self.cap("secret", "inspect", "db_password", "tls_key")
        self.assertEqual([o["ID"] for o in json.loads(r.stdout)], [db_id, tls_id])

        r = self.cap("secret", "create", "db_password", "-", input=b"x", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("secret db_password already exists", r.stderr.decode())
        r = self.cap("secret", "inspect", "nosuch", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr.decode(), r"No such secret: nosuch|secret nosuch not found")

        r = self.cap("secret", "rm", "tls_key", "db_password")
        self.assertEqual(r.stdout.decode(), "tls_key\ndb_password\n")
        r = self.cap("secret", "ls", "-q")
        self.assertEqual(r.stdout.decode(), "")
        r = self.cap("secret", "rm", "nosuch", ok=False)
        self.assertEqual(r.returncode, 1)

        r = self.cap("swarm", "leave", "--force")
        self.assertEqual(r.returncode, 0)
        r = self.d.api("GET", "/info")
        self.assertEqual(r.json()["Swarm"]["LocalNodeState"], "inactive")


if __name__ == "__main__":
    unittest.main()
