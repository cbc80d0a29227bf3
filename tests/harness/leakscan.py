"""Leak scanning helpers shared by the canary tests (test_canary, test_leaks).

A "needle set" is every byte form a secret value may take where Capsule or a library
could copy it: raw (whole, and 32-byte fragments of its random tail), base64 (standard and URL-safe, at the 3 alignments it can have inside a
longer base64 stream), hex (lower and upper), UTF-16 (LE and BE) and JSON-escaped.
Scanners return the bytes they read so a caller can report how much was searched.
Python 3 standard library only.
"""

import base64
import binascii
import json
import os
import stat

CHUNK = 8 << 20  # /proc/<pid>/mem is read in chunks of this size


def b64_forms(value):
    """Base64 (standard and URL-safe) of value at each of the 3 alignments it can have
    inside a longer base64 stream (only the characters that depend on value alone)."""
    forms = set()
    for lead in range(3):
        core = value[lead:]
        core = core[:len(core) - len(core) % 3]
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(enc(core))
    forms.add(base64.b64encode(value))
    return forms


def fragments(value, size=32):
    """Raw pieces of value's last 3*size bytes: a freed copy whose head the allocator has
    overwritten (glibc writes its free-list links into a chunk's first 16 bytes) still shows."""
    if len(value) < 3 * size:
        return set()
    tail = value[-3 * size:]
    return {tail[i:i + size] for i in (0, size // 2, size, size + size // 2, 2 * size)}


def needles(value):
    """Every form of `value` (bytes) a scan looks for (value should be >= 96 bytes with
    random bytes at its end, so that its fragments are unique too)."""
    out = {value} | b64_forms(value) | fragments(value)
    out.add(binascii.hexlify(value))
    out.add(binascii.hexlify(value).upper())
    try:
        text = value.decode()
        out.add(text.encode("utf-16-le"))
        out.add(text.encode("utf-16-be"))
        out.add(json.dumps(text).encode()[1:-1])
    except UnicodeDecodeError:
        pass
    return {n for n in out if n}


def find_in(blob, needle_set):
    """The needles (sorted) that occur in blob."""
    return sorted(n for n in needle_set if n in blob)


def files_under(root, one_fs=False):
    """Regular files below root (symlinks not followed). one_fs: do not descend into
    other mounts (mount points are still listed as directories, not entered)."""
    try:
        dev = os.lstat(root).st_dev
    except FileNotFoundError:
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if one_fs:
            keep = []
            for d in dirnames:
                try:
                    if os.lstat(os.path.join(dirpath, d)).st_dev == dev:
                        keep.append(d)
                except FileNotFoundError:
                    pass
            dirnames[:] = keep
        for n in filenames:
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield p


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, PermissionError, ProcessLookupError):
        return b""


def scan_files(paths, needle_set):
    """Returns (hits, files, bytes): hits = [(path, [needles])] for files with a needle."""
    hits, files, total = [], 0, 0
    for p in paths:
        blob = read_bytes(p)
        files += 1
        total += len(blob)
        found = find_in(blob, needle_set)
        if found:
            hits.append((p, found))
    return hits, files, total


def mount_of(path):
    """(mount point, fs type, mount options, super options) of the mount holding path,
    from /proc/self/mountinfo (the longest mount point that is a prefix of path)."""
    best = None
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.rstrip("\n").split(" - ", 1)
            fields = left.split()
            mp = fields[4].replace("\\040", " ")
            if path == mp or path.startswith(mp.rstrip("/") + "/"):
                if best is None or len(mp) >= len(best[0]):
                    fstype, _src, sopts = right.split(" ", 2)
                    best = (mp, fstype, fields[5].split(","), sopts.split(","))
    return best


def memory_regions(pid):
    """(start, end, perms, path) of every readable mapping of pid except the kernel's
    [vvar]/[vsyscall] pages (not readable through /proc/<pid>/mem)."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            perms = parts[1]
            path = parts[5].strip() if len(parts) > 5 else ""
            if perms[0] != "r" or path.startswith("[vvar") or path == "[vsyscall]":
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            out.append((start, end, perms, path))
    return out


def scan_memory(pid, needle_set):
    """Searches every readable mapping of process pid (through /proc/<pid>/mem).
    Returns (hits, regions, bytes, unreadable): hits = [(region description, [needles])],
    unreadable = regions whose reading failed part-way or at once (counted, not hidden)."""
    hits, regions, total, unreadable = [], 0, 0, 0
    overlap = max(len(n) for n in needle_set) - 1
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end, perms, path in memory_regions(pid):
            regions += 1
            found = set()
            tail = b""
            pos = start
            while pos < end:
                try:
                    mem.seek(pos)
                    data = mem.read(min(CHUNK, end - pos))
                except (OSError, OverflowError, ValueError):
                    unreadable += 1
                    break
                if not data:
                    break
                total += len(data)
                found.update(find_in(tail + data, needle_set))
                tail = data[-overlap:] if overlap > 0 else b""
                pos += len(data)
            if found:
                hits.append((f"{start:x}-{end:x} {perms} {path or '[anon]'}", sorted(found)))
    return hits, regions, total, unreadable


def proc_children(pid):
    """Direct children of pid, from /proc/<pid>/task/*/children."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def proc_tree(pid):
    """pid and all its descendants."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo += proc_children(p)
    return seen


def ppid_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
