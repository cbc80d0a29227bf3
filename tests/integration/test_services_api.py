"""The services and tasks API: raw HTTP (exact codes and messages) and the docker CLIs.

These need no running tasks: services are created with --no-resolve-image (nothing ever
resolves an image through a registry) and most with zero replicas, so the assertions hold
with or without an orchestrator running tasks.

Run: PYTHONPATH=.. python3 -m unittest -v test_services_api   (from tests/integration)
Addresses: 127.0.11.x (see tests/harness).
"""

import json
import unittest

import harness

IMAGE = "capsule/busybox:1"
PREFIX = "rpc error: code = InvalidArgument desc = "


def spec(name, refs=(), replicas=0, image=IMAGE, **extra):
    s = {"Name": name,
         "TaskTemplate": {"ContainerSpec": {"Image": image, "Command": ["sleep", "3600"],
                                            "Secrets": list(refs)}},
         "Mode": {"Replicated": {"Replicas": replicas}}}
    s.update(extra)
    return s


def ref(secret_id, name, target, uid="0", gid="0", mode=0o444):
    return {"SecretID": secret_id, "SecretName": name,
            "File": {"Name": target, "UID": uid, "GID": gid, "Mode": mode}}


class ServicesApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon("127.0.11.1")
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        cls.pw = cls.d.create_secret("pw", "s3cr3t")
        cls.extra = cls.d.create_secret("extra", "more")

    def api(self, *args, **kw):
        return self.d.api(*args, **kw)

    def create(self, body, status=201):
        r = self.api("POST", "/services/create", body)
        self.assertEqual(r.status, status, r)
        return r

    def inspect(self, ref_):
        r = self.api("GET", f"/services/{ref_}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def remove(self, ref_):
        r = self.api("DELETE", f"/services/{ref_}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")

    def assertError(self, r, status, message):
        self.assertEqual((r.status, r.message()), (status, message), r)
        self.assertEqual(r.headers.get("Content-Type"), "application/json")

    def test_create_inspect_list_remove(self):
        r = self.create(spec("web", [ref(self.pw, "pw", "password", "2000", "3000", 0o400)],
                             replicas=0, Labels={"tier": "front"},
                             EndpointSpec={"Mode": "vip"}))
        self.assertEqual(list(r.json().keys()), ["ID"])
        sid = r.json()["ID"]
        self.assertRegex(sid, r"^[0-9a-z]{25}$")

        s = self.inspect(sid)
        self.assertEqual(list(s.keys()), ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec",
                                          "Endpoint"])
        self.assertEqual(s["Spec"]["Name"], "web")
        self.assertEqual(s["Spec"]["Labels"], {"tier": "front"})
        self.assertEqual(s["Spec"]["Mode"], {"Replicated": {"Replicas": 0}})
        self.assertEqual(s["Spec"]["TaskTemplate"]["Runtime"], "container")
        self.assertEqual(s["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"],
                         [{"File": {"Name": "password", "UID": "2000", "GID": "3000",
                                    "Mode": 256}, "SecretID": self.pw, "SecretName": "pw"}])
        self.assertEqual(s["CreatedAt"], s["UpdatedAt"])
        self.assertEqual(s["Endpoint"], {"Spec": {}})
        # Exact name and unique ID prefix resolve to the same object (the engine's lookup
        # matches names exactly, although names are unique case-insensitively).
        self.assertEqual(self.inspect("web")["ID"], sid)
        self.assertError(self.api("GET", "/services/WEB"), 404, "service WEB not found")
        self.assertEqual(self.inspect(sid[:6])["ID"], sid)
        d = self.api("GET", f"/services/{sid}", query={"insertDefaults": "true"}).json()
        self.assertEqual(d["Spec"]["UpdateConfig"]["Order"], "stop-first")
        self.assertEqual(d["Spec"]["TaskTemplate"]["RestartPolicy"]["Condition"], "any")
        self.assertError(self.api("GET", f"/services/{sid}", query={"insertDefaults": "x"}), 400,
                         'invalid value for insertDefaults: x: strconv.ParseBool: parsing "x": '
                         'invalid syntax')

        g = self.create(spec("agent", Labels={"tier": "back"},
                             Mode={"Global": {}})).json()["ID"]
        names = lambda r: sorted(x["Spec"]["Name"] for x in r.json())  # noqa: E731
        self.assertEqual(names(self.api("GET", "/services")), ["agent", "web"])
        q = lambda f: self.api("GET", "/services", query={"filters": json.dumps(f)})  # noqa
        self.assertEqual(names(q({"name": ["we"]})), ["web"])
        self.assertEqual(names(q({"id": [g[:5]]})), ["agent"])
        self.assertEqual(names(q({"label": ["tier=back"]})), ["agent"])
        self.assertEqual(names(q({"label": ["tier"]})), ["agent", "web"])
        self.assertEqual(names(q({"mode": ["global"]})), ["agent"])
        self.assertEqual(names(q({"mode": ["replicated"]})), ["web"])
        self.assertEqual(names(q({"mode": {"replicated": True}, "name": {"a": True}})), [])
        self.assertError(q({"bogus": ["x"]}), 400, "Invalid filter 'bogus'")

        listed = {x["ID"]: x for x in self.api("GET", "/services",
                                               query={"status": "true"}).json()}
        self.assertEqual(listed[sid]["ServiceStatus"]["DesiredTasks"], 0)
        self.assertEqual(list(listed[sid]["ServiceStatus"].keys()),
                         ["RunningTasks", "DesiredTasks", "CompletedTasks"])
        self.assertNotIn("ServiceStatus", self.api("GET", "/services").json()[0])

        self.remove("web")
        self.remove(g)
        self.assertError(self.api("GET", f"/services/{sid}"), 404, f"service {sid} not found")
        self.assertError(self.api("DELETE", "/services/web"), 404, "service web not found")

    def test_create_rejections(self):
        cases = [
            (spec("t1", [ref("doesnotexist", "ghost", "ghost")]), 400,
             PREFIX + "secret not found: ghost"),
            (spec("t1", [ref(self.pw, "wrongname", "f")]), 400,
             PREFIX + "secret not found: wrongname"),
            (spec("t1", [ref("x1", "a", "a"), ref("x2", "b", "b")]), 400,
             PREFIX + "secrets not found: a, b"),
            (spec("t1", [{"SecretID": self.pw, "SecretName": "pw"}]), 400,
             PREFIX + "malformed secret reference, no target provided"),
            (spec("t1", [ref(self.pw, "pw", "same"), ref(self.extra, "extra", "same")]), 400,
             PREFIX + "secret references 'pw' and 'extra' have a conflicting target: 'same'"),
            (spec("t1", [ref(self.pw, "pw", "../escape")]), 400,
             PREFIX + "invalid secret target '../escape': '.' and '..' path components are "
             "not allowed"),
            (spec("t1", [ref(self.pw, "pw", "a//b")]), 400,
             PREFIX + "invalid secret target 'a//b': empty path component"),
            (spec("t1", [ref(self.pw, "pw", "")]), 400,
             PREFIX + "malformed file secret reference, invalid target file name provided"),
            (spec("bad.name"), 400, PREFIX + "name must be valid as a DNS name component"),
            (spec("t1", image=""), 400,
             PREFIX + "ContainerSpec: image reference must be provided"),
            (spec("t1", image="Bad"), 400,
             PREFIX + 'ContainerSpec: "Bad" is not a valid repository/tag'),
            (spec("t1", Mode={"Replicated": {}, "Global": {}}), 400,
             "cannot specify both replicated mode and global mode"),
            (spec("t1", Mode={"Replicated": {"Replicas": -1}}), 400,
             "json: cannot unmarshal number -1 into Go struct field "
             "ReplicatedService.Mode.Replicated.Replicas of type uint64"),
            (spec("t1", Mode={"Replicated": {"Replicas": "2"}}), 400,
             "json: cannot unmarshal string into Go struct field "
             "ReplicatedService.Mode.Replicated.Replicas of type uint64"),
            (spec("t1", UpdateConfig={"Order": "sideways"}), 400,
             "unrecognized update order sideways"),
            (spec("t1", UpdateConfig={"MaxFailureRatio": 2}), 400,
             PREFIX + "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1"),
        ]
        for body, status, message in cases:
            with self.subTest(message=message):
                self.assertError(self.api("POST", "/services/create", body), status, message)
        bad_restart = spec("t1")
        bad_restart["TaskTemplate"]["RestartPolicy"] = {"Condition": "always"}
        self.assertError(self.api("POST", "/services/create", bad_restart), 400,
                         'invalid RestartCondition: "always"')
        constrained = spec("t1")
        constrained["TaskTemplate"]["Placement"] = {"Constraints": ["node.hostname=w1"]}
        self.assertError(self.api("POST", "/services/create", constrained), 500,
                         "rpc error: code = Unknown desc = constraint expected one operator "
                         "from ==, !=")
        constrained["TaskTemplate"]["Placement"] = {"Constraints": ["node.platform.os==linux"]}
        self.assertError(self.api("POST", "/services/create", constrained), 400,
                         PREFIX + "constraint key 'node.platform.os' is not supported: use "
                         "node.id, node.hostname, node.role or node.labels.<label>")
        self.assertError(self.api("POST", "/services/create", "{"), 400, "unexpected EOF")
        # Nothing was written by any rejected call.
        self.assertEqual([x["Spec"]["Name"] for x in self.api("GET", "/services").json()
                          if x["Spec"]["Name"] == "t1"], [])

    def test_names(self):
        sid = self.create(spec("dup")).json()["ID"]
        self.assertError(self.api("POST", "/services/create", spec("DUP")), 409,
                         "rpc error: code = AlreadyExists desc = name conflicts with an existing "
                         "object: service DUP already exists")
        # No name: the engine makes one up.
        anon = self.create({"TaskTemplate": {"ContainerSpec": {"Image": IMAGE}},
                            "Mode": {"Replicated": {"Replicas": 0}}}).json()["ID"]
        self.assertRegex(self.inspect(anon)["Spec"]["Name"], r"^[a-z]+_[a-z]+$")
        self.remove(anon)
        self.remove(sid)

    def test_update_rollback_and_versions(self):
        sid = self.create(spec("upd", [ref(self.pw, "pw", "password")])).json()["ID"]
        s = self.inspect(sid)
        v1 = s["Version"]["Index"]
        new = s["Spec"]
        new["TaskTemplate"]["ContainerSpec"]["Secrets"].append(ref(self.extra, "extra", "x.txt"))
        r = self.api("POST", f"/services/{sid}/update", new, query={"version": v1})
        self.assertEqual((r.status, r.body), (200, b"{}\n"), r)
        s2 = self.inspect(sid)
        self.assertGreater(s2["Version"]["Index"], v1)
        self.assertEqual(len(s2["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]), 2)
        self.assertEqual(len(s2["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]), 1)
        self.assertNotEqual(s2["UpdatedAt"], s2["CreatedAt"])
        self.assertEqual(s2["CreatedAt"], s["CreatedAt"])
        # A stale version changes nothing.
        self.assertError(self.api("POST", f"/services/{sid}/update", new, query={"version": v1}),
                         500, "rpc error: code = Unknown desc = update out of sequence")
        self.assertError(self.api("POST", f"/services/{sid}/update", new), 400,
                         "invalid service version '': strconv.ParseUint: parsing \"\": "
                         "invalid syntax")
        renamed = dict(new, Name="other")
        self.assertError(
            self.api("POST", f"/services/{sid}/update", renamed,
                     query={"version": s2["Version"]["Index"]}),
            501, "rpc error: code = Unimplemented desc = renaming services is not supported")
        global_ = dict(new, Mode={"Global": {}})
        self.assertError(
            self.api("POST", f"/services/{sid}/update", global_,
                     query={"version": s2["Version"]["Index"]}),
            501, "rpc error: code = Unimplemented desc = service mode change is not allowed")
        ghost = json.loads(json.dumps(new))
        ghost["TaskTemplate"]["ContainerSpec"]["Secrets"].append(ref("nope", "ghost", "g"))
        self.assertError(
            self.api("POST", f"/services/{sid}/update", ghost,
                     query={"version": s2["Version"]["Index"]}),
            400, PREFIX + "secret not found: ghost")
        self.assertEqual(self.inspect(sid)["Version"], s2["Version"])

        # Rollback swaps Spec and PreviousSpec.
        r = self.api("POST", f"/services/{sid}/update", s2["Spec"],
                     query={"version": s2["Version"]["Index"], "rollback": "previous",
                            "registryAuthFrom": "previous-spec"})
        self.assertEqual(r.status, 200, r)
        s3 = self.inspect(sid)
        self.assertEqual(len(s3["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]), 1)
        self.assertEqual(len(s3["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]), 2)
        self.assertEqual(s3["UpdateStatus"]["State"], "rollback_started")
        self.assertEqual(s3["UpdateStatus"]["Message"], "manually requested rollback")
        self.assertIn("StartedAt", s3["UpdateStatus"])
        self.assertError(
            self.api("POST", f"/services/{sid}/update", s3["Spec"],
                     query={"version": s3["Version"]["Index"], "rollback": "sideways"}),
            500, "unrecognized rollback option sideways")
        self.remove(sid)

        fresh = self.create(spec("fresh")).json()["ID"]
        f = self.inspect(fresh)
        self.assertError(
            self.api("POST", f"/services/{fresh}/update", f["Spec"],
                     query={"version": f["Version"]["Index"], "rollback": "previous"}),
            400, f"rpc error: code = FailedPrecondition desc = service {fresh} does not have a "
            "previous spec")
        self.remove(fresh)

    def test_secret_in_use(self):
        lone = self.d.create_secret("lone", "x")
        a = self.create(spec("user-a", [ref(lone, "lone", "l")])).json()["ID"]
        self.assertError(self.api("DELETE", f"/secrets/{lone}"), 400,
                         PREFIX + "secret 'lone' is in use by the following service: user-a")
        b = self.create(spec("user-b", [ref(lone, "lone", "l")])).json()["ID"]
        names = sorted(["user-a", "user-b"], key=lambda n: {"user-a": a, "user-b": b}[n])
        self.assertError(self.api("DELETE", f"/secrets/{lone}"), 400,
                         PREFIX + "secret 'lone' is in use by the following services: "
                         + ", ".join(names))
        self.remove(a)
        self.remove(b)
        self.assertEqual(self.api("DELETE", f"/secrets/{lone}").status, 204)

    def test_tasks_api(self):
        r = self.api("GET", "/tasks")
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json(), list)
        sid = self.create(spec("tasked")).json()["ID"]
        q = lambda f: self.api("GET", "/tasks", query={"filters": json.dumps(f)})  # noqa
        for f in ({"service": ["tasked"]}, {"service": [sid]},
                  {"service": {sid: True}, "_up-to-date": {"true": True}},
                  {"desired-state": ["running", "shutdown"]}):
            r = q(f)
            self.assertEqual(r.status, 200, (f, r))
            self.assertIsInstance(r.json(), list)
        # A zero-replica service has no tasks.
        self.assertEqual(q({"service": ["tasked"]}).json(), [])
        self.assertError(q({"service": ["nosuch"]}), 404, "service nosuch not found")
        self.assertError(q({"node": ["nosuch"]}), 404, "node nosuch not found")
        self.assertError(q({"desired-state": ["sleepy"]}), 500,
                         "Invalid desired-state filter: 'sleepy'")
        self.assertError(q({"bogus": ["x"]}), 400, "Invalid filter 'bogus'")
        self.assertError(self.api("GET", "/tasks/nosuch"), 404, "task nosuch not found")
        self.remove(sid)


class DockerCliServices:
    """Mixin: `docker service ...` with self.CLI against its own daemon."""
    CLI = None
    IP = None

    @classmethod
    def setUpClass(cls):
        harness.require_docker_cli(cls.CLI)
        cls.d = harness.Daemon(cls.IP)
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()

    def dk(self, *args, input=None, ok=True):
        r = self.d.docker(list(args), cli=self.CLI, input=input)
        if ok:
            self.assertEqual(r.returncode, 0, f"docker {args}: rc={r.returncode}\n"
                             f"stdout={r.stdout!r}\nstderr={r.stderr!r}")
        return r

    def test_service_session(self):
        self.dk("secret", "create", "pw", "-", input=b"s3cr3t")
        self.dk("secret", "create", "pw2", "-", input=b"n3w")
        r = self.dk("service", "create", "-d", "--no-resolve-image", "--name", "app",
                    "--replicas", "0", "--secret",
                    "source=pw,target=password,uid=2000,gid=3000,mode=0400",
                    "--constraint", "node.role==manager", "--label", "team=a",
                    IMAGE, "sh", "-c", "sleep 1d")
        self.assertRegex(r.stdout.decode(), r"^[0-9a-z]{25}\n$")
        sid = r.stdout.decode().strip()

        s = json.loads(self.dk("service", "inspect", "app").stdout)[0]
        self.assertEqual(s["ID"], sid)
        c = s["Spec"]["TaskTemplate"]["ContainerSpec"]
        self.assertEqual(c["Image"], IMAGE)
        self.assertEqual(c["Args"], ["sh", "-c", "sleep 1d"])
        self.assertEqual(c["Secrets"][0]["File"],
                         {"Name": "password", "UID": "2000", "GID": "3000", "Mode": 256})
        self.assertEqual(s["Spec"]["TaskTemplate"]["Placement"]["Constraints"],
                         ["node.role==manager"])
        self.assertEqual(s["Spec"]["Labels"], {"team": "a"})
        pretty = self.dk("service", "inspect", "--pretty", "app").stdout.decode()
        self.assertRegex(pretty, r"Name:\s+app")

        out = self.dk("service", "ls").stdout.decode()
        self.assertRegex(out, rf"{sid[:12]}\s+app\s+replicated\s+0/0\s+{IMAGE}")
        self.dk("service", "ps", "app")

        # In use: the exact message through the CLI.
        r = self.dk("secret", "rm", "pw", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("secret 'pw' is in use by the following service: app", r.stderr.decode())

        # Reference errors: resolved by the CLI, or the daemon's.
        r = self.dk("service", "create", "-d", "--no-resolve-image", "--name", "x",
                    "--secret", "nosuch", IMAGE, ok=False)
        self.assertIn("secret not found: nosuch", r.stderr.decode())
        r = self.dk("service", "create", "-d", "--no-resolve-image", "--name", "app",
                    "--replicas", "0", IMAGE, ok=False)
        self.assertIn("rpc error: code = AlreadyExists desc = name conflicts with an existing "
                      "object: service app already exists", r.stderr.decode())

        # Update: swap the secret, then roll back.
        r = self.dk("service", "update", "-d", "--no-resolve-image", "--secret-rm", "pw",
                    "--secret-add", "source=pw2,target=password", "app")
        self.assertEqual(r.stdout.decode().strip().splitlines()[-1], "app")
        s = json.loads(self.dk("service", "inspect", "app").stdout)[0]
        names = [x["SecretName"] for x in s["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]]
        self.assertEqual(names, ["pw2"])
        self.assertEqual(
            [x["SecretName"] for x in s["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]],
            ["pw"])
        self.dk("secret", "rm", "pw")  # no longer referenced by the current spec
        self.dk("secret", "create", "pw", "-", input=b"again")

        self.dk("service", "scale", "-d", "app=2")
        s = json.loads(self.dk("service", "inspect", "app").stdout)[0]
        self.assertEqual(s["Spec"]["Mode"], {"Replicated": {"Replicas": 2}})
        self.dk("service", "scale", "-d", "app=0")

        self.dk("service", "rollback", "-d", "app")
        s = json.loads(self.dk("service", "inspect", "app").stdout)[0]
        self.assertEqual(s["Spec"]["Mode"], {"Replicated": {"Replicas": 2}})
        self.assertEqual(s["UpdateStatus"]["State"], "rollback_started")

        self.assertEqual(self.dk("service", "rm", "app").stdout.decode().strip(), "app")
        self.dk("secret", "rm", "pw2")
        out = self.dk("service", "ls", "-q").stdout.decode()
        self.assertEqual(out, "")


class DockerCli20Services(DockerCliServices, unittest.TestCase):
    CLI = harness.DOCKER_20
    IP = "127.0.11.3"


class DockerCli2Services(DockerCliServices, unittest.TestCase):
    """With the second CLI (28.x); skipped, with the plain reason, on a machine without it."""
    CLI = harness.DOCKER_2
    IP = "127.0.11.2"


if __name__ == "__main__":
    unittest.main()
