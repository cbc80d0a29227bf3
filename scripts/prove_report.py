#!/usr/bin/env python3
"""Renders the proof suite's results (the JSON files scripts/prove.sh collects) as one
markdown report: faults injected and what survived, hostile input, leaks, fuzzing, load.

    python3 scripts/prove_report.py DIR      # DIR holds faults.json, ha_faults.json, hostile.json, leaks.json,
                                             # fuzz.json, scale.json (any may be missing)
A part that did not run is listed as "not run" — never as passed.
"""
import json
import os
import sys


def load(directory, name):
    path = os.path.join(directory, name + ".json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def fmt(value, unit=""):
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"


def spread(d, unit="ms"):
    if not d:
        return "—"
    return f"p50 {fmt(d.get('p50'))} {unit}, max {fmt(d.get('max'))} {unit}"


def machine(data):
    info = (data or {}).get("machine") or {}
    if not info:
        return ""
    load = info.get("loadavg_start")
    return (f"{info.get('date', '?')}, {info.get('model', '?')}, {info.get('nproc', '?')} vCPU, "
            f"kernel {info.get('kernel', '?')}"
            + (f", load average at the start {load[0]:.1f}" if load else ""))


def faults_rows(f):
    if f is None:
        return [("crash safety", "not run", "—", "—")]
    lost = f.get("lost_acknowledged_writes")
    rows = [
        ("`kill -9` capsuled under 16-client create/delete load",
         fmt(f.get("capsuled_kill_rounds")) + " rounds",
         f"acknowledged writes lost: **{fmt(lost)}**; deletes resurrected: "
         f"{fmt(f.get('resurrected_deletes'))}; corrupt: {fmt(f.get('corrupt'))}",
         "serves again " + spread(f.get("serve_again_capsuled_ms") or f.get("serve_again_ms"))),
        ("`kill -9` its etcd member under the same load",
         fmt(f.get("etcd_kill_rounds")) + " rounds", "(counted with the row above)",
         "serves again " + spread(f.get("serve_again_etcd_ms") or {})),
        ("`kill -9` a worker whose tasks hold secrets",
         fmt(f.get("worker_kill_rounds")) + " rounds",
         f"stale tmpfs after restart: **{fmt(f.get('stale_mounts_after_restart'))}**; "
         f"secret files on its disk: **{fmt(f.get('secret_files_on_disk'))}**",
         "rescheduled " + spread(f.get("worker_reschedule_ms"))),
        ("writes checked", fmt(f.get("creates_acknowledged")) + " creates, "
         + fmt(f.get("deletes_acknowledged")) + " deletes acknowledged",
         f"{fmt(f.get('unknown_outcomes'))} cut off by a kill (either outcome allowed, data "
         "exact if present)",
         f"{fmt(f.get('verified_through_task'))} secrets' bytes verified by a task reading them"),
    ]
    return rows


def hostile_rows(h):
    if h is None:
        return [("hostile clients", "not run", "—", "—")]
    rows = []
    for c in h.get("cases", []):
        other = c.get("other_client_p50_ms")
        rows.append((c.get("name", "?"), "1 run", c.get("result", "?"),
                     f"RSS growth {fmt(c.get('rss_growth_kib'))} KiB; other client p50 "
                     f"{fmt(other)} ms, max {fmt(c.get('other_client_max_ms'))} ms"))
    return rows


def leaks_rows(lk):
    if lk is None:
        return [("leak checks", "not run", "—", "—")]
    rows = []
    for c in lk.get("checks", []):
        rows.append((c.get("name", "?"), fmt(c.get("places_scanned")) + " places",
                     f"leaks: **{fmt(c.get('leaks'))}**",
                     fmt(c.get("bytes_scanned")) + " bytes scanned"
                     if c.get("bytes_scanned") else ""))
    rows.append(("all leak checks", "", f"leaks found: **{fmt(lk.get('leaks_total'))}**",
                 f"positive controls (planted values the scans must find) found: {fmt(lk.get('positive_controls_found'))}"))
    return rows


def fuzz_rows(fz):
    if fz is None:
        return [("fuzzing", "not run", "—", "—")]
    rows = []
    total_exec = total_crash = 0
    for t in fz.get("targets", []):
        total_exec += t.get("executions") or 0
        total_crash += t.get("crashes") or 0
        rows.append((f"fuzz `{t.get('name')}`", fmt(t.get("seconds")) + " s",
                     f"crashes: **{fmt(t.get('crashes'))}**",
                     fmt(t.get("executions")) + " executions, "
                     + fmt(t.get("corpus_files")) + " corpus files at the end"))
    rows.append(("all fuzzers", "", f"crashes: **{fmt(total_crash)}**",
                 fmt(total_exec) + " executions"))
    return rows


def scale_rows(s):
    if s is None:
        return [("load and scale", "not run", "—", "—")]
    p = s.get("params", {})
    sec, svc, wk, fan = (s.get(k) or {} for k in ("secrets", "services", "workers", "fanout"))
    mem = s.get("memory") or {}

    def rss(phase, proc="capsuled"):
        return fmt(((mem.get(phase) or {}).get(proc) or {}).get("rss_mib"))

    ok = "all checks passed" if s.get("ok") else "**checks FAILED**"
    return [
        (f"{fmt(p.get('secrets'))} secrets, {fmt(sec.get('clients'))} clients", "1 run", ok,
         f"{fmt(sec.get('creates_per_s'))} creates/s; list p50 {fmt(sec.get('list_ms_p50'))} ms, "
         f"p99 {fmt(sec.get('list_ms_p99'))} ms; inspect p50 {fmt(sec.get('inspect_ms_p50'))} ms"),
        (f"{fmt(p.get('workers'))} simulated workers (real agent, real certificates)", "1 run",
         "", f"joined and connected in {fmt(wk.get('join_and_connect_s'))} s"),
        (f"{fmt(p.get('services'))} services, 1 replica each", "1 run", "",
         f"{fmt(svc.get('creates_per_s'))} creates/s; all tasks running after "
         f"{fmt(svc.get('all_running_s'))} s; list services p50 "
         f"{fmt(svc.get('list_services_ms_p50'))} ms, tasks p50 {fmt(svc.get('list_tasks_ms_p50'))} ms"),
        (f"a new secret reference → all {fmt(fan.get('workers'))} workers", fmt(fan.get("reps")) + " reps",
         "", f"global service create p50 {fmt(fan.get('global_create_ms_p50'))} ms; "
         f"`--secret-add` (stop-first, parallelism 0) p50 {fmt(fan.get('secret_add_ms_p50'))} ms"),
        ("manager memory (RSS, MiB)", "", "",
         f"capsuled idle {rss('idle')} → {fmt(p.get('secrets'))} secrets {rss('after_secrets')} → + workers "
         f"{rss('with_workers')} → + services {rss('after_services')} → end {rss('end')}; "
         f"etcd idle {rss('idle', 'etcd')} → end {rss('end', 'etcd')}"),
    ]


def ha_rows(h):
    if h is None:
        return [("HA faults (3 managers)", "not run", "—", "—")]
    serve = h.get("serve_again_ms") or {}
    return [
        ("3 managers, 16 clients through the followers: `kill -9` of the leader's whole node",
         fmt(h.get("kill_rounds")) + " rounds",
         f"acknowledged writes lost: **{fmt(h.get('lost_acknowledged_writes'))}**; deletes "
         f"resurrected: {fmt(h.get('resurrected_deletes'))}; slots with two tasks: "
         f"**{fmt(h.get('duplicate_slots'))}** of {fmt(h.get('slot_samples'))} looks",
         "serves again " + spread(serve.get("kill"))),
        ("SIGSTOP of the leader (capsuled and etcd), SIGCONT later",
         fmt(h.get("stop_rounds")) + " rounds", "(counted with the row above)",
         "serves again " + spread(serve.get("stop"))),
        ("`kill -9` of every manager at once, all restarted",
         fmt(h.get("restart_all_rounds")) + " rounds",
         f"corrupt: {fmt(h.get('corrupt'))}; "
         f"{fmt(h.get('verified_through_task'))} secrets verified by a task",
         "serves again " + spread(serve.get("restart-all"))),
    ]


def table(title, rows):
    out = [f"### {title}", "", "| what | runs | result | figures |", "|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    out.append("")
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    scale = load(d, "scale")
    lines = ["## Proof report", ""]
    where = machine(scale)
    if where:
        lines += [f"Machine: {where}", ""]
    lines += table("Faults injected", faults_rows(load(d, "faults")) + ha_rows(load(d, "ha_faults")))
    lines += table("Hostile input", hostile_rows(load(d, "hostile")) + fuzz_rows(load(d, "fuzz")))
    lines += table("Leak checks (canary secret used by a running service)",
                   leaks_rows(load(d, "leaks")))
    lines += table("Load and scale", scale_rows(scale))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
