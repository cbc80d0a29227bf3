"""What the client side knows about every secret write: the ledger a crash round is checked against.

A create is acknowledged when it answered 201, a delete when it answered 204. A request whose
connection died (or timed out) has an unknown outcome; one answered with another status failed.
The ledger keeps the secrets that must exist (`live`: name -> Secret), the IDs that must be gone
(`deleted`), and the writes whose outcome is unknown until the next verification resolves them.
Python 3 stdlib only.
"""

import hashlib
import os
import random
import threading
import time

import harness

MAX_SIZE = 4096
LIVE_TARGET = 3000


class Secret:
    __slots__ = ("name", "id", "data", "sha")

    def __init__(self, name, sid, data):
        self.name, self.id, self.data = name, sid, data
        self.sha = hashlib.sha256(data).hexdigest()


class Ledger:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.live = {}              # name -> Secret (acknowledged, not deleted)
        self.deleted = {}           # id -> name (acknowledged deletes)
        self.deleted_values = []    # Secret of every delete (for the log scan)
        self.unknown_creates = {}   # name -> data (connection died; ID unknown)
        self.failed_creates = {}    # name -> data (answered, not 201: may or may not exist)
        self.unknown_deletes = {}   # name -> Secret (connection died or 5xx)
        self.unverified = set()     # names whose data has not yet been read through a task
        self.counts = {"creates_sent": 0, "creates_acknowledged": 0, "deletes_sent": 0,
                       "deletes_acknowledged": 0, "unknown_outcomes": 0, "failed": 0,
                       # how the unknown / failed writes turned out (either is allowed)
                       "unknown_creates_present": 0, "failed_creates_present": 0,
                       "unknown_deletes_not_done": 0}
        self.failures = []          # (op, status, message) samples of non-2xx answers
        self._seq = 0

    # ---- bookkeeping -----------------------------------------------------------------------
    def new_name(self, tag):
        with self.lock:
            self._seq += 1
            return f"f-{tag}-{self._seq:06d}-{os.urandom(3).hex()}"

    def count(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def acked_create(self, name, sid, data):
        with self.lock:
            self.counts["creates_acknowledged"] += 1
            self.live[name] = Secret(name, sid, data)
            self.unverified.add(name)

    def take_for_delete(self, rng):
        """Removes a random live secret from the pool (no two threads delete the same one)."""
        with self.lock:
            if not self.live:
                return None
            name = rng.choice(list(self.live))
            return self.live.pop(name)

    def values(self):
        with self.lock:
            return [s.data for s in self.live.values()]

    # ---- the load ----------------------------------------------------------------------------
    def client_loop(self, sock, tag, stop, seed, timeout):
        """One client thread: its own keep-alive connection, a random create/delete mix until
        `stop` is set or the daemon's socket goes away."""
        rng = random.Random(seed)
        c = harness.ApiClient(sock, timeout=timeout)
        try:
            while not stop.is_set():
                # Mostly creates while the set is small, mostly deletes once it is large.
                p_create = 0.6 if len(self.live) < LIVE_TARGET else 0.4
                if rng.random() < p_create or not self.live:
                    if not self._create(c, rng, tag):
                        return
                else:
                    if not self._delete(c, rng):
                        return
        finally:
            c.close()

    def _create(self, c, rng, tag):
        name = self.new_name(tag)
        data = os.urandom(rng.randint(1, MAX_SIZE))
        self.count("creates_sent")
        try:
            r = c.request("POST", "/secrets/create", {"Name": name, "Data": harness.b64(data)},
                          retry=False)
        except OSError:
            with self.lock:
                self.counts["unknown_outcomes"] += 1
                self.unknown_creates[name] = data
            return False
        if r.status == 201:
            self.acked_create(name, r.json()["ID"], data)
            return True
        with self.lock:
            self.counts["failed"] += 1
            self.failed_creates[name] = data
            if len(self.failures) < 20:
                self.failures.append(("create", r.status, r.message()))
        time.sleep(0.05)
        return True

    def _delete(self, c, rng):
        s = self.take_for_delete(rng)
        if s is None:
            return True
        self.count("deletes_sent")
        try:
            r = c.request("DELETE", f"/secrets/{s.id}", retry=False)
        except OSError:
            with self.lock:
                self.counts["unknown_outcomes"] += 1
                self.unknown_deletes[s.name] = s
            return False
        with self.lock:
            if r.status == 204:
                self.counts["deletes_acknowledged"] += 1
                self.deleted[s.id] = s.name
                self.deleted_values.append(s)
                self.unverified.discard(s.name)
            elif r.status >= 500:
                # The store may have committed before the error: either outcome is allowed.
                self.counts["failed"] += 1
                self.unknown_deletes[s.name] = s
            else:
                # 404 for an acknowledged create is a loss: keep it expected, verification fails.
                self.counts["failed"] += 1
                self.live[s.name] = s
            if r.status != 204 and len(self.failures) < 20:
                self.failures.append(("delete", r.status, r.message()))
        if r.status != 204:
            time.sleep(0.05)
        return True

    # ---- resolving against what the daemon lists ----------------------------------------------
    def reconcile(self, listed):
        """listed: {id: name} from GET /secrets after a round. Returns (lost, resurrected, wrong)
        and folds the unknown outcomes into the ledger (present → expected from now on, with
        the data the client sent, which the task check then verifies)."""
        by_name = {n: i for i, n in listed.items()}
        lost, resurrected, wrong = [], [], []
        with self.lock:
            for name, s in self.live.items():
                if listed.get(s.id) != name:
                    (wrong if name in by_name else lost).append(name)
            for sid, name in self.deleted.items():
                if sid in listed:
                    resurrected.append(name)
            for key, pending in (("unknown_creates_present", self.unknown_creates),
                                 ("failed_creates_present", self.failed_creates)):
                for name, data in pending.items():
                    if name in by_name:
                        self.counts[key] += 1
                        self.live[name] = Secret(name, by_name[name], data)
                        self.unverified.add(name)
                pending.clear()
            for name, s in self.unknown_deletes.items():
                if s.id in listed:
                    self.counts["unknown_deletes_not_done"] += 1
                    self.live[name] = s
                else:
                    self.deleted[s.id] = name
                    self.deleted_values.append(s)
                    self.unverified.discard(name)
            self.unknown_deletes.clear()
        return lost, resurrected, wrong
