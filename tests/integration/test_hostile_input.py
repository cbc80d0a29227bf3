"""Hostile clients against a real capsuled (issue 5, part 2: hostile input).

Addresses: 127.0.19.x. One daemon (swarm manager) started with a short API read timeout
(--http-read-timeout-ms, a hidden test option; the default is 30 s). Each case sends something
hostile — 100 MB bodies (buffered and streaming routes, Content-Length and chunked), 10,000
labels, 100,000 nested brackets, huge headers and URLs, garbage request lines, clients that
never finish their headers or body — and checks that it gets a clean 4xx or is disconnected,
that nothing was created by a refused request, that capsuled's memory stays bounded
(VmHWM growth < 64 MiB over its RSS before the first case), and that a normal client polling
GET /secrets on its own connection is served (200) all along. Its latency during each case
and the memory figures are printed and, when PROVE_OUT is set, written to
$PROVE_OUT/hostile.json. No timing is asserted except a generous bound on "disconnected at
the read timeout" (20x the timeout), which catches a server that never times out.
"""

import json
import os
import socket
import statistics
import threading
import time
import unittest

import harness

IP = "127.0.19.1"
READ_TIMEOUT_S = 2.0
MIB = 1 << 20
RSS_BOUND_KIB = 64 * 1024
BIG = 100 * MIB


def proc_status_kib(pid, field):
    value = harness.proc_status_kib(pid, field)
    if value is None:
        raise AssertionError(f"{field} not in /proc/{pid}/status")
    return value


def parse_response(raw):
    """(status, message or text) of a raw HTTP/1.1 response (status 0 if none came)."""
    if not raw:
        return 0, ""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    text = body.decode("utf-8", "replace")
    for line in text.splitlines() or [text]:
        try:
            j = json.loads(line)
            if isinstance(j, dict) and ("message" in j or "error" in j):
                return status, j.get("message") or j.get("error")
        except ValueError:
            pass
    return status, text[:200]


def body_chunks(total, chunked=False, piece=MIB, fill=None):
    """Yields `total` bytes of body in `piece`-sized writes (as chunked encoding if asked)."""
    block = fill if fill is not None else (b"A" * piece)
    sent = 0
    while sent < total:
        n = min(piece, total - sent)
        data = block[:n]
        yield (b"%x\r\n" % n + data + b"\r\n") if chunked else data
        sent += n
    if chunked:
        yield b"0\r\n\r\n"


def raw_exchange(sock_path, head, chunks=(), timeout=60):
    """Sends head, then the body chunks from a thread (stopping when the server closes), and
    reads the response until the server closes. → (status, message, seconds, bytes_sent)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    sent = [0]
    start = time.monotonic()

    def sender():
        try:
            s.sendall(head)
            for c in chunks:
                s.sendall(c)
                sent[0] += len(c)
        except OSError:
            pass  # the server answered and closed: the rest of the body is refused

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    raw = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            raw += d
    except (ConnectionResetError, socket.timeout):
        pass
    elapsed = time.monotonic() - start
    s.close()
    t.join(timeout=30)
    status, msg = parse_response(raw)
    return status, msg, elapsed, sent[0]


def post_head(path, length=None, chunked=False, extra=""):
    h = f"POST {path} HTTP/1.1\r\nHost: capsule\r\nContent-Type: application/json\r\n"
    if chunked:
        h += "Transfer-Encoding: chunked\r\n"
    elif length is not None:
        h += f"Content-Length: {length}\r\n"
    return (h + extra + "\r\n").encode()


class OtherClient:
    """A well-behaved client polling GET /secrets on its own keep-alive connection."""

    def __init__(self, daemon):
        self.client = daemon.new_client()
        self.samples = []  # (monotonic end time, latency ms, status)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                status = self.client.request("GET", "/secrets").status
            except OSError as e:
                status = f"error {e!r}"
                self.client.close()
            t1 = time.monotonic()
            self.samples.append((t1, (t1 - t0) * 1000, status))
            self.stop.wait(0.02)

    def window(self, t0, t1):
        return [s for s in self.samples if t0 <= s[0] <= t1]


class HostileInputTest(unittest.TestCase):
    results = []

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="hostile",
                               extra_args=["--http-read-timeout-ms", str(int(READ_TIMEOUT_S * 1000))])
        try:
            cls.d.swarm_init()
            cls.keep_id = cls.d.create_secret("hostile-keep", "kept", {"a": "b"})
            cls.baseline_rss = proc_status_kib(cls.d.pid, "VmRSS")
            cls.other = OtherClient(cls.d)
            cls.other.thread.start()
        except Exception:
            cls.d.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.other.stop.set()
        cls.other.thread.join(timeout=30)
        cls.other.client.close()
        peak = proc_status_kib(cls.d.pid, "VmHWM") - cls.baseline_rss
        print(f"\ncapsuled RSS before the cases {cls.baseline_rss} KiB, peak growth {peak} KiB")
        for r in cls.results:
            print(f"  {r['name']:<34} {r['result']:<60} rss_growth={r['rss_growth_kib']} KiB "
                  f"other p50={r['other_client_p50_ms']} max={r['other_client_max_ms']} ms")
        out = os.environ.get("PROVE_OUT")
        if out:
            os.makedirs(out, exist_ok=True)
            with open(os.path.join(out, "hostile.json"), "w") as f:
                json.dump({"cases": cls.results, "baseline_rss_kib": cls.baseline_rss,
                           "read_timeout_s": READ_TIMEOUT_S}, f, indent=1)
        cls.d.close()

    # ---- helpers -------------------------------------------------------------------------
    def snapshot(self):
        secrets = sorted(s["Spec"]["Name"] for s in self.d.api("GET", "/secrets").json())
        services = sorted(s["Spec"]["Name"] for s in self.d.api("GET", "/services").json())
        images = sorted(i["Id"] for i in self.d.api("GET", "/images/json").json())
        return {"secrets": secrets, "services": services, "images": images}

    def run_case(self, name, fn, refused=True):
        """Runs fn() → result text; records memory and the other client's latency."""
        before = self.snapshot() if refused else None
        t0 = time.monotonic()
        result = fn()
        t1 = time.monotonic()
        time.sleep(0.1)  # at least a few polls of the other client after the case
        window = self.other.window(t0, time.monotonic())
        self.assertTrue(self.d.running(), f"{name}: capsuled died; log:\n{self.d.log_tail()}")
        bad = [s for s in window if s[2] != 200]
        self.assertEqual(bad, [], f"{name}: the other client was not served")
        self.assertTrue(window, f"{name}: the other client got no answer during the case")
        growth = proc_status_kib(self.d.pid, "VmHWM") - self.baseline_rss
        lat = [s[1] for s in window]
        self.results.append({
            "name": name, "result": result, "rss_growth_kib": growth,
            "other_client_p50_ms": round(statistics.median(lat), 2),
            "other_client_max_ms": round(max(lat), 2), "seconds": round(t1 - t0, 2),
            "other_client_requests": len(window)})
        self.assertLess(growth, RSS_BOUND_KIB, f"{name}: capsuled grew {growth} KiB")
        if refused:
            self.assertEqual(self.snapshot(), before, f"{name}: a refused request created something")
        self.assertEqual(self.d.api("GET", f"/secrets/{self.keep_id}").status, 200)

    def expect(self, got, status, name):
        st, msg, secs, sent = got
        self.assertEqual(st, status, f"{name}: {got!r}")
        return f"{st} {msg!r} after {secs:.2f}s ({sent >> 20} MiB sent)"

    # ---- cases ---------------------------------------------------------------------------
    def test_snapshot_sees_what_a_request_creates(self):
        """Positive control: the "nothing was created" check does see a created secret."""
        before = self.snapshot()
        sid = self.d.create_secret("hostile-control", "x")
        try:
            self.assertNotEqual(self.snapshot(), before)
        finally:
            self.assertEqual(self.d.api("DELETE", f"/secrets/{sid}").status, 204)
        self.assertEqual(self.snapshot(), before)

    def test_100mb_body_to_secrets_create(self):
        def case():
            got = raw_exchange(self.d.sock, post_head("/v1.41/secrets/create", BIG),
                               body_chunks(BIG))
            return self.expect(got, 413, "content-length")
        self.run_case("100MB body /secrets/create", case)

    def test_100mb_chunked_body_to_secrets_create(self):
        def case():
            got = raw_exchange(self.d.sock, post_head("/v1.41/secrets/create", chunked=True),
                               body_chunks(BIG, chunked=True))
            return self.expect(got, 413, "chunked")
        self.run_case("100MB chunked /secrets/create", case)

    def test_100mb_garbage_tar_to_images_load(self):
        garbage = os.urandom(MIB)

        def case():
            got = raw_exchange(self.d.sock, post_head("/v1.41/images/load?quiet=1", BIG),
                               body_chunks(BIG, fill=garbage))
            self.assertTrue(400 <= got[0] < 500, f"images/load: {got!r}")
            return f"{got[0]} {got[1]!r} after {got[2]:.2f}s ({got[3] >> 20} MiB sent)"
        self.run_case("100MB garbage tar /images/load", case)

    def test_100mb_garbage_tar_to_image_import(self):
        garbage = os.urandom(MIB)

        def case():
            path = "/v1.41/images/create?fromSrc=-&repo=hostile/garbage&tag=1"
            got = raw_exchange(self.d.sock, post_head(path, chunked=True),
                               body_chunks(BIG, chunked=True, fill=garbage))
            self.assertTrue(400 <= got[0] < 500, f"images/create: {got!r}")
            return f"{got[0]} {got[1]!r} after {got[2]:.2f}s ({got[3] >> 20} MiB sent)"
        self.run_case("100MB garbage tar /images/create", case)

    def test_10000_labels(self):
        labels = {f"label-{i:05d}": f"value-{i}" for i in range(10000)}

        def case():
            r = self.d.api("POST", "/secrets/create",
                           {"Name": "hostile-labels", "Data": harness.b64("x"), "Labels": labels})
            if r.status == 201:  # Docker accepts any number of labels: so does Capsule
                sid = r.json()["ID"]
                got = self.d.api("GET", f"/secrets/{sid}").json()["Spec"]["Labels"]
                self.assertEqual(got, labels)
                listed = self.d.api("GET", "/secrets",
                                    query={"filters": json.dumps({"label": ["label-09999=value-9999"]})})
                self.assertEqual([s["ID"] for s in listed.json()], [sid])
                self.assertEqual(self.d.api("DELETE", f"/secrets/{sid}").status, 204)
                return "201, all 10000 labels stored, listed by label, deleted"
            self.assertTrue(400 <= r.status < 500, repr(r))
            return f"{r.status} {r.message()!r}"
        self.run_case("10000 labels", case, refused=False)

    def test_deeply_nested_json(self):
        def case():
            out = []
            for path, body in [("/secrets/create", "[" * 100000),
                               ("/secrets/create", '{"Name":"x","Labels":' + '{"a":' * 100000),
                               ("/services/create", '{"TaskTemplate":' + "[" * 100000)]:
                r = self.d.api("POST", path, body)
                self.assertEqual(r.status, 400, f"{path}: {r!r}")
                self.assertIn("exceeded max depth", r.message() or "", repr(r))
                out.append(f"{r.status}")
            return " ".join(out) + " 'exceeded max depth'"
        self.run_case("100000 nested brackets", case)

    def test_huge_header_and_url(self):
        def case():
            out = []
            big_header = (f"GET /v1.41/secrets HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * (200 * 1024)}"
                          "\r\n\r\n").encode()
            big_url = f"GET /v1.41/secrets?x={'b' * (200 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            many = ("GET /v1.41/secrets HTTP/1.1\r\nHost: x\r\n" +
                    "".join(f"X-H{i}: v\r\n" for i in range(20000)) + "\r\n").encode()
            for what, head in [("header", big_header), ("url", big_url), ("20000 headers", many)]:
                got = raw_exchange(self.d.sock, head)
                self.assertEqual(got[0], 431, f"{what}: {got!r}")
                out.append(f"{what}: {got[0]}")
            return ", ".join(out)
        self.run_case("200KB header / URL, 20000 headers", case)

    def test_garbage_request_lines(self):
        def case():
            out = []
            for junk in [b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                         b"POST /v1.41/secrets/create HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                         b"POST /v1.41/secrets/create HTTP/1.1\r\nContent-Length: 1\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"]:
                got = raw_exchange(self.d.sock, junk, timeout=READ_TIMEOUT_S * 20)
                self.assertTrue(got[0] == 0 or 400 <= got[0] < 500, f"{junk!r}: {got!r}")
                out.append(str(got[0] or "closed"))
            return " ".join(out)
        self.run_case("garbage request lines", case)

    def test_slow_clients(self):
        def case():
            conns = []

            def opened(head):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(READ_TIMEOUT_S * 20)
                s.connect(self.d.sock)
                s.sendall(head)
                conns.append((s, time.monotonic()))
                return s

            # 20 that never finish their headers, 20 that never finish their body (buffered
            # route), 4 streaming uploads that stall, 4 that trickle a header byte every 0.3 s.
            for _ in range(20):
                opened(b"POST /v1.41/secrets/create HTTP/1.1\r\nHost: x\r\n")
            for _ in range(20):
                opened(post_head("/v1.41/secrets/create", 1000) + b'{"Name":"slow')
            for _ in range(4):
                opened(post_head("/v1.41/images/load", MIB) + b"\0" * 512)
            stop = threading.Event()
            trick = [opened(b"G") for _ in range(4)]

            def trickle():
                while not stop.is_set():
                    for s in trick:
                        try:
                            s.send(b"E")
                        except OSError:
                            pass
                    stop.wait(0.3)
            tt = threading.Thread(target=trickle, daemon=True)
            tt.start()
            waits = []
            for s, t0 in conns:
                try:
                    while s.recv(65536):
                        pass
                except ConnectionResetError:
                    pass
                except socket.timeout:
                    self.fail(f"a slow client was not disconnected within {READ_TIMEOUT_S * 20}s")
                waits.append(time.monotonic() - t0)
                s.close()
            stop.set()
            tt.join(timeout=10)
            return (f"all {len(conns)} disconnected; after {min(waits):.1f}-{max(waits):.1f}s "
                    f"(read timeout {READ_TIMEOUT_S}s)")
        self.run_case("48 slow clients", case)


if __name__ == "__main__":
    unittest.main()
