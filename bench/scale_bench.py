#!/usr/bin/env python3
"""Load and scale (issue 5, part 4): one real capsuled manager, many secrets and services, and
simulated workers speaking the real dispatcher protocol.

  scale_bench.py [--secrets 10000] [--services 1000] [--workers 200] [--reps 3]
  scale_bench.py --short          (= --secrets 500 --services 50 --workers 20 --reps 3)
  scale_bench.py --secrets-only   (setup and the secrets phase: RSS after N secrets, 20 lists)

The manager is a harness Daemon on 127.0.21.1 (swarm init, then drained so every task goes to
the simulated workers). The workers are one `swarm_load N HOLD --agents` process (env
SWARM_LOAD, default build/bin/swarm_load): each joins with the worker token (real CSR and
certificate) and runs the real agent (agent::Agent: Dispatcher session, secrets opened with the
session's delivery key, TaskWorker reporting ACCEPTED..RUNNING/SHUTDOWN through
UpdateTaskStatus) over an executor that runs no containers; it prints a JSON line when a
secret is handed to a task (with a sha256 prefix of the bytes, never the bytes).

Phases and figures (printed as JSON; with PROVE_OUT set also written to $PROVE_OUT/scale.json):
  secrets   N creates by 16 clients (creates/s), GET /secrets latency p50/p99 at N (20 calls),
            GET /secrets/{id} p50 (200 calls)
  services  M services (1 replica; every 10th references a secret) by 16 clients (creates/s),
            time from the first create until all M tasks are RUNNING (API), GET /services and
            GET /tasks latency p50/p99 at that size (10 calls each)
  fanout    W workers: a global service created with a new secret → last worker's "secret"
            event; `--secret-add` on a global service (update parallelism 0) → last worker's
            event; each `reps` times, p50/max (ms, from the API request)
  memory    VmRSS/VmHWM of capsuled and its etcd at idle, after the secret creates, after the
            secrets phase (its lists and inspects), with the workers,
            after the services, at the end; and of the swarm_load process
Correctness is asserted (the run exits 1 otherwise): counts in the lists, every task RUNNING,
every worker got each fan-out secret with the right bytes, a replicated service's secret reached
only the node running its task. Timings are recorded, never asserted.
Python 3 stdlib only. Everything started is stopped by PID; temp dirs are removed.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))

IP = "127.0.21.1"
ADDR = f"{IP}:{harness.SWARM_PORT}"
IMAGE = "127.0.0.1:5999/capsule/sim:1"  # never pulled: the simulated executor runs nothing


class Failed(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def pct(values, p):
    s = sorted(values)
    if not s:
        return None
    return round(s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))], 2)


def cpu_s(pid):
    """User + system CPU seconds a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, TypeError, IndexError, ValueError):
        return None


def proc_mem(pid):
    def mib(field):
        try:
            kib = harness.proc_status_kib(pid, field)
        except (OSError, TypeError):
            return None
        return None if kib is None else round(kib / 1024, 1)
    return {"rss_mib": mib("VmRSS"), "hwm_mib": mib("VmHWM"), "cpu_s": cpu_s(pid)}


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "model": model, "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadavg_start": list(os.getloadavg())}


def parallel(n_items, clients, fn):
    """Runs fn(client, i) for i in range(n_items) on `clients` threads, one API connection
    each. Returns (seconds, results by i); the first exception is re-raised."""
    results = [None] * n_items
    errors = []
    lock = threading.Lock()
    next_i = [0]

    def worker(client):
        try:
            while True:
                with lock:
                    i = next_i[0]
                    next_i[0] += 1
                if i >= n_items or errors:
                    return
                results[i] = fn(client, i)
        except Exception as e:  # noqa: BLE001 (re-raised below)
            errors.append(e)
        finally:
            client.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(harness.ApiClient(SOCK[0]),))
               for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.monotonic() - t0, results


SOCK = [None]


def timed(api, method, path, reps, query=None):
    lat, last = [], None
    for _ in range(reps):
        t0 = time.monotonic()
        r = api(method, path, query=query)
        lat.append((time.monotonic() - t0) * 1000)
        check(r.status == 200, f"{method} {path}: {r!r}")
        last = r
    return lat, last


class Workers:
    """The swarm_load --agents process and the events it prints."""

    def __init__(self, binary, token, n, tmp):
        self.n = n
        self.cond = threading.Condition()
        self.node_ids = {}  # index -> node ID
        self.secrets = {}  # secret ID -> {node index: (t_ms, sha)}
        self.starts = 0
        self.connected = None
        self.err_path = os.path.join(tmp, "swarm_load.err")
        err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([binary, ADDR, token, str(n), "86400", "--agents"],
                                     stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                     preexec_fn=harness.die_with_parent)
        err.close()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

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
                        per = self.secrets.setdefault(ev["id"], {})
                        per.setdefault(ev["node"], (ev["t_ms"], ev["sha"]))
                    elif ev["event"] == "start":
                        self.starts += 1
                self.cond.notify_all()
        with self.cond:
            self.connected = self.connected if self.connected is not None else -1
            self.cond.notify_all()

    def wait(self, pred, timeout):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def secret_nodes(self, secret_id):
        with self.cond:
            return dict(self.secrets.get(secret_id, {}))

    def stderr_tail(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.reader.join(10)


def secret_ref(sid, name, target):
    return {"File": {"Name": target, "UID": "0", "GID": "0", "Mode": 0o444},
            "SecretID": sid, "SecretName": name}


def service_spec(name, refs=(), mode=None, parallelism=1):
    return {"Name": name,
            "TaskTemplate": {"ContainerSpec": {"Image": IMAGE, "Args": ["sleep", "1d"],
                                               "Secrets": list(refs)},
                             "RestartPolicy": {"Condition": "any", "Delay": 0}},
            "Mode": mode or {"Replicated": {"Replicas": 1}},
            "UpdateConfig": {"Parallelism": parallelism, "Delay": 0, "Order": "stop-first",
                             "FailureAction": "pause"}}


def sha16(value):
    return hashlib.sha256(value).hexdigest()[:16]


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = {"params": {"secrets": args.secrets, "services": args.services,
                               "workers": args.workers, "reps": args.reps},
                    "machine": machine(), "memory": {}}
        self.m = None
        self.workers = None
        self.values = {}  # secret ID -> value (bench data only; never printed)
        self.names = {}
        self.first_ms, self.median_ms = [], []  # per fan-out: first and median worker

    def api(self, method, path, body=None, query=None):
        return self.m.api(method, path, body=body, query=query)

    def mem(self, label):
        self.out["memory"][label] = {"capsuled": proc_mem(self.m.pid),
                                     "etcd": proc_mem(self.m.etcd_pid())}
        if self.workers is not None:
            self.out["memory"][label]["swarm_load"] = proc_mem(self.workers.proc.pid)
        print(f"# memory {label}: {json.dumps(self.out['memory'][label])}", flush=True)

    def create_secret(self, client, name):
        value = os.urandom(32)
        r = client.request("POST", "/secrets/create", {"Name": name, "Data": harness.b64(value)})
        check(r.status == 201, f"create secret {name}: {r!r}")
        sid = r.json()["ID"]
        return sid, value

    # ---- phases ---------------------------------------------------------------------------
    def setup(self, tmp):
        level = self.args.log_level

        class Manager(harness.Daemon):
            def command(self):
                cmd = super().command()
                cmd[cmd.index("--log-level") + 1] = level
                return cmd

        self.m = Manager(IP, name="scale", extra_args=["--hostname", "scale-mgr"])
        SOCK[0] = self.m.sock
        self.m.swarm_init()
        r = self.m.docker(["node", "update", "--availability", "drain", "scale-mgr"])
        check(r.returncode == 0, f"drain: {r.stderr!r}")
        self.token = self.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        check(self.token.startswith("SWMTKN-"), "worker token")
        time.sleep(2)
        self.mem("idle")

    def phase_secrets(self):
        n = self.args.secrets

        def create(client, i):
            return self.create_secret(client, f"scale-s-{i}")

        secs, res = parallel(n, 16, create)
        for i, (sid, value) in enumerate(res):
            self.values[sid] = value
            self.names[sid] = f"scale-s-{i}"
        self.mem("after_creates")
        lat, r = timed(self.api, "GET", "/secrets", 20)
        listed, list_bytes = r.json(), len(r.body)
        check(len(listed) == n, f"GET /secrets lists {len(listed)}, want {n}")
        check(all("Data" not in s["Spec"] for s in listed), "a listed secret carries Data")
        ids = random.sample(sorted(self.values), min(200, n))
        inspect = []
        for sid in ids:
            t0 = time.monotonic()
            r = self.api("GET", f"/secrets/{sid}")
            inspect.append((time.monotonic() - t0) * 1000)
            check(r.status == 200 and r.json()["ID"] == sid, f"inspect {sid}: {r!r}")
        self.out["secrets"] = {
            "created": n, "clients": 16, "create_s": round(secs, 2),
            "creates_per_s": round(n / secs, 1),
            "list_ms_p50": pct(lat, 50), "list_ms_p99": pct(lat, 99), "list_bytes": list_bytes,
            "inspect_ms_p50": pct(inspect, 50), "inspect_ms_p99": pct(inspect, 99)}
        print(f"# secrets: {json.dumps(self.out['secrets'])}", flush=True)
        self.mem("after_secrets")

    def start_workers(self, tmp):
        w = self.args.workers
        t0 = time.monotonic()
        self.workers = Workers(self.args.swarm_load, self.token, w, tmp)
        ok = self.workers.wait(lambda: self.workers.connected is not None, 60 + w)
        check(ok and self.workers.connected == w,
              f"workers connected: {self.workers.connected}\n{self.workers.stderr_tail()}")
        joined = time.monotonic() - t0

        def all_ready():
            nodes = self.api("GET", "/nodes").json()
            return sum(x["Status"]["State"] == "ready" for x in nodes) == w + 1

        check(harness.wait_until(all_ready, 60, 0.2), "not every worker is Ready")
        self.out["workers"] = {"count": w, "join_and_connect_s": round(joined, 2),
                               "ready_s": round(time.monotonic() - t0, 2)}
        print(f"# workers: {json.dumps(self.out['workers'])}", flush=True)
        time.sleep(5)  # a heartbeat period of steady state
        self.mem("with_workers")

    def phase_services(self):
        n = self.args.services
        secret_ids = sorted(self.values)
        with_secret = {}  # service index -> secret ID

        def create(client, i):
            refs = []
            if i % 10 == 0:
                sid = secret_ids[i % len(secret_ids)]
                with_secret[i] = sid
                refs = [secret_ref(sid, self.names[sid], "s")]
            r = client.request("POST", "/services/create",
                               service_spec(f"scale-svc-{i}", refs))
            check(r.status == 201, f"create service {i}: {r!r}")
            return r.json()["ID"]

        t0 = time.monotonic()
        secs, svc_ids = parallel(n, 16, create)
        ours = set(svc_ids)

        def running():
            tasks = self.api("GET", "/tasks",
                             query={"filters": json.dumps({"desired-state": ["running"]})}).json()
            return sum(1 for t in tasks
                       if t["ServiceID"] in ours and t["Status"]["State"] == "running")

        deadline = time.monotonic() + 120 + n * 0.3
        count = 0
        while time.monotonic() < deadline:
            count = running()
            if count == n:
                break
            time.sleep(0.25)
        all_running = time.monotonic() - t0
        check(count == n, f"{count} of {n} service tasks RUNNING")
        lat_s, r = timed(self.api, "GET", "/services", 10)
        check(len(r.json()) == n, f"GET /services lists {len(r.json())}, want {n}")
        lat_t, r = timed(self.api, "GET", "/tasks", 10)
        tasks = r.json()
        check(sum(t["ServiceID"] in ours for t in tasks) == n,
              f"GET /tasks lists {len(tasks)} tasks, want {n}")
        # Least privilege at scale: a replicated service's secret went to its task's node only.
        node_of = {t["ServiceID"]: t["NodeID"] for t in tasks}
        index_of = {nid: i for i, nid in self.workers.node_ids.items()}
        for i, sid in with_secret.items():
            want_node = index_of.get(node_of[svc_ids[i]])
            got = self.workers.secret_nodes(sid)
            check(want_node in got, f"secret {sid} never reached node {want_node}")
            check(got[want_node][1] == sha16(self.values[sid]), f"secret {sid}: wrong bytes")
            users = {index_of.get(node_of[svc_ids[j]]) for j, s in with_secret.items()
                     if s == sid}
            check(set(got) <= users, f"secret {sid} reached nodes {sorted(got)}, "
                                     f"only {sorted(users)} run tasks using it")
        self.out["services"] = {
            "created": n, "with_secret": len(with_secret), "clients": 16,
            "create_s": round(secs, 2), "creates_per_s": round(n / secs, 1),
            "all_running_s": round(all_running, 2),
            "list_services_ms_p50": pct(lat_s, 50), "list_services_ms_p99": pct(lat_s, 99),
            "list_tasks_ms_p50": pct(lat_t, 50), "list_tasks_ms_p99": pct(lat_t, 99)}
        print(f"# services: {json.dumps(self.out['services'])}", flush=True)
        self.mem("after_services")

    def wait_fanout(self, sid, t0_ms, what):
        w = self.args.workers
        want = sha16(self.values[sid])
        ok = self.workers.wait(lambda: len(self.workers.secrets.get(sid, {})) >= w,
                               60 + w * 0.5)
        got = self.workers.secret_nodes(sid)
        check(ok, f"{what}: secret reached {len(got)} of {w} workers")
        check(all(sha == want for (_, sha) in got.values()), f"{what}: wrong bytes")
        times = sorted(t - t0_ms for (t, _) in got.values())
        self.first_ms.append(times[0])
        self.median_ms.append(times[len(times) // 2])
        return times[-1]

    def remove_service(self, service_id):
        """Deletes a service and waits until its tasks are gone (every worker reported its
        task shut down), so the next repetition does not overlap with this teardown."""
        r = self.api("DELETE", f"/services/{service_id}")
        check(r.status == 200, f"delete service: {r!r}")
        gone = harness.wait_until(
            lambda: not any(t["ServiceID"] == service_id
                            for t in self.api("GET", "/tasks").json()), 120, 0.25)
        check(gone, f"tasks of removed service {service_id} still listed after 120 s")

    def settle(self, service_id):
        """Waits until the service's tasks that should run all run and no other is still
        shutting down (the previous update finished on every worker)."""
        def settled():
            tasks = self.api("GET", "/tasks", query={
                "filters": json.dumps({"service": [service_id]})}).json()
            want = [t for t in tasks if t["DesiredState"] == "running"]
            stopping = [t for t in tasks if t["DesiredState"] != "running"
                        and t["Status"]["State"] in ("assigned", "accepted", "preparing",
                                                     "ready", "starting", "running")]
            return (len(want) == self.args.workers and not stopping
                    and all(t["Status"]["State"] == "running" for t in want))
        check(harness.wait_until(settled, 120, 0.25), f"service {service_id} does not settle")

    def new_secret(self, name):
        sid, value = self.create_secret(self.m.client, name)
        self.values[sid] = value
        self.names[sid] = name
        return sid

    def phase_fanout(self):
        create_ms, add_ms = [], []
        glob = {"Global": {}}
        for rep in range(self.args.reps):
            sid = self.new_secret(f"scale-fan-c{rep}")
            t0 = time.time() * 1000
            r = self.api("POST", "/services/create",
                         service_spec(f"scale-glob-c{rep}",
                                      [secret_ref(sid, self.names[sid], "f")], glob, 0))
            check(r.status == 201, f"create global service: {r!r}")
            create_ms.append(self.wait_fanout(sid, t0, "global create"))
            self.remove_service(r.json()["ID"])
        r = self.api("POST", "/services/create", service_spec("scale-glob-add", [], glob, 0))
        check(r.status == 201, f"create global service: {r!r}")
        gid = r.json()["ID"]
        base = self.new_secret("scale-fan-base")
        svc = self.api("GET", f"/services/{gid}").json()
        spec = svc["Spec"]
        spec["TaskTemplate"]["ContainerSpec"]["Secrets"] = [secret_ref(base, "scale-fan-base",
                                                                       "base")]
        r = self.api("POST", f"/services/{gid}/update", spec,
                     query={"version": svc["Version"]["Index"]})
        check(r.status == 200, f"update: {r!r}")
        self.wait_fanout(base, time.time() * 1000, "warm-up secret-add")
        for rep in range(self.args.reps):
            self.settle(gid)
            sid = self.new_secret(f"scale-fan-a{rep}")
            svc = self.api("GET", f"/services/{gid}").json()
            spec = svc["Spec"]
            spec["TaskTemplate"]["ContainerSpec"]["Secrets"].append(
                secret_ref(sid, self.names[sid], f"a{rep}"))
            t0 = time.time() * 1000
            r = self.api("POST", f"/services/{gid}/update", spec,
                         query={"version": svc["Version"]["Index"]})
            check(r.status == 200, f"secret-add update: {r!r}")
            add_ms.append(self.wait_fanout(sid, t0, "secret-add"))
        self.out["fanout"] = {
            "workers": self.args.workers, "reps": self.args.reps,
            "global_create_ms": create_ms, "global_create_ms_p50": pct(create_ms, 50),
            "secret_add_ms": add_ms, "secret_add_ms_p50": pct(add_ms, 50),
            # per fan-out (the create reps, a warm-up secret-add, then the secret-add reps):
            # when the first and the median worker got the secret
            "first_worker_ms": [round(x) for x in self.first_ms],
            "median_worker_ms": [round(x) for x in self.median_ms]}
        print(f"# fanout: {json.dumps(self.out['fanout'])}", flush=True)
        self.mem("end")

    def run(self):
        return run_guarded(self, "scale-", self.phases)

    def phases(self, tmp):
        self.setup(tmp)
        self.phase_secrets()
        if not self.args.secrets_only:
            self.start_workers(tmp)
            self.phase_services()
            self.phase_fanout()


def run_guarded(bench, prefix, body):
    """Runs body(tmp) with a fresh temp dir, then records in bench.out whether it passed ("ok",
    "failure", the end load average), always stops bench.workers and bench.m, and removes the
    dir. Shared by this bench and rotation_bench.py. → bench.out"""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        body(tmp)
        bench.out["machine"]["loadavg_end"] = list(os.getloadavg())
        bench.out["ok"] = True
    except Failed as e:
        bench.out["ok"] = False
        bench.out["failure"] = str(e)
        print(f"FAILED: {e}", file=sys.stderr)
        if bench.m is not None:
            print(bench.m.log_tail(30), file=sys.stderr)
    finally:
        if bench.workers is not None:
            bench.workers.stop()
        if bench.m is not None:
            bench.m.close()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    return bench.out


def emit(out, json_name):
    """Prints the figures as JSON, also to $PROVE_OUT/<json_name> when set; the exit status.
    Shared by this bench and rotation_bench.py."""
    text = json.dumps(out, indent=2)
    print(text)
    if os.environ.get("PROVE_OUT"):
        os.makedirs(os.environ["PROVE_OUT"], exist_ok=True)
        with open(os.path.join(os.environ["PROVE_OUT"], json_name), "w") as f:
            f.write(text + "\n")
    return 0 if out.get("ok") else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--secrets", type=int, default=10000)
    p.add_argument("--services", type=int, default=1000)
    p.add_argument("--workers", type=int, default=200)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--log-level", default="info", help="capsuled's (debug: for profiling)")
    p.add_argument("--short", action="store_true", help="500 secrets, 50 services, 20 workers")
    p.add_argument("--secrets-only", action="store_true",
                   help="only the secrets phase (creates, 20 lists, inspects, memory after them)")
    p.add_argument("--swarm-load", default=os.environ.get(
        "SWARM_LOAD", os.path.join(HERE, "..", "build", "bin", "swarm_load")))
    args = p.parse_args()
    if args.short:
        args.secrets, args.services, args.workers = 500, 50, 20
    return emit(Bench(args).run(), "scale.json")


if __name__ == "__main__":
    sys.exit(main())
