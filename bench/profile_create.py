#!/usr/bin/env python3
"""Where capsuled's CPU goes per secret create (issue 17 part 2), measured with perf.

  PYTHONPATH=tests python3 bench/profile_create.py --out docs/bench/profile-<date> [--seconds 8]

Starts one capsuled (single-node swarm on 127.0.71.1, its own etcd member), loads it with 16
clients creating secrets over the unix socket for --seconds, and meanwhile samples capsuled's
threads with `perf record -g --call-graph dwarf` (perf from Debian's linux-perf). Writes to --out:
  - profile.folded   one line per distinct stack, "role;outer;...;inner count" (the format
                     of flame graph tools); the root frame is the thread's role: its outermost
                     Capsule frame (our threads are unnamed), else the thread's name;
  - flamegraph.svg   the same as a flame graph (drawn here: Debian packages no flame graph
                     renderer; 40 lines of SVG below);
  - summary.json     creates/s, capsuled CPU ms and context switches per create (from /proc),
                     the share of samples per role, the top frames by self and by total.
Only the unix socket and loopback are used; the secrets are deleted at the end.
"""

import argparse
import collections
import html
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from secrets_bench import Client  # noqa: E402

IP = "127.0.71.1"
CLIENTS = 16


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def switches(pid):
    """Context switches of every thread of pid (voluntary + involuntary): the hand-offs."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        n += int(line.split()[1])
        except FileNotFoundError:
            pass  # the thread ended
    return n


def role(comm, frames):
    """What a sample's thread does: its outermost Capsule frame (our threads are unnamed, so
    perf shows them all as "capsuled"), else the thread's name (gRPC's own threads)."""
    for f in frames:
        if "capsule::" in f:
            return f.split("::{lambda")[0].replace("capsule::", "")
    return comm


def load(sock, seconds, prefix):
    """16 clients create secrets until the time is up. → (creates, names)"""
    names, lock = [], threading.Lock()
    stop = time.monotonic() + seconds

    def run(i):
        c = Client(sock)
        n = 0
        while time.monotonic() < stop:
            name = f"{prefix}{i}-{n}"
            n += 1
            status, _ = c.call("POST", "/secrets/create",
                               {"Name": name, "Data": "cHJvZmlsZQ=="})
            if status != 201:
                raise AssertionError(f"create {name}: {status}")
            with lock:
                names.append(name)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return names


def fold(perf_data):
    """perf script → {stack: samples}; the thread name is the root frame."""
    out = subprocess.run(["perf", "script", "-i", perf_data, "-F", "comm,ip,sym"],
                         capture_output=True, text=True, check=True).stdout
    stacks = collections.Counter()
    comm, frames = None, []

    def flush():
        if comm is not None:
            outer_first = list(reversed(frames))
            stacks[";".join([role(comm, outer_first)] + outer_first)] += 1

    for line in out.splitlines():
        if not line.strip():
            flush()
            comm, frames = None, []
        elif comm is None:
            comm = line.split()[0]
        else:
            parts = line.strip().split(None, 1)
            sym = parts[1] if len(parts) > 1 else parts[0]
            sym = sym.split("+0x")[0]
            frames.append(short(sym))
    flush()
    return stacks


def short(sym):
    """A C++ symbol without its argument list and templates, so frames group."""
    out, depth = [], 0
    for ch in sym:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out).strip() or sym


def svg(stacks, path, width=1400, row=16):
    """A flame graph: each frame a box as wide as its samples, callers below callees above."""
    tree = {}
    for stack, n in stacks.items():
        node = tree
        for frame in stack.split(";"):
            node = node.setdefault(frame, {"": 0})
            node[""] += n
    total = sum(stacks.values())
    boxes, depth_max = [], 0

    def walk(node, x, depth):
        nonlocal depth_max
        depth_max = max(depth_max, depth)
        for name, child in sorted((k, v) for k, v in node.items() if k):
            w = child[""] * width / total
            if w >= 1.0:
                boxes.append((x, depth, w, name, child[""]))
                walk(child, x, depth + 1)
            x += w

    walk(tree, 0.0, 0)
    height = (depth_max + 2) * row
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="monospace" font-size="11">']
    for x, d, w, name, n in boxes:
        y = height - (d + 1) * row
        hue = 10 + (hash(name) % 40)
        label = html.escape(name)
        text = label[: int(w / 7)] if w > 20 else ""
        parts.append(f'<g><title>{label} ({n} samples, {100.0 * n / total:.1f}%)</title>'
                     f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
                     f'fill="hsl({hue},85%,60%)"/><text x="{x + 2:.1f}" y="{y + row - 4}">'
                     f'{text}</text></g>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def summarize(stacks, top=25):
    total = sum(stacks.values())
    by_thread, self_count, total_count = (collections.Counter() for _ in range(3))
    for stack, n in stacks.items():
        frames = stack.split(";")
        by_thread[frames[0]] += n
        self_count[frames[-1]] += n
        for f in set(frames[1:]):
            total_count[f] += n

    def pct(counter):
        return [[k, round(100.0 * v / total, 1)] for k, v in counter.most_common(top)]

    return {"samples": total, "threads_pct": pct(by_thread), "self_pct": pct(self_count),
            "total_pct": pct(total_count)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--freq", type=int, default=499)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    d = harness.Daemon(IP, name="profile")
    perf = None
    try:
        d.swarm_init()
        load(d.sock, 1.0, "warm")  # connections, caches, etcd warm
        perf_data = os.path.join(d.root, "perf.data")
        perf = subprocess.Popen(["perf", "record", "-q", "-F", str(args.freq), "-g",
                                 "--call-graph", "dwarf,16384", "-p", str(d.pid), "-o",
                                 perf_data], stdout=subprocess.DEVNULL)
        time.sleep(1.0)
        t0, c0, s0 = time.monotonic(), cpu_ticks(d.pid), switches(d.pid)
        names = load(d.sock, args.seconds, "p")
        t1, c1, s1 = time.monotonic(), cpu_ticks(d.pid), switches(d.pid)
        perf.send_signal(signal.SIGINT)
        perf.wait(120)
        perf = None
        hz = os.sysconf("SC_CLK_TCK")
        stacks = fold(perf_data)
        with open(os.path.join(args.out, "profile.folded"), "w") as f:
            for stack, n in stacks.most_common():
                f.write(f"{stack} {n}\n")
        svg(stacks, os.path.join(args.out, "flamegraph.svg"))
        summary = {
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "loadavg": list(os.getloadavg()),
            "creates": len(names), "seconds": round(t1 - t0, 2),
            "creates_per_s": round(len(names) / (t1 - t0), 1),
            "capsuled_cpu_ms_per_create": round((c1 - c0) * 1000.0 / hz / max(1, len(names)), 3),
            "capsuled_context_switches_per_create": round((s1 - s0) / max(1, len(names)), 1),
        }
        summary.update(summarize(stacks))
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        print(json.dumps({k: summary[k] for k in ("creates_per_s", "capsuled_cpu_ms_per_create",
                                                   "capsuled_context_switches_per_create",
                                                   "threads_pct")}, indent=2))
        return 0
    finally:
        if perf is not None:
            perf.kill()
            perf.wait()
        d.close()


if __name__ == "__main__":
    sys.exit(main())
