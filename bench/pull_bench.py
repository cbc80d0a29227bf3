#!/usr/bin/env python3
"""Pull time of a ~50 MB image: Capsule vs Docker 20.10, from the same loopback registry, same run.

  PYTHONPATH=tests python3 bench/pull_bench.py [--rounds 3] [--mb 50] [--no-docker]

The registry is Debian's docker-registry, started here (plain HTTP, no auth) on 127.0.0.1:5991
with its storage in a temp dir, and stopped by PID at the end. The image (the busybox rootfs plus
random, incompressible data in three layers, gzip as skopeo pushes it) is pushed by skopeo.
Capsule: one capsuled on 127.0.9.5 (bench/'s block) with --insecure-registry 127.0.0.1:5991.
Docker: the oracle dockerd ($ORACLE_DIR, default ../shared/oracle/docker-swarm beside the checkout;
socket /run/docker-anchor.sock),
used as it is configured: 127.0.0.0/8 registries are plain HTTP for Docker by default and
127.0.0.1 is in its NO_PROXY, so none of its registry guards is changed. If it is not running it
is started with the oracle's start.sh and stopped with its stop.sh (its PID only).
Each round removes the image (and, for Capsule, restarts with an empty blob store) so every
pull downloads everything. Prints per-round seconds and the median ratio.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

import harness
from harness import busybox_image

REGISTRY = "127.0.0.1:5991"
IMAGE = f"{REGISTRY}/bench/pull:1"
ORACLE = os.environ.get("ORACLE_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "oracle",
                 "docker-swarm"))
ANCHOR_SOCK = "/run/docker-anchor.sock"
CAPSULE_IP = "127.0.9.5"


def layer(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def archive(path, layers):
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "created": "2026-12-01T00:00:00Z",
                         "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cid = hashlib.sha256(config).hexdigest()
    names = []
    with tarfile.open(path, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for l, d in zip(layers, diff_ids):
            names.append(hashlib.sha256(d.encode()).hexdigest() + "/layer.tar")
            add(names[-1], l)
        add(cid + ".json", config)
        add("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": [],
                                          "Layers": names}]).encode())


def registry_up():
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2)
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pullbench-", dir="/tmp")
    procs = []
    started_oracle = False
    d = None
    try:
        with open(f"{tmp}/config.yml", "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {tmp}/storage\n"
                    f"http:\n  addr: {REGISTRY}\n  secret: bench\n")
        reg = subprocess.Popen(["/usr/bin/docker-registry", "serve", f"{tmp}/config.yml"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=harness.die_with_parent)
        procs.append(reg)
        if not harness.wait_until(registry_up, 20):
            sys.exit("registry did not start")
        rootfs = busybox_image.build_rootfs_tar(f"{tmp}/rootfs.tar")
        with open(rootfs, "rb") as f:
            layers = [f.read()]
        per = args.mb * 1_000_000 // 3
        for i in range(3):
            layers.append(layer({f"opt/data{i}": os.urandom(per)}))
        archive(f"{tmp}/image.tar", layers)
        subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                        f"docker-archive:{tmp}/image.tar", f"docker://{IMAGE}"], check=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": tmp})
        results = {"capsule": [], "docker": []}

        d = harness.Daemon(CAPSULE_IP, name="pullbench",
                           extra_args=["--insecure-registry", REGISTRY])
        for _ in range(args.rounds):
            t0 = time.monotonic()
            r = d.docker(["pull", IMAGE], timeout=600)
            results["capsule"].append(time.monotonic() - t0)
            if r.returncode != 0:
                sys.exit("capsule pull failed: " + r.stderr.decode())
            d.docker(["rmi", IMAGE])
            d.stop()
            shutil.rmtree(os.path.join(d.data_root, "images", "blobs"), ignore_errors=True)
            d.start()

        if not args.no_docker:
            if not os.path.exists(ANCHOR_SOCK):
                subprocess.run([f"{ORACLE}/start.sh"], check=True)
                started_oracle = True
            dk = ["/usr/bin/docker", "-H", f"unix://{ANCHOR_SOCK}"]
            env = {"PATH": "/usr/bin:/bin", "HOME": tmp}
            for _ in range(args.rounds):
                subprocess.run(dk + ["rmi", IMAGE], capture_output=True, env=env)
                t0 = time.monotonic()
                r = subprocess.run(dk + ["pull", IMAGE], capture_output=True, env=env,
                                   timeout=600)
                results["docker"].append(time.monotonic() - t0)
                if r.returncode != 0:
                    print("docker pull failed:", r.stderr.decode().strip())
                    results["docker"] = []
                    break
            subprocess.run(dk + ["rmi", IMAGE], capture_output=True, env=env)

        size = sum(len(l) for l in layers) / 1e6
        print(f"image: {size:.1f} MB uncompressed in {len(layers)} layers, {args.rounds} rounds")
        for who, times in results.items():
            if times:
                print(f"{who:8s} " + " ".join(f"{t:.2f}s" for t in times) +
                      f"  median {statistics.median(times):.2f}s")
        if results["capsule"] and results["docker"]:
            ratio = statistics.median(results["capsule"]) / statistics.median(results["docker"])
            print(f"capsule / docker (median): {ratio:.2f}x  (goal <= 1.0x)")
    finally:
        if d is not None:
            d.close()
        if started_oracle:
            subprocess.run([f"{ORACLE}/stop.sh"])
        for p in procs:
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
