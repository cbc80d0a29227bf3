#!/usr/bin/env python3
"""HA fault suite (issue 12's proof): a 3-manager swarm under a 16-client create/delete load sent
through the followers, while the leader is hit:
  - kill rounds: `kill -9` of the leader's whole node — its etcd member, its capsuled, then its
    tasks' shims and containers (by PID, as a machine that loses power) — then it starts again;
  - stop rounds: SIGSTOP of the leader's capsuled and its etcd member for 2.5–4 s (a paused or
    partitioned leader: the others elect a new one and its writes must be fenced), then SIGCONT;
  - restart-all rounds: `kill -9` of every manager's capsuled and etcd member at once, then all
    three start again together.
After every round, through a follower: every acknowledged create is listed with its ID (0 lost),
no acknowledged delete is listed (0 resurrected), the service `slots` (3 replicas) never has two
tasks meant to run in one slot (checked on every manager, also while the round runs) and is
back to one task per slot, and every secret created since the last round reads back with its
exact bytes through a task (a sample of older ones too; all of them at the end).

Run (from the checkout; binaries from $CAPSULED / $CAPSULE_CLI as in tests/harness):
  PYTHONPATH=tests python3 tests/fault/ha_faults.py --kill-rounds 10 --stop-rounds 5 \
      --restart-all-rounds 1
  PYTHONPATH=tests python3 tests/fault/ha_faults.py --short   # 2 / 1 / 1 (CTest fault.ha_faults_short)
With $PROVE_OUT set, writes $PROVE_OUT/ha_faults.json. Exit status 0 only if every check passed.
Addresses: 127.0.64.1-3.
"""

import argparse
import collections
import faulthandler
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time

import harness
import verify
import worker_kill
from crash_safety import listed, reconcile_and_verify, report, serve_again
from harness import busybox_image, ha_swarm
from ledger import Ledger

IPS = {"m1": "127.0.64.1", "m2": "127.0.64.2", "m3": "127.0.64.3"}
CLIENTS = 16
REPLICAS = 3
SLEEP = ["sh", "-c", 'trap "exit 0" TERM; sleep 1d & wait']
OLD_SAMPLE = 20


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class HaRounds:
    def __init__(self, args, tmp):
        self.args = args
        self.rng = random.Random(args.seed)
        self.ledger = Ledger(args.seed)
        self.cleanups = ha_swarm.Cleanups()
        self.d = ha_swarm.start(self.cleanups, IPS, ("m1", "m2", "m3"), heartbeat="1s")
        self.names = {d.api("GET", "/info").json()["Swarm"]["NodeID"]: n
                      for n, d in self.d.items()}
        rootfs = busybox_image.build_rootfs_tar(os.path.join(tmp, "rootfs.tar"))
        for d in self.d.values():
            r = d.docker(["import", rootfs, verify.IMAGE])
            if r.returncode != 0:
                raise AssertionError(f"docker import on {d.name}: {r.stderr!r}\n{d.log_tail()}")
        r = self.d["m1"].docker(["service", "create", "-d", "--name", "slots", "--replicas",
                                 str(REPLICAS), verify.IMAGE] + SLEEP)
        if r.returncode != 0:
            raise AssertionError(f"service create: {r.stderr!r}")
        self.problems = []
        self.serve_ms = collections.defaultdict(list)
        self.leader_ms = collections.defaultdict(list)
        self.figures = {"lost_acknowledged_writes": 0, "resurrected_deletes": 0, "corrupt": 0,
                        "verified_through_task": 0, "slot_samples": 0, "duplicate_slots": 0}
        self.paused = set()

    def close(self):
        for d in self.d.values():
            for pid in (d.pid, d.etcd_pid()):
                if pid and d.name in self.paused:
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
        self.cleanups.run()

    # ---- state -------------------------------------------------------------------------------
    def up(self):
        return [d for d in self.d.values() if d.running() and d.name not in self.paused]

    def leader(self, among=None, timeout=30):
        """The agreed leader among `among` (default: every manager up), waited for."""
        found = []

        def agreed():
            lead = ha_swarm.current_leader(among or self.up(), self.up(), self.names)
            if lead is not None:
                found.append(lead)
            return lead is not None
        if not harness.wait_until(agreed, timeout, 0.05):
            raise AssertionError("no agreed leader: "
                                 + str({d.name: ha_swarm.leader_seen_by(d, self.names)
                                        for d in self.up()}))
        return found[-1]

    def slots_meant_to_run(self, d):
        # Its own connection: the slot watcher runs beside the main thread, and a Daemon's
        # client is not shared between threads.
        c = harness.ApiClient(d.sock, timeout=10)
        try:
            r = c.request("GET", "/tasks", query={"filters": json.dumps({"service": ["slots"]})},
                          retry=False)
        finally:
            c.close()
        if r.status != 200:
            return None
        slots = collections.defaultdict(list)
        for t in r.json():
            if t["DesiredState"] == "running":
                slots[t["Slot"]].append(t["ID"])
        return slots

    def sample_slots(self, rnd):
        """One look at `slots` on every manager up: a slot with two tasks meant to run is a
        problem (returns whether every manager shows exactly one task per slot)."""
        converged = True
        for d in self.up():
            try:
                slots = self.slots_meant_to_run(d)
            except OSError:
                slots = None
            if slots is None:
                converged = False
                continue
            self.figures["slot_samples"] += 1
            for slot, ids in slots.items():
                if len(ids) > 1:
                    self.figures["duplicate_slots"] += 1
                    self.problems.append(f"round {rnd}: {d.name} shows slot {slot} with {ids}")
            if sorted(slots) != list(range(1, REPLICAS + 1)) or any(
                    len(v) != 1 for v in slots.values()):
                converged = False
        return converged

    # ---- a round -----------------------------------------------------------------------------
    def start_load(self, followers, tag):
        stop = threading.Event()
        threads = [threading.Thread(target=self.ledger.client_loop,
                                    args=(followers[i % len(followers)].sock, f"{tag}-{i}",
                                          stop, self.rng.random(), 30), daemon=True)
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        return stop, threads

    def stop_load(self, stop, threads):
        stop.set()
        for t in threads:
            t.join(60)
        if any(t.is_alive() for t in threads):
            raise AssertionError("a client thread hangs")

    def watch_slots(self, rnd, stop):
        while not stop.is_set():
            self.sample_slots(rnd)
            stop.wait(0.5)

    def fault(self, kind, leader, rnd):
        """Hits the leader (or everyone); returns when the fault is over (processes restarted or
        resumed). Returns the time of the hit."""
        if kind == "kill":
            etcd = leader.etcd_pid()
            t0 = time.monotonic()
            if etcd:
                os.kill(etcd, signal.SIGKILL)
            leader.kill9()
            leader.remove_tasks()  # its shims and containers: the whole machine is gone
            return t0
        if kind == "stop":
            pids = [p for p in (leader.pid, leader.etcd_pid()) if p]
            t0 = time.monotonic()
            for p in pids:
                os.kill(p, signal.SIGSTOP)
            self.paused.add(leader.name)
            return t0
        t0 = time.monotonic()  # restart-all
        for d in self.d.values():
            etcd = d.etcd_pid()
            if etcd:
                os.kill(etcd, signal.SIGKILL)
            d.kill9()
        return t0

    def recover(self, kind, leader):
        if kind == "kill":
            leader.start(timeout=60)
        elif kind == "stop":
            for p in (leader.pid, leader.etcd_pid()):
                if p:
                    os.kill(p, signal.SIGCONT)
            self.paused.discard(leader.name)

    def restart_all(self):
        # Launched one after another from this thread (see Daemon.launch), then waited for:
        # none serves before a second member of its etcd cluster is up.
        for d in self.d.values():
            d.launch()
        for d in self.d.values():
            d.wait_ready(timeout=90)

    def run_round(self, kind, rnd):
        leader = self.leader()
        followers = [d for d in self.up() if d is not leader]
        stop, threads = self.start_load(followers, f"{kind[0]}{rnd}")
        watch_stop = threading.Event()
        watcher = threading.Thread(target=self.watch_slots, args=(rnd, watch_stop), daemon=True)
        watcher.start()
        try:
            time.sleep(self.rng.uniform(0.5, 3.0))
            t0 = self.fault(kind, leader, rnd)
            if kind == "restart-all":
                self.stop_load(stop, threads)  # every socket went away
                self.restart_all()
                via = self.d["m2"]
            else:
                via = followers[0]
            ms = serve_again(via, self.ledger, t0)
            self.serve_ms[kind].append(ms)
            new = self.leader(among=[d for d in self.up() if kind == "restart-all"
                                     or d is not leader])
            self.leader_ms[kind].append((time.monotonic() - t0) * 1000)
            if kind == "stop":
                time.sleep(max(0.0, self.rng.uniform(2.5, 4.0) - (time.monotonic() - t0)))
            time.sleep(1.0)  # the load goes on under the new leader
            self.recover(kind, leader)
            if kind != "restart-all":
                self.stop_load(stop, threads)
            # The hit node is back and agrees on one leader.
            self.leader(timeout=60)
        finally:
            stop.set()
            watch_stop.set()
            watcher.join(10)
        # Back to one task per slot everywhere.
        if not harness.wait_until(lambda: self.sample_slots(rnd), 90, 0.5):
            self.problems.append(f"round {rnd}: slots not back to one task each: "
                                 + str({d.name: dict(self.slots_meant_to_run(d) or {})
                                        for d in self.up()}))
        return ms, new

    def check(self, rnd, via, final=False):
        # A write through `via` first: its list then includes everything written before it.
        serve_again(via, self.ledger, time.monotonic())
        # On via's own node: a task's log is read through the manager its node reports to.
        return reconcile_and_verify(
            self.ledger, via, self.rng, self.figures, self.problems, rnd, final=final,
            old_sample=OLD_SAMPLE, tag=f"h{rnd}", constraints=[f"node.hostname=={via.name}"])

    def positive_controls(self, via):
        """The checks can fail: a missing ID is reported lost, a wrong hash corrupt, and a slot
        with two tasks is reported."""
        probe = Ledger(0)
        probe.live["x"] = type(next(iter(self.ledger.live.values())))(
            "x", "nosuchid0000000000000000", b"x")
        if probe.reconcile(listed(via))[0] != ["x"]:
            self.problems.append("control: a missing secret was not reported lost")
        s = next(iter(self.ledger.live.values()))
        _, corrupt = verify.hashes_through_task(via, [type(s)(s.name, s.id, s.data + b"!")],
                                                "control",
                                                constraints=[f"node.hostname=={via.name}"])
        if len(corrupt) != 1:
            self.problems.append("control: a wrong expected hash was not reported corrupt")
        saved, problems, dups = self.slots_meant_to_run, list(self.problems), \
            self.figures["duplicate_slots"]
        self.slots_meant_to_run = lambda d: {1: ["a", "b"], 2: ["c"], 3: ["d"]}
        try:
            self.sample_slots(0)
        finally:
            self.slots_meant_to_run = saved
        if self.figures["duplicate_slots"] == dups:
            problems.append("control: a slot with two tasks was not reported")
        self.problems = problems
        self.figures["duplicate_slots"] = dups

    def run(self):
        kinds = (["kill"] * self.args.kill_rounds + ["stop"] * self.args.stop_rounds)
        self.rng.shuffle(kinds)
        kinds += ["restart-all"] * self.args.restart_all_rounds
        for rnd, kind in enumerate(kinds, 1):
            t0 = time.monotonic()
            ms, new = self.run_round(kind, rnd)
            via = [d for d in self.up() if d is not new][0]
            checked, live = self.check(rnd, via)
            c = self.ledger.counts
            log(f"round {rnd}/{len(kinds)} {kind}: serving through a follower again after "
                f"{ms:.0f} ms, new leader {new.name}; {c['creates_acknowledged']} creates / "
                f"{c['deletes_acknowledged']} deletes acked, {c['unknown_outcomes']} unknown, "
                f"{c['failed']} failed so far; {live} live, {checked} read through a task "
                f"({time.monotonic() - t0:.1f} s)")
        via = self.up()[0]
        self.check(len(kinds) + 1, via, final=True)
        self.positive_controls(via)
        log(f"final: every live secret ({len(self.ledger.live)}) read through a task")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kill-rounds", type=int, default=10)
    p.add_argument("--stop-rounds", type=int, default=5)
    p.add_argument("--restart-all-rounds", type=int, default=1)
    p.add_argument("--short", action="store_true", help="2 kill, 1 stop, 1 restart-all round")
    p.add_argument("--seed", type=int, default=int(time.time()))
    args = p.parse_args()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: every thread's stack, on a hang
    if args.short:
        args.kill_rounds, args.stop_rounds, args.restart_all_rounds = 2, 1, 1
    log(f"seed {args.seed}: {args.kill_rounds} kill, {args.stop_rounds} stop, "
        f"{args.restart_all_rounds} restart-all rounds")
    tmp = tempfile.mkdtemp(prefix="cphf-", dir="/tmp")
    problems, out = [], {}
    t0 = time.monotonic()
    h = None
    try:
        h = HaRounds(args, tmp)
        h.run()
    except Exception as e:  # noqa: BLE001 — reported as a failure with its cause
        problems.append(f"aborted: {type(e).__name__}: {e}")
    finally:
        if h is not None:
            h.close()
            problems = h.problems + problems
            c = h.ledger.counts
            out.update({k: c[k] for k in ("creates_acknowledged", "deletes_acknowledged",
                                          "unknown_outcomes", "failed")})
            out.update(h.figures)
            out["serve_again_ms"] = {k: worker_kill.pct(v) for k, v in h.serve_ms.items()}
            out["new_leader_agreed_ms"] = {k: worker_kill.pct(v) for k, v in h.leader_ms.items()}
            out["failure_samples"] = [list(x) for x in h.ledger.failures[:5]]
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    out.update({"kill_rounds": args.kill_rounds, "stop_rounds": args.stop_rounds,
                "restart_all_rounds": args.restart_all_rounds, "seed": args.seed,
                "wall_s": round(time.monotonic() - t0, 1), "problems": problems,
                "passed": not problems})
    return report(out, problems, "ha_faults.json")


if __name__ == "__main__":
    sys.exit(main())
