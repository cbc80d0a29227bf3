#!/usr/bin/env python3
"""Service benchmark over a Docker Engine API unix socket (capsuled or dockerd in swarm mode).

  services_bench.py --socket S --json out.json [--reps 5] [--quick]

Measures, with the same method on both engines (wall clock from the API request that starts the
change until a task has printed a hash of the secret file it reads from /run/secrets):
  create        POST /services/create (1 replica, one secret) → the new task's line appears
  add_stop      POST /services/{id}/update adding a secret, UpdateConfig.Order stop-first →
                a NEW task's line for the added secret appears
  add_start     the same with start-first
Task output is read by polling (10 ms) the logs of the service's tasks: on dockerd the task
container's logs (GET /containers/{id}/logs — local and quick), on capsuled GET
/tasks/{id}/logs. The task prints `HAS <target> <sha256 prefix>` — never the secret itself.
The image is a busybox-static rootfs imported through the API (POST /images/create?fromSrc=-)
as 127.0.0.1:5999/capsule/svcbench:1 — a name under a dead loopback registry, so nothing can
ever be pulled. Everything the run creates is removed at the end. Python 3 stdlib only.
"""

import argparse
import base64
import json
import os
import statistics
import struct
import tempfile
import time
import urllib.parse

from harness import UnixHTTPConnection, busybox_image

API = "v1.41"
IMAGE = "127.0.0.1:5999/capsule/svcbench:1"
TASK_CMD = ('trap "exit 0" TERM; for f in /run/secrets/*; do '
            'echo "HAS $(basename $f) $(sha256sum < $f | cut -c1-16)"; done; '
            'sleep 3600 & wait')


class Api:
    def __init__(self, sock):
        self.sock = sock
        self.conn = UnixHTTPConnection(sock)

    def call(self, method, path, body=None, raw=None, query=None, ctype=None):
        url = f"/{API}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if ctype:
            headers["Content-Type"] = ctype
        for attempt in (0, 1):
            try:
                self.conn.request(method, url, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                if r.will_close:
                    self.conn.close()
                return r.status, payload
            except (ConnectionError, OSError):
                self.conn.close()
                self.conn = UnixHTTPConnection(self.sock)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def ok(self, method, path, body=None, **kw):
        status, payload = self.call(method, path, body, **kw)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload) if payload.strip().startswith((b"{", b"[")) else payload


def demux(payload):
    """Docker's multiplexed stream → text (falls back to raw text for a TTY stream)."""
    out, i = [], 0
    while i + 8 <= len(payload) and payload[i] in (0, 1, 2) and payload[i + 1:i + 4] == b"\0\0\0":
        (n,) = struct.unpack(">I", payload[i + 4:i + 8])
        out.append(payload[i + 8:i + 8 + n])
        i += 8 + n
    if i < len(payload):
        out.append(payload[i:])
    return b"".join(out).decode("utf-8", "replace")


class Bench:
    def __init__(self, sock, engine):
        self.api = Api(sock)
        self.engine = engine
        self.services, self.secrets = [], []

    # ---- helpers ------------------------------------------------------------
    def import_image(self):
        with tempfile.TemporaryDirectory() as d:
            tar = busybox_image.build_rootfs_tar(os.path.join(d, "rootfs.tar"))
            with open(tar, "rb") as f:
                data = f.read()
        self.api.ok("POST", "/images/create", raw=data, ctype="application/x-tar",
                    query={"fromSrc": "-", "repo": IMAGE, "changes": "ENV PATH=/bin"})

    def secret(self, name, value):
        r = self.api.ok("POST", "/secrets/create",
                        {"Name": name, "Data": base64.b64encode(value).decode()})
        self.secrets.append(r["ID"])
        return r["ID"]

    def spec(self, name, refs, order):
        return {
            "Name": name,
            "TaskTemplate": {
                "ContainerSpec": {"Image": IMAGE, "Args": ["sh", "-c", TASK_CMD],
                                  "Secrets": [{"File": {"Name": t, "UID": "0", "GID": "0",
                                                        "Mode": 0o400},
                                               "SecretID": sid, "SecretName": sname}
                                              for (t, sid, sname) in refs]},
                "RestartPolicy": {"Condition": "any", "Delay": 0},
            },
            "Mode": {"Replicated": {"Replicas": 1}},
            "UpdateConfig": {"Parallelism": 1, "Delay": 0, "Order": order,
                             "FailureAction": "pause"},
        }

    def tasks(self, service_id):
        q = {"filters": json.dumps({"service": [service_id]})}
        return self.api.ok("GET", "/tasks", query=q)

    def output(self, task):
        if self.engine == "docker":
            cid = (task.get("Status", {}).get("ContainerStatus") or {}).get("ContainerID")
            if not cid:
                return ""
            status, payload = self.api.call("GET", f"/containers/{cid}/logs",
                                            query={"stdout": "1"})
        else:
            status, payload = self.api.call("GET", f"/tasks/{task['ID']}/logs",
                                            query={"stdout": "1"})
        return demux(payload) if status == 200 else ""

    def wait_line(self, service_id, line, exclude=(), timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t in self.tasks(service_id):
                if t["ID"] in exclude:
                    continue
                if line in self.output(t):
                    return t["ID"]
            time.sleep(0.01)
        raise RuntimeError(f"no task printed {line!r} within {timeout}s")

    def remove_service(self, sid):
        self.api.call("DELETE", f"/services/{sid}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.tasks_left(sid):
            time.sleep(0.05)
        if sid in self.services:
            self.services.remove(sid)

    def tasks_left(self, sid):
        status, payload = self.api.call(
            "GET", "/tasks", query={"filters": json.dumps({"service": [sid]})})
        return status == 200 and json.loads(payload) != []

    # ---- phases -------------------------------------------------------------
    def phase_create(self, reps):
        samples = []
        for i in range(reps):
            sid_secret = self.secret(f"svcbench-c{i}", os.urandom(16))
            spec = self.spec(f"svcbench-c{i}", [("password", sid_secret, f"svcbench-c{i}")],
                             "stop-first")
            t0 = time.monotonic()
            sid = self.api.ok("POST", "/services/create", spec)["ID"]
            self.services.append(sid)
            self.wait_line(sid, "HAS password ")
            samples.append((time.monotonic() - t0) * 1000)
            self.remove_service(sid)
        return samples

    def phase_add(self, reps, order):
        base = self.secret(f"svcbench-{order}-base", os.urandom(16))
        name = f"svcbench-{order}"
        sid = self.api.ok("POST", "/services/create",
                          self.spec(name, [("base", base, f"svcbench-{order}-base")],
                                    order))["ID"]
        self.services.append(sid)
        self.wait_line(sid, "HAS base ")
        refs = [("base", base, f"svcbench-{order}-base")]
        samples = []
        for i in range(reps):
            sname = f"svcbench-{order}-a{i}"
            refs.append((f"f{i}", self.secret(sname, os.urandom(16)), sname))
            svc = self.api.ok("GET", f"/services/{sid}")
            old = {t["ID"] for t in self.tasks(sid)}
            spec = self.spec(name, refs, order)
            t0 = time.monotonic()
            self.api.ok("POST", f"/services/{sid}/update", spec,
                        query={"version": svc["Version"]["Index"]})
            self.wait_line(sid, f"HAS f{i} ", exclude=old)
            samples.append((time.monotonic() - t0) * 1000)
            time.sleep(0.5)  # let the old task finish stopping before the next round
        self.remove_service(sid)
        return samples

    def cleanup(self):
        for sid in list(self.services):
            self.remove_service(sid)
        for sec in self.secrets:
            self.api.call("DELETE", f"/secrets/{sec}")


def summary(samples):
    s = sorted(samples)
    return {"n": len(s), "p50_ms": round(statistics.median(s), 1), "min_ms": round(s[0], 1),
            "max_ms": round(s[-1], 1), "samples_ms": [round(x, 1) for x in samples]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--engine", choices=["docker", "capsule"],
                    help="default: from GET /version (capsuled's version ends in -capsule)")
    ap.add_argument("--label", default="")
    ap.add_argument("--json")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2 repetitions")
    ap.add_argument("--prefix", default="", help="ignored (compare_oracle.sh passes it)")
    args = ap.parse_args()
    if args.quick:
        args.reps = 2
    engine = args.engine
    if engine is None:
        version = Api(args.socket).ok("GET", "/version")["Version"]
        engine = "capsule" if version.endswith("-capsule") else "docker"
    b = Bench(args.socket, engine)
    results = {}
    load0 = os.getloadavg()
    try:
        b.import_image()
        results["create"] = summary(b.phase_create(args.reps))
        results["add_stop"] = summary(b.phase_add(args.reps, "stop-first"))
        results["add_start"] = summary(b.phase_add(args.reps, "start-first"))
    finally:
        b.cleanup()
    print(f"{args.label or engine}: (ms)")
    for k, v in results.items():
        print(f"  {k:<10} p50 {v['p50_ms']:>8.1f}  min {v['min_ms']:>8.1f}  max {v['max_ms']:>8.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"label": args.label or engine, "loadavg_start": load0,
                       "loadavg_end": os.getloadavg(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
