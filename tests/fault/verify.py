"""Checks that read secrets the way a workload does: a task prints sha256sum of its files.

hashes_through_task(d, secrets) runs one service per batch (busybox image) that references
the batch's secrets (target file = secret ID) and prints `sha256sum` of every file under
/run/secrets; the hashes come back through the task log (never the data). A secret that fails
to decrypt keeps its task from starting; that batch's secrets are reported with the error.
Python 3 stdlib only.
"""

import json

import harness
from harness.leakscan import b64_forms, files_under, needles, read_bytes  # noqa: F401

IMAGE = "capsule/busybox:1"
BATCH = 150
END = "END-OF-HASHES"
SCRIPT = f"cd /run/secrets && sha256sum * ; echo {END}"


def demux(body):
    return harness.demux_stream(body).decode(errors="replace")


def service_spec(name, secrets, command=SCRIPT, replicas=1, constraints=None, restart="none"):
    refs = [{"SecretID": s.id, "SecretName": s.name,
             "File": {"Name": s.id, "UID": "0", "GID": "0", "Mode": 0o444}} for s in secrets]
    tmpl = {"ContainerSpec": {"Image": IMAGE, "Command": ["sh", "-c", command],
                              "Secrets": refs},
            "RestartPolicy": {"Condition": restart}}
    if constraints:
        tmpl["Placement"] = {"Constraints": constraints}
    return {"Name": name, "TaskTemplate": tmpl,
            "Mode": {"Replicated": {"Replicas": replicas}}}


def tasks_of(d, service_id):
    r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service_id]})})
    return r.json() if r.status == 200 else []


def task_log(d, task_id):
    r = d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
    return demux(r.body) if r.status == 200 else ""


def parse_hashes(log):
    """{file name: sha256} from sha256sum output lines."""
    out = {}
    for line in log.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            out[parts[1]] = parts[0]
    return out


def remove_service(d, sid, timeout=60):
    d.api("DELETE", f"/services/{sid}")

    def gone():
        r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [sid]})})
        return r.status == 404 or (r.status == 200 and r.json() == [])
    harness.wait_until(gone, timeout, 0.2)


def _one_batch(d, batch, tag, timeout, constraints=None):
    """Returns ({secret name: hash read}, error or None)."""
    r = d.api("POST", "/services/create",
              service_spec(f"verify-{tag}", batch, constraints=constraints))
    if r.status != 201:
        return {}, f"service create: {r!r}"
    sid = r.json()["ID"]
    try:
        result = {}

        def done():
            for t in tasks_of(d, sid):
                state = t["Status"]["State"]
                if state in ("failed", "rejected"):
                    result["err"] = f"task {state}: {t['Status'].get('Err', '')}"
                    return True
                if state == "complete":
                    log = task_log(d, t["ID"])
                    if END in log:
                        result["log"] = log
                        return True
            return False
        if not harness.wait_until(done, timeout, 0.2):
            return {}, f"no completed task within {timeout}s: {tasks_of(d, sid)!r}"[:2000]
        if "err" in result:
            return {}, result["err"]
        by_file = parse_hashes(result["log"])
        return {s.name: by_file.get(s.id) for s in batch}, None
    finally:
        remove_service(d, sid)


def hashes_through_task(d, secrets, tag, timeout=120, constraints=None):
    """Verifies every secret's bytes through tasks. Returns (verified, corrupt) where corrupt
    is a list of (name, why)."""
    verified, corrupt = 0, []
    secrets = list(secrets)
    for i in range(0, len(secrets), BATCH):
        batch = secrets[i:i + BATCH]
        got, err = _one_batch(d, batch, f"{tag}-{i // BATCH}", timeout, constraints)
        if err:
            corrupt += [(s.name, err) for s in batch]
            continue
        for s in batch:
            if got.get(s.name) == s.sha:
                verified += 1
            else:
                corrupt.append((s.name, "hash mismatch" if got.get(s.name) else "file missing"))
    return verified, corrupt


def leaks_in_bulk(blob, values):
    """leaks_in for many values at once: one pass over blob, looking every 8-byte window up in
    a table of the needles' first 8 bytes and confirming a hit with the whole needle (the
    per-value search costs one pass over blob per needle, too slow for 10^4 values)."""
    by_prefix = {}
    for i, v in enumerate(values):
        if len(v) < 12:
            continue
        for n in {v} | b64_forms(v):
            by_prefix.setdefault(n[:8], []).append((n, i))
    found = set()
    get = by_prefix.get
    for pos in range(len(blob) - 7):
        hit = get(blob[pos:pos + 8])
        if hit:
            for n, i in hit:
                if blob.startswith(n, pos):
                    found.add(i)
    return len(found)


def leaks_in(blob, values):
    """Values (>= 12 bytes, so a random match is impossible) found in blob, raw or base64."""
    found = 0
    for v in values:
        if len(v) < 12:
            continue
        if v in blob or any(f in blob for f in b64_forms(v)):
            found += 1
    return found
