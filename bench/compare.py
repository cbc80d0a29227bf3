#!/usr/bin/env python3
"""Prints Capsule/Docker ratios from two secrets_bench.py or services_bench.py JSON files, next to the goals.

  compare.py docker.json capsule.json
"""
import json
import sys

# (label, phase, field, goal operator, goal ratio): ratio = capsule / docker
GOALS = [
    ("create p50 (sequential)", "create_seq", "p50_ms", "<=", 1.0),
    ("create throughput (16 clients)", "create_conc", "ops_per_s", ">=", 2.0),
    ("inspect p50", "inspect", "p50_ms", "<=", 0.5),
    ("list p50, 1,000 secrets", "list_1000", "p50_ms", "<=", 0.33),
    ("list p50, 10,000 secrets", "list_10000", "p50_ms", None, None),
    ("create p99 (16 clients)", "create_conc", "p99_ms", None, None),
    ("delete p50 (16 clients)", "delete", "p50_ms", None, None),
    # services_bench.py
    ("service create -> secret read", "create", "p50_ms", "<=", 0.5),
    ("secret-add stop-first -> read", "add_stop", "p50_ms", "<=", 0.5),
    ("secret-add start-first -> read", "add_start", "p50_ms", "<=", 0.5),
]


def main():
    docker = json.load(open(sys.argv[1]))["results"]
    capsule = json.load(open(sys.argv[2]))["results"]
    print(f"{'metric':<32}{'docker':>12}{'capsule':>12}{'ratio':>9}  goal")
    for label, phase, field, op, goal in GOALS:
        dv = docker.get(phase, {}).get(field)
        cv = capsule.get(phase, {}).get(field)
        if phase not in docker and phase not in capsule:
            continue  # the other benchmark's metric
        if dv is None or cv is None:
            print(f"{label:<32}{'-':>12}{'-':>12}{'-':>9}  (missing)")
            continue
        ratio = cv / dv if dv else float("inf")
        verdict = ""
        if op:
            met = ratio <= goal if op == "<=" else ratio >= goal
            verdict = f"{op} {goal}x  {'MET' if met else 'NOT MET'}"
        unit = "/s" if field == "ops_per_s" else " ms"
        print(f"{label:<32}{dv:>10.2f}{unit:<2}{cv:>10.2f}{unit:<2}{ratio:>8.2f}x  {verdict}")


if __name__ == "__main__":
    main()
