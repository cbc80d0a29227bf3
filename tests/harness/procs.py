"""Processes seen through /proc, and polling. Python 3 standard library only."""

import ctypes
import os
import signal
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn for a child process: it gets SIGTERM if the test process dies (a ctest
    timeout), so nothing outlives the run."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def pids_with_arg(prefix):
    """PIDs (other than ours) whose command line has an argument containing `prefix`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(prefix in a for a in args):
            found.append(int(entry))
    return found


def mounts_below(root):
    """Mount points at or below `root` (from /proc/self/mountinfo)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == root or mp.startswith(root.rstrip("/") + "/"):
                out.append(mp)
    return out


def child_pids(ppid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == ppid:
                out.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return out


def proc_status_kib(pid, field):
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM, ...) as an int, or None if absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def wait_until(fn, timeout, interval=0.1):
    """Polls fn() until it returns a truthy value or timeout seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
