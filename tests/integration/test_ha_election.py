"""HA managers, issue 12 part 3: one leader for leader work (orchestrator, scheduler, reaper),
elected through etcd (a lease and a leader key), every leader write fenced on that leadership.
Real capsuled processes and etcd members, the docker CLI.

m1 runs `swarm init`, m2 and m3 join as managers (as in test_ha_join). Services here have a
constraint no node meets, so their tasks stay pending: the orchestrator's work is seen in the
task records alone (workers' failover is part 4, not tested here).
  - exactly one manager leads, and `docker node ls` shows it as Leader on every manager;
  - kill -9 of the leader's whole node (capsuled and its etcd member, by PID): a survivor leads
    and a `docker service scale` through a survivor is carried out (the measured failover time
    is printed, not asserted); the killed node then comes back as a follower;
  - SIGSTOP of the leader's capsuled, a new leader, a scale, SIGCONT: the old leader steps
    down and no slot ever has two tasks meant to run;
  - a graceful stop of the leader hands leadership over at once (resign), and work goes on.

Run: PYTHONPATH=.. python3 -m unittest -v test_ha_election   (from tests/integration)
Addresses: 127.0.50.1 (m1), .2 (m2), .3 (m3).
"""

import collections
import json
import os
import signal
import statistics
import tempfile
import time
import unittest

import harness
from harness import ha_swarm

IP = {"m1": "127.0.50.1", "m2": "127.0.50.2", "m3": "127.0.50.3"}
IMAGE = "capsule/busybox:1"
NOWHERE = "node.labels.capsule-election-test==nowhere"  # no node has it: tasks stay pending
SLEEP = ["sh", "-c", 'trap "exit 0" TERM; sleep 1d & wait']


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


class HaElection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cpel-", dir="/tmp")
        cls.d = ha_swarm.start(cls, IP, ("m1", "m2", "m3"), heartbeat="1s")
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}
        cls.names = {v: k for k, v in cls.ids.items()}
        cls.failover_ms = []

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r, d):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + d.log_tail())
        return r.stdout.decode()

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.05), msg() if callable(msg) else msg)

    def up(self):
        """The managers whose capsuled runs (and is not paused)."""
        return [d for d in self.d.values() if d.running() and not getattr(d, "paused", False)]

    def leader_seen_by(self, d):
        """The name of the node `d` shows with ManagerStatus.Leader, or None."""
        return ha_swarm.leader_seen_by(d, self.names)

    def run_log(self, d):
        return ha_swarm.run_log(d)

    def log_says_leader(self, d):
        return ha_swarm.log_says_leader(d)

    def current_leader(self, among=None):
        """The one manager (of `among`, default every running one) whose log says it leads and
        whom every running manager shows as Leader; None until they agree."""
        return ha_swarm.current_leader(among or self.up(), self.up(), self.names)

    def tasks(self, d, service):
        r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return r.json()

    def meant_to_run(self, d, service):
        """Slot → tasks of `service` whose desired state is running."""
        slots = collections.defaultdict(list)
        for t in self.tasks(d, service):
            if t["DesiredState"] == "running":
                slots[t["Slot"]].append(t["ID"])
        return slots

    def create_service(self, d, name, replicas):
        self.ok(d.docker(["service", "create", "-d", "--name", name, "--replicas", str(replicas),
                          "--constraint", NOWHERE, IMAGE] + SLEEP), d)
        self.wait(lambda: len(self.meant_to_run(d, name)) == replicas, 20,
                  lambda: f"{name}: {dict(self.meant_to_run(d, name))}")

    def scale_until_accepted(self, d, name, replicas, timeout=20):
        """docker service scale through d, retried while the store has no Raft leader yet."""
        deadline = time.monotonic() + timeout
        while True:
            r = d.docker(["service", "scale", "-d", f"{name}={replicas}"])
            if r.returncode == 0 or time.monotonic() > deadline:
                return self.ok(r, d)
            time.sleep(0.05)

    def assert_one_task_per_slot(self, d, name, replicas):
        slots = self.meant_to_run(d, name)
        self.assertEqual(sorted(slots), list(range(1, replicas + 1)), dict(slots))
        for slot, ids in slots.items():
            self.assertEqual(len(ids), 1, f"slot {slot} has {ids}")

    # ---- tests -----------------------------------------------------------------------------
    def test_01_one_leader_shown_on_every_manager(self):
        self.wait(lambda: self.current_leader() is not None, 20,
                  lambda: {d.name: self.leader_seen_by(d) for d in self.up()})
        leader = self.current_leader()
        # m1 campaigned first (it ran swarm init); print rather than assert it: a lease that
        # lapsed on a starved machine moves the leadership, which is fine.
        print(f"FIGURE: first leader {leader.name}", flush=True)
        want = sorted(f"{n} {'Leader' if n == leader.name else 'Reachable'}" for n in self.d)
        for d in self.d.values():
            r = d.docker(["node", "ls", "--format", "{{.Hostname}} {{.ManagerStatus}}"])
            rows = sorted(self.ok(r, d).split("\n")[:-1])
            self.assertEqual(rows, want, d.name)
        for d in self.d.values():
            if d is not leader:
                self.assertFalse(self.log_says_leader(d), d.name)
        # Leader work runs on the leader only: a service through a follower gets its tasks.
        self.create_service(self.d["m3"], "el-first", 2)

    def test_02_kill9_of_the_leaders_node_a_survivor_leads_and_scales(self):
        self.create_service(self.d["m2"], "el-kill", 1)
        for round_no in range(3):
            leader = self.current_leader()
            self.assertIsNotNone(leader)
            survivors = [d for d in self.up() if d is not leader]
            via = survivors[round_no % len(survivors)]
            want = 2 + round_no
            etcd_pid = leader.etcd_pid()
            self.assertIsNotNone(etcd_pid)
            # The whole node, by PID: its etcd member and capsuled.
            t0 = time.monotonic()
            os.kill(etcd_pid, signal.SIGKILL)
            leader.kill9()
            self.scale_until_accepted(via, "el-kill", want)
            self.wait(lambda: len(self.meant_to_run(via, "el-kill")) == want, 15,
                      lambda: f"{dict(self.meant_to_run(via, 'el-kill'))}\n"
                              + "\n".join(d.log_tail(30) for d in survivors))
            ms = (time.monotonic() - t0) * 1000
            self.failover_ms.append(ms)
            print(f"FIGURE: failover round {round_no + 1}: leader {leader.name} killed -> "
                  f"scale carried out through {via.name} in {ms:.0f} ms", flush=True)
            self.wait(lambda: self.current_leader(survivors) is not None, 15,
                      lambda: {d.name: self.leader_seen_by(d) for d in survivors})
            self.assertIn(self.current_leader(survivors), survivors)
            self.assert_one_task_per_slot(via, "el-kill", want)
            # The killed node comes back (its etcd member rejoins) as a follower.
            leader.start()
            self.wait(lambda: leader.api("GET", "/services/el-kill").status == 200, 30,
                      leader.log_tail)
            self.assertFalse(self.log_says_leader(leader), leader.log_tail())
        print(f"FIGURE: failover median {statistics.median(self.failover_ms):.0f} ms, "
              f"max {max(self.failover_ms):.0f} ms over {len(self.failover_ms)} rounds",
              flush=True)

    def test_03_a_paused_leader_steps_down_and_applies_no_stale_decision(self):
        self.wait(lambda: self.current_leader() is not None, 20, "no leader")
        old = self.current_leader()
        others = [d for d in self.up() if d is not old]
        self.create_service(others[0], "el-pause", 3)
        losses_before = self.run_log(old).count("is no longer the leader")
        os.kill(old.pid, signal.SIGSTOP)
        old.paused = True
        try:
            t0 = time.monotonic()
            self.wait(lambda: self.current_leader(others) is not None, 20,
                      lambda: {d.name: self.leader_seen_by(d) for d in others})
            new = self.current_leader(others)
            print(f"FIGURE: paused leader {old.name} replaced by {new.name} after "
                  f"{(time.monotonic() - t0) * 1000:.0f} ms", flush=True)
            # A decision the old leader could still hold: the service scaled while it sleeps.
            self.scale_until_accepted(others[1], "el-pause", 5)
            self.wait(lambda: len(self.meant_to_run(new, "el-pause")) == 5, 15,
                      lambda: dict(self.meant_to_run(new, "el-pause")))
        finally:
            os.kill(old.pid, signal.SIGCONT)
            old.paused = False
        # The old leader finds its leadership gone and stops its leader work.
        self.wait(lambda: self.run_log(old).count("is no longer the leader") > losses_before, 10,
                  old.log_tail)
        self.wait(lambda: not self.log_says_leader(old), 10, old.log_tail)
        # Give it time to try whatever it planned, then: one task per slot, on every manager.
        time.sleep(3)
        self.assertIs(self.current_leader(), new)
        for d in self.up():
            self.assert_one_task_per_slot(d, "el-pause", 5)
        refused = self.run_log(old).count("a leader write was refused")
        print(f"FIGURE: writes of the resumed old leader refused by the fence: {refused}",
              flush=True)

    def test_04_graceful_stop_of_the_leader_hands_over_at_once(self):
        self.wait(lambda: self.current_leader() is not None, 20, "no leader")
        old = self.current_leader()
        others = [d for d in self.up() if d is not old]
        self.create_service(others[0], "el-stop", 1)
        t0 = time.monotonic()
        old.stop()
        self.assertIn("is no longer the leader: this manager stops", self.run_log(old))
        self.wait(lambda: self.current_leader(others) is not None, 10,
                  lambda: {d.name: self.leader_seen_by(d) for d in others})
        ms = (time.monotonic() - t0) * 1000
        print(f"FIGURE: graceful stop of leader {old.name}: a new leader in {ms:.0f} ms "
              f"(stop included)", flush=True)
        self.scale_until_accepted(others[1], "el-stop", 3)
        self.wait(lambda: len(self.meant_to_run(others[0], "el-stop")) == 3, 10,
                  lambda: dict(self.meant_to_run(others[0], "el-stop")))
        self.assert_one_task_per_slot(others[0], "el-stop", 3)
        old.start()
        self.wait(lambda: old.api("GET", "/services/el-stop").status == 200, 30, old.log_tail)


if __name__ == "__main__":
    unittest.main()
