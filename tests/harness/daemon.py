"""capsuled processes for tests: each Daemon runs one on its own temp roots and unix socket,
and cleans up everything it started (etcd, tasks, mounts) when closed or when the test process
exits. Python 3 standard library only.

Binaries come from the environment:
  CAPSULED     path of capsuled      (default <checkout>/build/bin/capsuled)
  CAPSULE_CLI  path of the capsule CLI (default <checkout>/build/bin/capsule)
  CAPSULE_KEEP=1 keeps the temp dirs of stopped daemons (for debugging).
  CAPSULE_ITEST_EXTERNAL_SOCK  runs against an already running engine instead (ExternalDaemon).
"""

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from .api import API_VERSION, ApiClient, b64
from .docker_cli import DOCKER_20
from .procs import child_pids, die_with_parent, mounts_below, pid_alive, pids_with_arg
from .procs import proc_cmdline, wait_until

DEFAULT_BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
RUNC = shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin") or "runc"
CAPSULED = os.environ.get("CAPSULED", DEFAULT_BIN + "/capsuled")
CAPSULE_CLI = os.environ.get("CAPSULE_CLI", DEFAULT_BIN + "/capsule")
ETCD = "/usr/bin/etcd"
# Docker 20.10 (the oracle) sends no Swarm header on /_ping; Capsule does (as Docker >= 24).
EXTERNAL = bool(os.environ.get("CAPSULE_ITEST_EXTERNAL_SOCK"))
SWARM_PORT = 2377
ETCD_PEER_PORT = SWARM_PORT + 3

_live = set()  # every Daemon with a running process; cleaned up at exit


class DaemonError(Exception):
    pass


class Daemon:
    """One capsuled process with its own temp roots and socket.

    Layout: /tmp/cpi-XXXXXX/{data,exec} (created by capsuled itself), the API
    socket /tmp/cpi-XXXXXX/api.sock, the log (capsuled stderr)
    /tmp/cpi-XXXXXX/capsuled.log, docker CLI config /tmp/cpi-XXXXXX/dockercfg.
    """

    def __init__(self, ip, name="d", start=True, extra_args=()):
        self.ip = ip
        self.name = name
        self.extra_args = list(extra_args)
        self.root = tempfile.mkdtemp(prefix="cpi-", dir="/tmp")
        self.data_root = os.path.join(self.root, "data")
        self.exec_root = os.path.join(self.root, "exec")
        self.sock = os.path.join(self.root, "api.sock")
        self.log_path = os.path.join(self.root, "capsuled.log")
        self.docker_config = os.path.join(self.root, "dockercfg")
        os.mkdir(self.docker_config, 0o700)
        assert len(self.sock) < 100, self.sock
        self.proc = None
        self.etcd_pids = set()  # every etcd child PID seen, for cleanup
        self.etcd_left_after_stop = []
        self.client = None
        self.starts = 0
        if start:
            self.start()

    # ---- process control -------------------------------------------------
    def command(self):
        return [CAPSULED, "--data-root", self.data_root, "--exec-root", self.exec_root,
                "-H", "unix://" + self.sock, "--etcd-binary", ETCD,
                "--log-level", "info",
                # No test may contact a public registry: an image name without a registry
                # (busybox) would mean Docker Hub.
                "--registries-loopback-only"] + self.extra_args

    def start(self, timeout=30):
        self.launch()
        self.wait_ready(timeout)

    def launch(self):
        """Starts capsuled without waiting for its API (start = launch + wait_ready). Call it
        from a thread that outlives the daemon: the child gets SIGTERM when the thread that
        started it ends (PR_SET_PDEATHSIG follows the thread). So several managers that need
        each other's etcd members to serve are launched one after another from the main
        thread, then waited for."""
        if not os.access(CAPSULED, os.X_OK):
            raise DaemonError(f"capsuled binary not found at {CAPSULED} (set CAPSULED)")
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== harness: start #{self.starts} {' '.join(self.command())}\n".encode())
        log.flush()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, env=env,
                                     preexec_fn=die_with_parent)
        log.close()
        _live.add(self)
        self.client = ApiClient(self.sock)

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DaemonError(f"capsuled exited with {self.proc.returncode}; log:\n"
                                  + self.log_tail())
            if os.path.exists(self.sock):
                try:
                    r = self.api("GET", "/_ping", version=None)
                    if r.status == 200 and r.body == b"OK":
                        self._note_etcd()
                        return
                except OSError:
                    self.client.close()
            time.sleep(0.05)
        raise DaemonError(f"capsuled not answering /_ping after {timeout}s; log:\n"
                          + self.log_tail())

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def etcd_pidfile(self):
        return os.path.join(self.data_root, "etcd", "etcd.pid")

    def etcd_pid(self):
        """PID of the etcd child from <data>/etcd/etcd.pid (None if absent)."""
        if self.data_root is None:
            return None
        try:
            with open(self.etcd_pidfile()) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return None
        if pid > 0:
            self.etcd_pids.add(pid)
            return pid
        return None

    def _note_etcd(self):
        if self.data_root is None:
            return
        self.etcd_pid()
        if self.running():
            for c in child_pids(self.pid):
                if any(b"etcd" in a for a in proc_cmdline(c)[:1]):
                    self.etcd_pids.add(c)

    def _is_our_etcd(self, pid):
        if not pid_alive(pid):
            return False
        argv0 = proc_cmdline(pid)[:1]
        if not argv0 or b"etcd" not in argv0[0]:
            return False
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            return True  # cannot tell; it was recorded as our child
        return cwd.startswith(self.data_root)

    def stop(self, timeout=20):
        """SIGTERM by PID, wait, then SIGKILL; then any etcd child left behind."""
        if self.proc is not None:
            self._note_etcd()
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
        if self.client:
            self.client.close()
        # What the daemon left behind (a clean shutdown stops its etcd child); give a
        # dying etcd 2 s, record the rest for the tests, then kill it by PID.
        wait_until(lambda: not self.leftover_etcd(), 2, 0.05)
        self.etcd_left_after_stop = self.leftover_etcd()
        self._kill_leftover_etcd()
        _live.discard(self)
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self._note_etcd()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.client:
            self.client.close()

    def _kill_leftover_etcd(self, wait=10):
        for pid in list(self.etcd_pids):
            if self._is_our_etcd(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                deadline = time.monotonic() + wait
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if pid_alive(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def leftover_etcd(self):
        """etcd processes of this data root still alive (after stop: should be none)."""
        return [p for p in self.etcd_pids if self._is_our_etcd(p)]

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        """Stops everything it started — capsuled, etcd, and the tasks it ran (they outlive
        capsuled by design) — unmounts what is left under its roots, removes the temp dirs."""
        try:
            self.stop()
        finally:
            self.remove_tasks()
            if os.environ.get("CAPSULE_KEEP") != "1":
                shutil.rmtree(self.root, ignore_errors=True)

    def remove_tasks(self):
        """Deletes this daemon's runc containers (runc --root <exec>/runc), kills by PID any
        process still running from its roots (task shims), and lazily unmounts every mount
        below its temp dir (secret tmpfs, overlay rootfs), deepest first."""
        runc_root = os.path.join(self.exec_root, "runc")
        if os.path.isdir(runc_root):
            r = subprocess.run([RUNC, "--root", runc_root, "list", "-q"], capture_output=True)
            for cid in r.stdout.decode().split():
                subprocess.run([RUNC, "--root", runc_root, "delete", "-f", cid],
                               capture_output=True)
        for pid in pids_with_arg(self.root + "/"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for mp in sorted(mounts_below(self.root), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)

    # ---- clients -----------------------------------------------------------
    def api(self, method, path, body=None, query=None, headers=None, version=API_VERSION,
            retry=True):
        return self.client.request(method, path, body=body, query=query, headers=headers,
                                   version=version, retry=retry)

    def new_client(self):
        return ApiClient(self.sock)

    def swarm_init(self, ip=None):
        ip = ip or self.ip
        r = self.api("POST", "/swarm/init", {"ListenAddr": f"{ip}:{SWARM_PORT}",
                                             "AdvertiseAddr": ip, "Spec": {}})
        if r.status != 200:
            raise DaemonError(f"swarm init failed: {r!r}\nlog:\n{self.log_tail()}")
        self._note_etcd()
        return r.json()

    def create_secret(self, name, data, labels=None):
        body = {"Name": name, "Data": b64(data)}
        if labels is not None:
            body["Labels"] = labels
        r = self.api("POST", "/secrets/create", body)
        if r.status != 201:
            raise AssertionError(f"create {name}: {r!r}")
        return r.json()["ID"]

    def cli_env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DOCKER_") and not k.startswith("CAPSULE_")
               and k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
        env.update({"DOCKER_HOST": "unix://" + self.sock, "DOCKER_CONFIG": self.docker_config,
                    "DOCKER_CLI_HINTS": "false", "HTTP_PROXY": "http://127.0.0.1:9",
                    "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
                    "LC_ALL": "C.UTF-8", "COLUMNS": "200"})
        return env

    def docker(self, args, cli=DOCKER_20, input=None, cwd=None, timeout=60):
        return subprocess.run([cli] + list(args), input=input, capture_output=True,
                              env=self.cli_env(), cwd=cwd or self.root, timeout=timeout)

    def capsule(self, args, input=None, cwd=None, timeout=60):
        return subprocess.run([CAPSULE_CLI, "-H", "unix://" + self.sock] + list(args),
                              input=input, capture_output=True, env=self.cli_env(),
                              cwd=cwd or self.root, timeout=timeout)

    # ---- diagnostics -------------------------------------------------------
    def log_bytes(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def log_tail(self, n=40):
        return "\n".join(self.log_bytes().decode("utf-8", "replace").splitlines()[-n:])


class ExternalDaemon(Daemon):
    """Developer aid: runs a test module against an already running engine (for example the
    Docker oracle: CAPSULE_ITEST_EXTERNAL_SOCK=/run/docker-anchor.sock) to check that the
    tests themselves agree with Docker. Only API/CLI tests make sense this way; process
    control (stop/restart/kill9) is refused. swarm_init() leaves and re-initialises the
    swarm (which drops all its secrets)."""

    def __init__(self, ip, name="d", start=True, extra_args=()):
        self.ip = ip
        self.name = name
        self.root = tempfile.mkdtemp(prefix="cpi-ext-", dir="/tmp")
        self.sock = os.environ["CAPSULE_ITEST_EXTERNAL_SOCK"]
        self.docker_config = os.path.join(self.root, "dockercfg")
        os.mkdir(self.docker_config, 0o700)
        self.data_root = self.exec_root = self.log_path = None
        self.proc = None
        self.etcd_pids = set()
        self.client = ApiClient(self.sock)
        self.api("POST", "/swarm/leave", query={"force": "true"})

    def start(self, timeout=30):
        raise unittest.SkipTest("process control needs a real capsuled")

    stop = kill9 = restart = start

    def swarm_init(self, ip=None):
        self.api("POST", "/swarm/leave", query={"force": "true"})
        return super().swarm_init(ip)

    def close(self):
        # Put the oracle back as swarm-init.sh leaves it (loopback swarm on 127.0.0.1).
        self.api("POST", "/swarm/leave", query={"force": "true"})
        self.api("POST", "/swarm/init", {"ListenAddr": "127.0.0.1:2377",
                                         "AdvertiseAddr": "127.0.0.1",
                                         "DataPathAddr": "127.0.0.1", "Spec": {}})
        self.client.close()
        shutil.rmtree(self.root, ignore_errors=True)


if EXTERNAL:
    Daemon = ExternalDaemon  # noqa: F811


def _cleanup_all():
    for d in list(_live):
        try:
            d.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_cleanup_all)
for _sig in (signal.SIGTERM, signal.SIGINT):
    _prev = signal.getsignal(_sig)

    def _on_signal(signum, frame, _prev=_prev):
        _cleanup_all()
        raise SystemExit(128 + signum)

    signal.signal(_sig, _on_signal)
