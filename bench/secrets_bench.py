#!/usr/bin/env python3
"""Secret API benchmark over a Docker Engine API unix socket (capsuled or dockerd).

  secrets_bench.py --socket /run/docker-anchor.sock --json out.json [--quick]

Phases (every loop is bounded; only the given unix socket is contacted):
  1. create_seq      N (500) sequential creates on one keep-alive connection
  2. list_1000       topped up to 1,000 secrets (16-client creator), 20 x GET /secrets
  3. inspect         1,000 x GET /secrets/{id} (1,000 present)
  4. create_conc     16 clients (threads, one keep-alive connection each), 2,000 creates total
  5. list_10000      topped up to 10,000 secrets, 20 x GET /secrets
  6. delete          every secret this run created (16 clients)
Prints a table (ms) and writes JSON. Secrets it creates are named <prefix><n>; they are
deleted at the end (also after an error or Ctrl-C).
Python 3 stdlib only.
"""

import argparse
import base64
import http.client
import json
import os
import statistics
import sys
import threading
import time

API = "v1.41"


# One unix-socket HTTP connection class for tests and benchmarks: the harness's.
from harness import UnixHTTPConnection as UnixConn


class Client:
    def __init__(self, path):
        self.path = path
        self.conn = UnixConn(path)

    def call(self, method, path, body=None):
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.conn.request(method, f"/{API}{path}", body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                if r.will_close:
                    self.conn.close()
                return r.status, payload
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = UnixConn(self.path)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        self.conn.close()


def pct(sorted_ms, p):
    if not sorted_ms:
        return None
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


def summary(samples_ms, **extra):
    s = sorted(samples_ms)
    out = {"n": len(s), "p50_ms": round(statistics.median(s), 3), "p90_ms": round(pct(s, 90), 3),
           "p99_ms": round(pct(s, 99), 3), "min_ms": round(s[0], 3), "max_ms": round(s[-1], 3),
           "mean_ms": round(sum(s) / len(s), 3)}
    out.update(extra)
    return out


class Bench:
    def __init__(self, sock, prefix):
        self.sock = sock
        self.prefix = prefix
        self.counter = 0
        self.lock = threading.Lock()
        self.created = []  # IDs created by this run

    def next_name(self):
        with self.lock:
            self.counter += 1
            return f"{self.prefix}{self.counter:06d}"

    def create_one(self, c):
        name = self.next_name()
        body = {"Name": name, "Labels": {"bench": "1"},
                "Data": base64.b64encode(os.urandom(32)).decode()}
        t0 = time.perf_counter()
        st, payload = c.call("POST", "/secrets/create", body)
        dt = (time.perf_counter() - t0) * 1000
        if st != 201:
            raise RuntimeError(f"create {name}: HTTP {st} {payload[:200]!r}")
        with self.lock:
            self.created.append(json.loads(payload)["ID"])
        return dt

    def create_seq(self, n):
        c = Client(self.sock)
        times = [self.create_one(c) for _ in range(n)]
        c.close()
        return summary(times)

    def parallel(self, total, clients, op):
        """Runs op(client) total times spread over `clients` threads; returns (times, wall_s)."""
        times = []
        errors = []
        left = [total]

        def worker():
            c = Client(self.sock)
            mine = []
            try:
                while True:
                    with self.lock:
                        if left[0] <= 0 or errors:
                            break
                        left[0] -= 1
                    mine.append(op(c))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                c.close()
                with self.lock:
                    times.extend(mine)

        ts = [threading.Thread(target=worker) for _ in range(clients)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wall = time.perf_counter() - t0
        if errors:
            raise errors[0]
        return times, wall

    def create_conc(self, total, clients):
        times, wall = self.parallel(total, clients, self.create_one)
        return summary(times, clients=clients, wall_s=round(wall, 3),
                       ops_per_s=round(total / wall, 1))

    def count(self):
        c = Client(self.sock)
        st, payload = c.call("GET", "/secrets")
        c.close()
        if st != 200:
            raise RuntimeError(f"list: HTTP {st} {payload[:200]!r}")
        return len(json.loads(payload))

    def top_up(self, target, clients=16):
        have = self.count()
        if have < target:
            self.parallel(target - have, clients, self.create_one)
        have = self.count()
        if have != target:
            print(f"note: {have} secrets present (wanted {target})", file=sys.stderr)
        return have

    def list_reps(self, reps):
        c = Client(self.sock)
        times = []
        size = count = 0
        for _ in range(reps):
            t0 = time.perf_counter()
            st, payload = c.call("GET", "/secrets")
            times.append((time.perf_counter() - t0) * 1000)
            if st != 200:
                raise RuntimeError(f"list: HTTP {st}")
            size = len(payload)
        count = len(json.loads(payload))
        c.close()
        return summary(times, secrets=count, bytes=size)

    def inspect_reps(self, reps):
        c = Client(self.sock)
        sid = self.created[len(self.created) // 2]
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            st, payload = c.call("GET", f"/secrets/{sid}")
            times.append((time.perf_counter() - t0) * 1000)
            if st != 200:
                raise RuntimeError(f"inspect: HTTP {st}")
        c.close()
        return summary(times)

    def delete_all(self, clients=16):
        ids = list(self.created)
        it = iter(ids)
        it_lock = threading.Lock()

        def op(c):
            with it_lock:
                sid = next(it)
            t0 = time.perf_counter()
            st, payload = c.call("DELETE", f"/secrets/{sid}")
            if st not in (204, 404):
                raise RuntimeError(f"delete {sid}: HTTP {st} {payload[:200]!r}")
            return (time.perf_counter() - t0) * 1000

        if not ids:
            return None
        times, wall = self.parallel(len(ids), clients, op)
        self.created = []
        return summary(times, clients=clients, wall_s=round(wall, 3),
                       ops_per_s=round(len(ids) / wall, 1))


def server_info(sock):
    c = Client(sock)
    st, payload = c.call("GET", "/version")
    c.close()
    try:
        v = json.loads(payload)
        return {"server": v.get("Version"), "platform": (v.get("Platform") or {}).get("Name"),
                "api": v.get("ApiVersion")}
    except ValueError:
        return {"server": None}


def print_table(res):
    print(f"{'phase':<14}{'n':>7}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'ops/s':>10}  note")
    for k, v in res.items():
        if not isinstance(v, dict):
            continue
        note = ""
        if "secrets" in v:
            note = f"{v['secrets']} secrets, {v['bytes']} bytes"
        if "clients" in v:
            note = f"{v['clients']} clients, wall {v['wall_s']} s"
        ops = f"{v['ops_per_s']:.0f}" if "ops_per_s" in v else "-"
        print(f"{k:<14}{v['n']:>7}{v['p50_ms']:>10.3f}{v['p90_ms']:>10.3f}{v['p99_ms']:>10.3f}"
              f"{ops:>10}  {note}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--socket", required=True, help="unix socket of capsuled or dockerd")
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--label", default="", help="name of the target in the output")
    ap.add_argument("--prefix", default="bench-", help="name prefix of created secrets")
    ap.add_argument("--seq", type=int, default=500)
    ap.add_argument("--conc-total", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--inspect", type=int, default=1000)
    ap.add_argument("--list-reps", type=int, default=20)
    ap.add_argument("--big", type=int, default=10000, help="secrets present for the 2nd list")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    a = ap.parse_args()
    if a.quick:
        a.seq, a.conc_total, a.inspect, a.list_reps, a.big = 50, 200, 100, 5, 1500
    b = Bench(a.socket, a.prefix)
    out = {"label": a.label, "socket": a.socket, "started": time.strftime("%FT%TZ", time.gmtime()),
           "loadavg_start": open("/proc/loadavg").read().split()[:3], "info": server_info(a.socket)}
    res = {}
    try:
        pre = b.count()
        out["preexisting_secrets"] = pre
        res["create_seq"] = b.create_seq(a.seq)
        b.top_up(1000)
        res["list_1000"] = b.list_reps(a.list_reps)
        res["inspect"] = b.inspect_reps(a.inspect)
        res["create_conc"] = b.create_conc(a.conc_total, a.clients)
        if a.big > 0:
            b.top_up(a.big)
            res["list_10000" if a.big == 10000 else f"list_{a.big}"] = b.list_reps(a.list_reps)
    finally:
        d = b.delete_all()
        if d:
            res["delete"] = d
    out["results"] = res
    out["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    print(f"# {a.label or a.socket}: {out['info']}, loadavg {out['loadavg_start']} -> "
          f"{out['loadavg_end']}, preexisting secrets {out.get('preexisting_secrets')}")
    print_table(res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
