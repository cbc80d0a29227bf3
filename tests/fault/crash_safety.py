#!/usr/bin/env python3
"""Crash safety under load: kill -9 capsuled, its etcd member, or a worker, and check that no
acknowledged write is lost, nothing deleted comes back, every surviving secret reads back
exactly (through a task), the daemon serves again, and a dead worker leaves nothing behind.

Run (from the checkout; binaries from $CAPSULED / $CAPSULE_CLI as in tests/harness):
  PYTHONPATH=tests python3 tests/fault/crash_safety.py --capsuled-rounds 20 --etcd-rounds 20 \
      --worker-rounds 3
  PYTHONPATH=tests python3 tests/fault/crash_safety.py --short  # = 2 / 2 / 2 (CTest
      # fault.crash_safety_short)
With $PROVE_OUT set, writes $PROVE_OUT/faults.json. Exit status 0 only if every check passed.
Addresses: 127.0.18.1 (manager rounds), 127.0.22.1-3 (worker rounds).
"""

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

import harness
import verify
import worker_kill
from harness import busybox_image
from ledger import Ledger

MANAGER_IP = "127.0.18.1"
CLIENTS = 16
LOG_SAMPLE = 200        # secret values searched for in the daemon log each round
OLD_SAMPLE = 40         # already verified secrets read again through a task each round


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def listed(d):
    r = d.api("GET", "/secrets")
    if r.status != 200:
        raise AssertionError(f"GET /secrets: {r!r}")
    return {s["ID"]: s["Spec"]["Name"] for s in r.json()}


def serve_again(d, ledger, kill_t, timeout=90):
    """Milliseconds from kill_t until one create (201) and then one list (200) succeed."""
    c = harness.ApiClient(d.sock, timeout=10)
    created = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                if not created:
                    name = ledger.new_name("probe")
                    data = os.urandom(32)
                    ledger.count("creates_sent")
                    r = c.request("POST", "/secrets/create",
                                  {"Name": name, "Data": harness.b64(data)}, retry=False)
                    if r.status == 201:
                        ledger.acked_create(name, r.json()["ID"], data)
                        created = True
                    elif r.status < 500:
                        raise AssertionError(f"probe create answered {r!r}")
                if created:
                    r = c.request("GET", "/secrets", retry=False)
                    if r.status == 200:
                        return (time.monotonic() - kill_t) * 1000.0
            except OSError:
                c.close()
            time.sleep(0.02)
    finally:
        c.close()
    raise AssertionError(f"not serving {timeout}s after the kill\n{d.log_tail()}")


def reconcile_and_verify(ledger, via, rng, figures, problems, rnd, *, final, old_sample, tag,
                         by_name=0, constraints=None):
    """One round's check through `via`, shared by the fault scripts: every acknowledged create
    is listed with its ID, no acknowledged delete is listed, `by_name` sampled names answer
    their acknowledged ID, and the secrets not yet verified (plus `old_sample` older ones;
    all of them when `final`) read back with their exact bytes through a task. Adds to
    `figures`, appends to `problems`; returns (secrets read through a task, live secrets)."""
    lost, resurrected, wrong = ledger.reconcile(listed(via))
    figures["lost_acknowledged_writes"] += len(lost) + len(wrong)
    figures["resurrected_deletes"] += len(resurrected)
    for what, names in (("lost", lost), ("wrong name/ID", wrong), ("resurrected", resurrected)):
        if names:
            problems.append(f"round {rnd}: {len(names)} {what}: {names[:5]}")
    live = dict(ledger.live)
    for name in rng.sample(sorted(live), min(by_name, len(live))):
        r = via.api("GET", f"/secrets/{name}")
        if r.status != 200 or r.json()["ID"] != live[name].id:
            figures["lost_acknowledged_writes"] += 1
            problems.append(f"round {rnd}: GET by name {name}: {r!r}")
    todo = [live[n] for n in sorted(ledger.unverified) if n in live]
    if final:
        todo = list(live.values())
    else:
        old = [s for n, s in live.items() if n not in ledger.unverified]
        todo += rng.sample(old, min(old_sample, len(old)))
    verified, corrupt = verify.hashes_through_task(via, todo, tag, constraints=constraints)
    figures["verified_through_task"] += verified
    figures["corrupt"] += len(corrupt)
    if corrupt:
        problems.append(f"round {rnd}: {len(corrupt)} corrupt: {corrupt[:3]}")
    ledger.unverified.clear()
    return len(todo), len(live)


class ManagerRounds:
    def __init__(self, args, tmp):
        self.args = args
        self.rng = random.Random(args.seed)
        self.ledger = Ledger(args.seed)
        self.d = harness.Daemon(MANAGER_IP, name="crash", extra_args=["--hostname", "crash"])
        self.d.swarm_init()
        rootfs = busybox_image.build_rootfs_tar(os.path.join(tmp, "rootfs.tar"))
        r = self.d.docker(["import", rootfs, verify.IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {r.stderr!r}\n{self.d.log_tail()}")
        self.serve_ms = {"capsuled": [], "etcd": []}
        self.serve_by_round = []  # [kind, ms] in round order (does recovery slow down?)
        self.problems = []
        self.figures = {"lost_acknowledged_writes": 0, "resurrected_deletes": 0, "corrupt": 0,
                        "verified_through_task": 0, "log_values_checked": 0, "log_leaks": 0}
        self.etcd_behaviour = set()
        self.capsuled_behaviour = set()

    def close(self):
        self.d.close()

    def load_and_kill(self, kind, rnd):
        stop = threading.Event()
        threads = [threading.Thread(target=self.ledger.client_loop,
                                    args=(self.d.sock, f"{kind[0]}{rnd}-{i}", stop,
                                          self.rng.random(), 30), daemon=True)
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(self.rng.uniform(0.5, 3.0))
        old_etcd = self.d.etcd_pid()
        kill_t = time.monotonic()
        if kind == "capsuled":
            self.d.kill9()
        else:
            os.kill(old_etcd, signal.SIGKILL)
        if kind == "capsuled":
            stop.set()
            for t in threads:
                t.join(60)
            etcd_survived = harness.pid_alive(old_etcd)
            self.d.start(timeout=60)
            new = self.d.etcd_pid()
            self.capsuled_behaviour.add(
                ("old etcd member still alive after the kill; " if etcd_survived
                 else "old etcd member gone with capsuled; ")
                + ("restarted capsuled runs a new member" if new != old_etcd
                   else "restarted capsuled reuses the old member"))
        ms = serve_again(self.d, self.ledger, kill_t)
        stop.set()  # etcd rounds: the load kept writing while the member was down
        for t in threads:
            t.join(60)
        if any(t.is_alive() for t in threads):
            raise AssertionError("a client thread hangs after the kill")
        if kind == "etcd":
            if not self.d.running():
                self.problems.append(f"round {rnd}: capsuled exited after its etcd was killed")
                self.etcd_behaviour.add("capsuled exited")
            new = self.d.etcd_pid()
            self.etcd_behaviour.add("member restarted by capsuled (new PID)"
                                    if new and new != old_etcd and harness.pid_alive(new)
                                    else f"etcd pid {old_etcd} -> {new}")
        self.serve_ms[kind].append(ms)
        self.serve_by_round.append([kind, round(ms)])
        return ms

    def check(self, rnd, final=False):
        f = self.figures
        checked, live = reconcile_and_verify(
            self.ledger, self.d, self.rng, f, self.problems, rnd, final=final,
            old_sample=OLD_SAMPLE, tag=f"r{rnd}", by_name=20)
        # The daemon log holds none of the values (a sample each round, all at the end).
        values = self.ledger.values() + [s.data for s in self.ledger.deleted_values]
        sample = values if final else self.rng.sample(values, min(LOG_SAMPLE, len(values)))
        blob = self.d.log_bytes()
        f["log_values_checked"] += len(sample)
        leaks = verify.leaks_in_bulk(blob, sample) if final else verify.leaks_in(blob, sample)
        f["log_leaks"] += leaks
        if leaks:
            self.problems.append(f"round {rnd}: {leaks} secret values found in capsuled.log")
        return checked, live

    def positive_controls(self):
        """The checks can fail: a planted value is found in a log copy; a wrong expected hash
        is reported corrupt; a missing ID is reported lost."""
        live = [s for s in self.ledger.live.values() if len(s.data) >= 12]
        s = live[0]
        if verify.leaks_in(b"log " + harness.b64(b"Z" + s.data).encode() + b" x", [s.data]) != 1:
            self.problems.append("control: planted base64 value not found by the log scan")
        # The bulk scan (used for the final all-values check) on the real log with two plants.
        t = live[-1]
        planted = self.d.log_bytes() + harness.b64(b"ZZ" + s.data).encode() + b"\n" + t.data
        if verify.leaks_in_bulk(planted, [x.data for x in live]) != 2:
            self.problems.append("control: planted values not found by the bulk log scan")
        fake = type(s)(s.name, s.id, s.data + b"!")
        _, corrupt = verify.hashes_through_task(self.d, [fake], "control")
        if len(corrupt) != 1:
            self.problems.append("control: a wrong expected hash was not reported corrupt")
        probe = Ledger(0)
        probe.live["x"] = type(s)("x", "nosuchid0000000000000000", b"x")
        if probe.reconcile(listed(self.d))[0] != ["x"]:
            self.problems.append("control: a missing secret was not reported lost")

    def run(self):
        kinds = ["capsuled"] * self.args.capsuled_rounds + ["etcd"] * self.args.etcd_rounds
        self.rng.shuffle(kinds)
        for rnd, kind in enumerate(kinds, 1):
            t0 = time.monotonic()
            ms = self.load_and_kill(kind, rnd)
            checked, live = self.check(rnd)
            c = self.ledger.counts
            log(f"round {rnd}/{len(kinds)} kill {kind}: serving again after {ms:.0f} ms; "
                f"{c['creates_acknowledged']} creates / {c['deletes_acknowledged']} deletes "
                f"acked, {c['unknown_outcomes']} unknown, {c['failed']} failed so far; "
                f"{live} live, {checked} read through a task "
                f"({time.monotonic() - t0:.1f} s)")
        if kinds:
            self.check(len(kinds) + 1, final=True)
            self.positive_controls()
            log(f"final: every live secret ({len(self.ledger.live)}) read through a task")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--capsuled-rounds", type=int, default=2)
    p.add_argument("--etcd-rounds", type=int, default=2)
    p.add_argument("--worker-rounds", type=int, default=2)
    p.add_argument("--short", action="store_true", help="2 capsuled, 2 etcd, 2 worker rounds")
    p.add_argument("--seed", type=int, default=int(time.time()))
    args = p.parse_args()
    if args.short:
        args.capsuled_rounds, args.etcd_rounds, args.worker_rounds = 2, 2, 2
    log(f"seed {args.seed}: {args.capsuled_rounds} capsuled, {args.etcd_rounds} etcd, "
        f"{args.worker_rounds} worker rounds")
    tmp = tempfile.mkdtemp(prefix="cpf-", dir="/tmp")
    problems, out = [], {}
    t0 = time.monotonic()
    try:
        if args.capsuled_rounds or args.etcd_rounds:
            m = ManagerRounds(args, tmp)
            try:
                m.run()
            finally:
                m.close()
            problems += m.problems
            c = m.ledger.counts
            out.update({"creates_acknowledged": c["creates_acknowledged"],
                        "deletes_acknowledged": c["deletes_acknowledged"],
                        "unknown_outcomes": c["unknown_outcomes"],
                        "failed_requests": c["failed"],
                        "unknown_creates_present": c["unknown_creates_present"],
                        "failed_creates_present": c["failed_creates_present"],
                        "unknown_deletes_not_done": c["unknown_deletes_not_done"]})
            out.update(m.figures)
            out["serve_again_ms"] = worker_kill.pct(m.serve_ms["capsuled"] + m.serve_ms["etcd"])
            out["serve_again_capsuled_ms"] = worker_kill.pct(m.serve_ms["capsuled"])
            out["serve_again_etcd_ms"] = worker_kill.pct(m.serve_ms["etcd"])
            out["serve_again_ms_by_round"] = m.serve_by_round
            out["etcd_kill_behaviour"] = sorted(m.etcd_behaviour)
            out["capsuled_kill_behaviour"] = sorted(m.capsuled_behaviour)
            out["failure_samples"] = [list(x) for x in m.ledger.failures[:5]]
        w = worker_kill.WorkerRounds(args.worker_rounds, args.seed, tmp, log)
        if args.worker_rounds:
            try:
                w.run()
            finally:
                w.close()
            problems += w.problems
        out.update(w.figures())
    except Exception as e:  # noqa: BLE001 - reported as a failure with its cause
        problems.append(f"aborted: {type(e).__name__}: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out.update({"capsuled_kill_rounds": args.capsuled_rounds, "etcd_kill_rounds": args.etcd_rounds,
                "worker_kill_rounds": args.worker_rounds, "seed": args.seed,
                "wall_s": round(time.monotonic() - t0, 1), "problems": problems,
                "passed": not problems})
    return report(out, problems, "faults.json")


def report(out, problems, name):
    """Prints the run's JSON, writes it to $PROVE_OUT/<name> when set, logs the verdict;
    returns the exit status (0 only without problems)."""
    print(json.dumps(out, indent=1))
    if os.environ.get("PROVE_OUT"):
        os.makedirs(os.environ["PROVE_OUT"], exist_ok=True)
        with open(os.path.join(os.environ["PROVE_OUT"], name), "w") as f:
            json.dump(out, f, indent=1)
    if problems:
        log("FAILED:\n  " + "\n  ".join(problems))
        return 1
    log("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
