"""Integration-test harness: real capsuled processes on temp roots and unix sockets.

Python 3 standard library only.

Binaries come from the environment:
  CAPSULED     path of capsuled      (default /work/main/build/bin/capsuled)
  CAPSULE_CLI  path of the capsule CLI (default /work/main/build/bin/capsule)
  CAPSULE_KEEP=1 keeps the temp dirs of stopped daemons (for debugging).

Loopback address allocation (so test modules can run in parallel without
clashing on the swarm port 2377 / etcd peer port 2380). Each module owns one
127.0.M.0/24 block; each daemon inside a module uses its own last octet:
  127.0.1.x  test_edge_cases
  127.0.2.x  test_docker_cli
  127.0.3.x  test_restart
  127.0.4.x  test_two_daemons
  127.0.5.x  test_canary
  127.0.6.x  test_modes
  127.0.7.x  test_multinode
  127.0.9.x  bench/ (compare_oracle.sh)
  127.0.10.x test_renewal
  127.0.11.x test_services_api
  127.0.15.x test_images
  127.0.16.x test_services
  127.0.17.x test_services_multinode
  127.0.18.x tests/fault/crash_safety.py (capsuled / etcd kill rounds)
  127.0.19.x test_hostile_input
  127.0.20.x test_leaks
  127.0.21.x bench/scale_bench.py (prove.scale)
  127.0.22.x tests/fault/crash_safety.py (worker kill rounds)
  127.0.24.x test_lifecycle
127.0.0.1 is left to the Docker oracle (bench/compare_oracle.sh).
"""

import base64
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

DEFAULT_BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
RUNC = shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin") or "runc"
CAPSULED = os.environ.get("CAPSULED", DEFAULT_BIN + "/capsuled")
CAPSULE_CLI = os.environ.get("CAPSULE_CLI", DEFAULT_BIN + "/capsule")
DOCKER_28 = "/usr/local/bin/docker"
DOCKER_20 = "/usr/bin/docker"
ETCD = "/usr/bin/etcd"
API_VERSION = "v1.41"
# Docker 20.10 (the oracle) sends no Swarm header on /_ping; Capsule does (as Docker >= 24).
EXTERNAL = bool(os.environ.get("CAPSULE_ITEST_EXTERNAL_SOCK"))
SWARM_PORT = 2377
ETCD_PEER_PORT = SWARM_PORT + 3

NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
               '"docker swarm join" to connect this node to swarm and try again.')
NOT_IN_SWARM = "This node is not part of a swarm"
ALREADY_IN_SWARM = ('This node is already part of a swarm. Use "docker swarm leave" '
                    'to leave this swarm and join another one.')

_PR_SET_PDEATHSIG = 1
_live = set()  # every Daemon with a running process; cleaned up at exit


def _die_with_parent():
    """preexec_fn: the daemon gets SIGTERM if the test process dies (ctest timeout)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


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


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get)
        self.body = body  # bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def message(self):
        try:
            return self.json().get("message")
        except (ValueError, AttributeError):
            return None

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


class ApiClient:
    """A keep-alive HTTP/1.1 client on a unix socket (one connection, not thread-safe)."""

    def __init__(self, sock_path, timeout=60):
        self.sock_path = sock_path
        self.timeout = timeout
        self.conn = None
        self.requests_on_conn = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def request(self, method, path, body=None, query=None, headers=None,
                version=API_VERSION, retry=True):
        """Sends one request. body: dict/list (JSON), str/bytes (raw, JSON content type
        unless headers say otherwise) or None. query: dict or str. version: 'v1.41',
        None for no /vX.Y prefix. Retries once on a stale keep-alive connection
        (as Go's http client does) when retry is true."""
        url = path
        if version:
            url = f"/{version}{path}"
        if query:
            if isinstance(query, str):
                url += "?" + query
            else:
                url += "?" + urllib.parse.urlencode(query)
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = bytes(body)
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            reused = self.conn is not None and self.requests_on_conn > 0
            if self.conn is None:
                self.conn = UnixHTTPConnection(self.sock_path, self.timeout)
                self.requests_on_conn = 0
            try:
                self.conn.request(method, url, body=data, headers=hdrs)
                r = self.conn.getresponse()
                payload = r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError, http.client.CannotSendRequest,
                    http.client.ResponseNotReady):
                self.close()
                if attempt == 0 and reused and retry:
                    continue
                raise
            self.requests_on_conn += 1
            if r.getheader("Connection", "").lower() == "close" or r.will_close:
                self.close()
            return Response(r.status, r.headers, payload)
        raise AssertionError("unreachable")


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
                "--log-level", "info"] + self.extra_args

    def start(self, timeout=30):
        if not os.access(CAPSULED, os.X_OK):
            raise DaemonError(f"capsuled binary not found at {CAPSULED} (set CAPSULED)")
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== harness: start #{self.starts} {' '.join(self.command())}\n".encode())
        log.flush()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, env=env,
                                     preexec_fn=_die_with_parent)
        log.close()
        _live.add(self)
        self.client = ApiClient(self.sock)
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

    def docker(self, args, cli=DOCKER_28, input=None, cwd=None, timeout=60):
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


if os.environ.get("CAPSULE_ITEST_EXTERNAL_SOCK"):
    import unittest  # noqa: E402
    Daemon = ExternalDaemon  # noqa: F811


def _cleanup_all():
    for d in list(_live):
        try:
            d.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


import atexit  # noqa: E402

atexit.register(_cleanup_all)
for _sig in (signal.SIGTERM, signal.SIGINT):
    _prev = signal.getsignal(_sig)

    def _on_signal(signum, frame, _prev=_prev):
        _cleanup_all()
        raise SystemExit(128 + signum)

    signal.signal(_sig, _on_signal)


def proc_status_kib(pid, field):
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM, ...) as an int, or None if absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def demux_stream(body):
    """The payload of Docker's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0,
    big-endian length), without the headers, as bytes."""
    chunks, i = [], 0
    while i + 8 <= len(body):
        n = int.from_bytes(body[i + 4:i + 8], "big")
        chunks.append(body[i + 8:i + 8 + n])
        i += 8 + n
    return b"".join(chunks)


def wait_until(fn, timeout, interval=0.1):
    """Polls fn() until it returns a truthy value or timeout seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
