#!/usr/bin/env python3
"""Rotation benchmark (issue 14, Proof, "Benchmark"): rotate one secret used by S services x R
replicas on W simulated workers and time until every task runs the new version.

  rotation_bench.py [--services 100] [--replicas 2] [--workers 3] [--reps 3]
                    [--variants start-first,stop-first,live-refresh]

Machinery of scale_bench.py: one real capsuled manager (harness Daemon on 127.0.58.1,
`swarm init`, drained) and one `swarm_load W 86400 --agents` process (real join, real agent and
dispatcher session, simulated executor printing a JSON line with a sha256 prefix of each secret
handed to a task). Run it inside a fresh network namespace (`unshare --net`, then `ip link set lo up`) so the
loopback addresses clash with nothing.

Variants (each: S fresh services referencing the secret, all tasks RUNNING, then `reps`
rotations through POST /capsule/secrets/{id}/rotate with the raw new value as body):
  start-first   UpdateConfig Order start-first, Parallelism 0 (all tasks of a service at once)
  stop-first    Docker's default: Order stop-first, Parallelism 1, Delay 0
Measured per rotation: ms from the rotate call's answer until GET /tasks shows S*R tasks
RUNNING, every one created after the rotation (not among the task IDs before it) and none of
the old tasks RUNNING (polled every 50 ms); the same from the rotate request (the call itself
pins every service, and the orchestrator starts replacing tasks before it answers); the rotate
call's own duration; and when the first new task ran. The simulated executor starts a task
instantly, so the figures are the control plane's (orchestrator, dispatcher, agent, status
reports), not container start time. Asserted: every
new running task was handed the new value (sha prefix from the simulated executor), the rotate
answer names all S services.
  live-refresh  (issue 14 part 3) the services are created on /capsule/services/create with
                `secretRefresh {"rot-secret": "signal:HUP"}`: a rotation moves every task's
                version in place and each node swaps the file (the simulated executor
                reports each swap as a "refresh" event with the new value's sha prefix and its
                wall-clock time). Measured per rotation: ms from the rotate request until
                every one of the S*R tasks reported the swap of the new value (all_refreshed),
                and each task's own rotate-request-to-swap time (per-task p50/p95 over every
                rotation). Asserted: no task was replaced (same IDs, all RUNNING).
Python 3 stdlib only; everything started is stopped by PID.
"""

import argparse
import json
import os
import sys
import threading
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench as sb  # noqa: E402  (its Workers, service_spec, parallel, helpers)

IP = "127.0.58.1"
sb.IP = IP
sb.ADDR = f"{IP}:{harness.SWARM_PORT}"

Failed = sb.Failed
check = sb.check
pct = sb.pct
ACTIVE = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running")


class Workers(sb.Workers):
    """scale_bench's workers, also recording which sha each task was handed (per task)."""

    def __init__(self, *a, **kw):
        self.task_sha = {}  # task ID -> [sha prefixes handed to it]
        self.refreshed = {}  # (task ID, sha prefix) -> wall-clock ms of its live refresh
        super().__init__(*a, **kw)

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode().strip()
            with self.cond:
                if line.startswith("connected "):
                    self.connected = int(line.split()[1])
                elif line.startswith("{"):
                    ev = json.loads(line)
                    if ev["event"] == "joined":
                        self.node_ids[ev["node"]] = ev["node_id"]
                    elif ev["event"] == "secret":
                        self.task_sha.setdefault(ev["task"], []).append(ev["sha"])
                    elif ev["event"] == "refresh":
                        self.refreshed[(ev["task"], ev["sha"])] = ev["t_ms"]
                    elif ev["event"] == "start":
                        self.starts += 1
                self.cond.notify_all()
        with self.cond:
            self.connected = self.connected if self.connected is not None else -1
            self.cond.notify_all()


VARIANTS = {"start-first": {"Order": "start-first", "Parallelism": 0},
            "stop-first": {"Order": "stop-first", "Parallelism": 1},
            "live-refresh": {"Order": "stop-first", "Parallelism": 1}}
LIVE = "live-refresh"
REFRESH = json.dumps({"rot-secret": "signal:HUP"})


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = {"params": {"services": args.services, "replicas": args.replicas,
                               "workers": args.workers, "reps": args.reps},
                    "machine": sb.machine(), "variants": {}}
        self.m = None
        self.workers = None

    def api(self, method, path, body=None, query=None, headers=None):
        return self.m.api(method, path, body=body, query=query, headers=headers)

    def tasks(self):
        r = self.api("GET", "/tasks")
        check(r.status == 200, f"GET /tasks: {r!r}")
        return [t for t in r.json() if t["ServiceID"] in self.svc_ids]

    def setup(self, tmp):
        self.m = harness.Daemon(IP, name="rot", extra_args=["--hostname", "rot-mgr"])
        sb.SOCK[0] = self.m.sock
        self.m.swarm_init()
        r = self.m.docker(["node", "update", "--availability", "drain", "rot-mgr"])
        check(r.returncode == 0, f"drain: {r.stderr!r}")
        token = self.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        check(token.startswith("SWMTKN-"), "worker token")
        w = self.args.workers
        self.workers = Workers(self.args.swarm_load, token, w, tmp)
        ok = self.workers.wait(lambda: self.workers.connected is not None, 60 + w)
        check(ok and self.workers.connected == w,
              f"workers connected: {self.workers.connected}\n{self.workers.stderr_tail()}")

        def all_ready():
            nodes = self.api("GET", "/nodes").json()
            return sum(x["Status"]["State"] == "ready" for x in nodes) == w + 1

        check(harness.wait_until(all_ready, 60, 0.2), "not every worker is Ready")
        value = os.urandom(32)
        r = self.api("POST", "/secrets/create", {"Name": "rot-secret", "Data": harness.b64(value)})
        check(r.status == 201, f"create secret: {r!r}")
        self.sid = r.json()["ID"]

    def create_services(self, variant):
        n, reps = self.args.services, self.args.replicas
        ref = sb.secret_ref(self.sid, "rot-secret", "s")

        def create(client, i):
            spec = sb.service_spec(f"rot-{variant}-{i}", [ref],
                                   {"Replicated": {"Replicas": reps}})
            spec["UpdateConfig"].update(VARIANTS[variant])
            if variant == LIVE:
                r = client.request("POST", "/capsule/services/create", spec,
                                   query={"secretRefresh": REFRESH})
            else:
                r = client.request("POST", "/services/create", spec)
            check(r.status == 201, f"create service {i}: {r!r}")
            return r.json()["ID"]

        secs, ids = sb.parallel(n, 8, create)
        self.svc_ids = set(ids)
        want = n * reps

        def all_running():
            return sum(t["Status"]["State"] == "running" and t["DesiredState"] == "running"
                       for t in self.tasks()) == want

        check(harness.wait_until(all_running, 120 + want * 0.3, 0.25),
              f"{variant}: not all {want} tasks RUNNING after creation")
        return round(secs, 2)

    def settle(self):
        """Waits until exactly S*R tasks run and no other task is still active."""
        want = self.args.services * self.args.replicas

        def settled():
            ts = self.tasks()
            run = [t for t in ts if t["DesiredState"] == "running"]
            stopping = [t for t in ts if t["DesiredState"] != "running"
                        and t["Status"]["State"] in ACTIVE]
            return (len(run) == want and not stopping
                    and all(t["Status"]["State"] == "running" for t in run))

        check(harness.wait_until(settled, 180, 0.25), "tasks do not settle")

    def rotate_once(self):
        want = self.args.services * self.args.replicas
        old = {t["ID"] for t in self.tasks()}
        value = os.urandom(32)
        sha = sb.sha16(value)
        t_req = time.monotonic()
        r = self.api("POST", f"/capsule/secrets/{self.sid}/rotate", bytes(value),
                     headers={"Content-Type": "application/octet-stream"})
        t0 = time.monotonic()
        check(r.status == 200, f"rotate: {r!r}")
        ans = r.json()
        check(self.svc_ids <= set(ans["Services"]),
              f"rotate answer names {len(ans['Services'])} services")
        first_new = None
        deadline = t0 + 300
        while True:
            ts = self.tasks()
            now = time.monotonic()
            new_run = [t for t in ts if t["ID"] not in old and t["Status"]["State"] == "running"]
            old_run = [t for t in ts if t["ID"] in old and t["Status"]["State"] == "running"]
            if new_run and first_new is None:
                first_new = now
            if len(new_run) == want and not old_run:
                break
            check(now < deadline, f"after 300 s: {len(new_run)} new running, "
                                  f"{len(old_run)} old running")
            time.sleep(0.05)
        done = now
        missing = []
        with self.workers.cond:
            for t in new_run:
                if sha not in self.workers.task_sha.get(t["ID"], []):
                    missing.append(t["ID"])
        check(not missing, f"{len(missing)} new tasks were not handed the new value")
        return {"version": ans["Version"], "rotate_call_ms": round((t0 - t_req) * 1000, 1),
                "all_new_ms": round((done - t0) * 1000, 1),
                "all_new_from_request_ms": round((done - t_req) * 1000, 1),
                "first_new_ms": round((first_new - t0) * 1000, 1)}

    def rotate_live(self):
        """One rotation of live-refresh services: until every task swapped the new value."""
        want = self.args.services * self.args.replicas
        before = {t["ID"] for t in self.tasks() if t["Status"]["State"] == "running"}
        check(len(before) == want, f"{len(before)} tasks running before the rotation")
        value = os.urandom(32)
        sha = sb.sha16(value)
        wall_req = time.time() * 1000
        t_req = time.monotonic()
        r = self.api("POST", f"/capsule/secrets/{self.sid}/rotate", bytes(value),
                     headers={"Content-Type": "application/octet-stream"})
        t0 = time.monotonic()
        check(r.status == 200, f"rotate: {r!r}")

        def swapped():
            with self.workers.cond:
                return sum((tid, sha) in self.workers.refreshed for tid in before)

        deadline = t0 + 120
        while swapped() < want:
            check(time.monotonic() < deadline,
                  f"after 120 s only {swapped()} of {want} tasks refreshed")
            time.sleep(0.01)
        with self.workers.cond:
            times = [self.workers.refreshed[(tid, sha)] - wall_req for tid in before]
        after = {t["ID"] for t in self.tasks() if t["Status"]["State"] == "running"
                 and t["DesiredState"] == "running"}
        check(after == before, "live refresh replaced tasks")
        return {"version": r.json()["Version"], "rotate_call_ms": round((t0 - t_req) * 1000, 1),
                "all_refreshed_ms": round(max(times), 1),
                "per_task_ms": [round(x, 1) for x in times]}

    def run_live(self):
        create_s = self.create_services(LIVE)
        runs, per_task = [], []
        for rep in range(self.args.reps):
            self.settle()
            time.sleep(1)
            res = self.rotate_live()
            per_task += res.pop("per_task_ms")
            runs.append(res)
            print(f"# {LIVE} rep {rep}: {json.dumps(res)}", flush=True)
        alls = [x["all_refreshed_ms"] for x in runs]
        self.out["variants"][LIVE] = {
            "create_s": create_s, "runs": runs, "all_refreshed_ms_p50": pct(alls, 50),
            "all_refreshed_ms_p95": pct(alls, 95), "all_refreshed_ms_max": max(alls),
            "per_task_ms_p50": pct(per_task, 50), "per_task_ms_p95": pct(per_task, 95),
            "per_task_samples": len(per_task)}
        print(f"# {LIVE}: {json.dumps(self.out['variants'][LIVE])}", flush=True)
        self.remove_services()

    def remove_services(self):
        for sid in sorted(self.svc_ids):
            r = self.api("DELETE", f"/services/{sid}")
            check(r.status == 200, f"delete service: {r!r}")
        check(harness.wait_until(lambda: not self.tasks(), 180, 0.5),
              "tasks of removed services still listed")

    def run_variant(self, variant):
        create_s = self.create_services(variant)
        runs = []
        for rep in range(self.args.reps):
            self.settle()
            time.sleep(1)
            res = self.rotate_once()
            runs.append(res)
            print(f"# {variant} rep {rep}: {json.dumps(res)}", flush=True)
        all_new = [x["all_new_ms"] for x in runs]
        first = [x["first_new_ms"] for x in runs]
        from_req = [x["all_new_from_request_ms"] for x in runs]
        self.out["variants"][variant] = {
            **VARIANTS[variant], "create_s": create_s, "runs": runs,
            "all_new_ms_p50": pct(all_new, 50), "all_new_ms_max": max(all_new),
            "all_new_from_request_ms_p50": pct(from_req, 50),
            "all_new_from_request_ms_max": max(from_req), "first_new_ms_p50": pct(first, 50)}
        print(f"# {variant}: {json.dumps(self.out['variants'][variant])}", flush=True)
        self.settle()
        self.remove_services()

    def run(self):
        self.svc_ids = set()
        return sb.run_guarded(self, "rot-", self.phases)

    def phases(self, tmp):
        self.setup(tmp)
        for v in self.args.variants.split(","):
            if v == LIVE:
                self.run_live()
            else:
                self.run_variant(v)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--services", type=int, default=100)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--variants", default="start-first,stop-first,live-refresh")
    p.add_argument("--swarm-load", default=os.environ.get(
        "SWARM_LOAD", os.path.join(HERE, "..", "build", "bin", "swarm_load")))
    args = p.parse_args()
    for v in args.variants.split(","):
        if v not in VARIANTS:
            p.error(f"unknown variant {v}")
    return sb.emit(Bench(args).run(), "rotation.json")


if __name__ == "__main__":
    sys.exit(main())
