"""The swarm port under hostile clients without a certificate (issue 11 part 4).

Attacker: 200 TLS connections to the manager's swarm port (127.0.33.1:2377) from 127.0.33.9,
none presenting a client certificate, each opening one gRPC call and trying to push a 15 MiB
request message (a minimal HTTP/2 client over the `ssl` module that obeys the server's flow
control, so every byte it manages to send is a byte the server agreed to take). Two rounds:
Dispatcher/UpdateTaskStatus (needs a certificate: refused at the headers, before the message is
read) and the join method NodeCA/IssueNodeCertificate (open to cert-less callers: admitted at a
bounded rate; an admitted call can push its whole message, since gRPC buffers a request before
checking its size, so there the bound is the rate and the server's memory quota). Meanwhile
the test samples the manager's VmRSS and times GET /info and GET /secrets on its Docker API.

Checks: Dispatcher round: every call refused (UNAUTHENTICATED) after at most one 64 KiB stream
window. Join round: all but burst + rate x time calls refused the same way (RESOURCE_EXHAUSTED).
Both: the manager's RSS grows by less than 384 MiB (measured: +0-1 MiB for the Dispatcher
round, +220-280 MiB for the join round; 200 x 15 MiB admitted would be 3-6 GiB), the API keeps answering (p99 < 2 s).
Two single calls pin what decided the receive limit (docs/performance.md): a cert-less join
call declaring 32 MiB is taken whole before the 16 MiB limit refuses it (chttp2 opens its
window to the declared length), and one declaring 200 MiB is cut by gRPC's 128 MiB memory
quota, the bound that does work.
Positive control: the same client presenting the manager's own certificate (a certificate of
the swarm's CA) sends 1 MiB and 15 MiB to UpdateTaskStatus: the server takes every byte and
the call is answered OK — so "bytes taken" does detect a server that lets a message in.

Run: python3 -m unittest -v test_swarm_port   (from tests/redteam)
Addresses: 127.0.33.1 (manager), 127.0.33.9 (attacker source).
"""

import os
import socket
import ssl
import struct
import threading
import time
import unittest

import harness

MGR_IP, ATTACKER_IP = "127.0.33.1", "127.0.33.9"
CONNECTIONS = int(os.environ.get("SWARM_PORT_CONNECTIONS", "200"))
MESSAGE = 15 << 20
ISSUE = "/capsule.api.NodeCA/IssueNodeCertificate"
UPDATE = "/capsule.api.Dispatcher/UpdateTaskStatus"

# HTTP/2 frame types and flags (RFC 7540).
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(
        ">I", stream) + payload


def hpack_literal(name, value):
    """A header field as an HPACK literal without indexing, new name, no Huffman coding."""
    def string(s):
        b = s.encode()
        assert len(b) < 127
        return bytes([len(b)]) + b
    return b"\x00" + string(name) + string(value)


def varint(v):
    out = b""
    while True:
        out += bytes([(v & 0x7f) | (0x80 if v >= 0x80 else 0)])
        v >>= 7
        if not v:
            return out


def certs_of(daemon):
    d = os.path.join(daemon.data_root, "swarm", "certificates")
    return (os.path.join(d, "swarm-node.crt"), os.path.join(d, "swarm-node.key"),
            os.path.join(d, "swarm-root-ca.crt"))


class Http2Call:
    """One gRPC unary call on its own TLS connection, pushing a `size`-byte request message."""

    def __init__(self, path, size, ca, cert=None, key=None, timeout=30.0):
        self.path, self.size, self.timeout = path, size, timeout
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.load_verify_locations(ca)
        self.ctx.check_hostname = False
        self.ctx.set_alpn_protocols(["h2"])
        if cert:
            self.ctx.load_cert_chain(cert, key)
        self.sent = 0            # message bytes the server's flow control let us send
        self.grpc_status = None  # from the response trailers, if any
        self.ended = None        # how the call ended: trailers / rst / goaway / closed / timeout
        self.error = None
        self.elapsed = 0.0

    def run(self):
        start = time.monotonic()
        try:
            self._run()
        except (OSError, ssl.SSLError, ValueError) as e:
            self.error = repr(e)
            self.ended = self.ended or "closed"
        self.elapsed = time.monotonic() - start
        return self

    def _run(self):
        raw = socket.create_connection((MGR_IP, harness.SWARM_PORT), timeout=self.timeout,
                                       source_address=(ATTACKER_IP, 0))
        with self.ctx.wrap_socket(raw, server_hostname="swarm-manager") as tls:
            tls.settimeout(0.2)
            self.buf = b""
            tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0))
            headers = b"".join(hpack_literal(k, v) for k, v in [
                (":method", "POST"), (":scheme", "https"), (":path", self.path),
                (":authority", "swarm-manager"), ("content-type", "application/grpc"),
                ("te", "trailers")])
            tls.sendall(frame(HEADERS, END_HEADERS, 1, headers))
            conn_window, stream_window, max_frame = 65535, 65535, 16384
            # gRPC prefix (not compressed, length), then one protobuf field the servers do not
            # know (number 15, bytes) holding zeros: a well-formed message of `size` bytes.
            n = self.size - 1 - len(varint(self.size))
            body = bytes([(15 << 3) | 2]) + varint(n) if self.size > 8 else b""
            message = struct.pack(">BI", 0, self.size) + body
            remaining = self.size + 5
            deadline = time.monotonic() + self.timeout
            while self.ended is None:
                if time.monotonic() > deadline:
                    self.ended = "timeout"
                    break
                # Send as much as the windows allow.
                while remaining > 0 and min(conn_window, stream_window) > 0:
                    n = min(remaining, conn_window, stream_window, max_frame)
                    chunk = message[:n]
                    message = message[n:]
                    if len(chunk) < n:
                        chunk += bytes(n - len(chunk))
                    remaining -= n
                    tls.sendall(frame(DATA, END_STREAM if remaining == 0 else 0, 1, chunk))
                    conn_window -= n
                    stream_window -= n
                    self.sent = self.size + 5 - remaining
                for ftype, flags, stream, payload in self._frames(tls):
                    if ftype == SETTINGS and not flags & ACK:
                        for i in range(0, len(payload), 6):
                            ident, value = struct.unpack(">HI", payload[i:i + 6])
                            if ident == 4:  # SETTINGS_INITIAL_WINDOW_SIZE
                                stream_window += value - 65535
                            elif ident == 5:
                                max_frame = value
                        tls.sendall(frame(SETTINGS, ACK, 0))
                    elif ftype == PING and not flags & ACK:
                        tls.sendall(frame(PING, ACK, 0, payload))
                    elif ftype == WINDOW_UPDATE:
                        inc = struct.unpack(">I", payload)[0] & 0x7fffffff
                        if stream == 0:
                            conn_window += inc
                        else:
                            stream_window += inc
                    elif ftype == HEADERS and stream == 1:
                        status = self._grpc_status(payload)
                        if status is not None:
                            self.grpc_status = status
                        if flags & END_STREAM:
                            self.ended = "trailers"
                    elif ftype == RST_STREAM and stream == 1:
                        self.ended = self.ended or "rst"
                    elif ftype == GOAWAY:
                        self.ended = self.ended or "goaway"

    def _frames(self, tls):
        try:
            data = tls.recv(1 << 16)
            if not data:
                self.ended = self.ended or "closed"
                return []
            self.buf += data
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        out = []
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                break
            ftype, flags = self.buf[3], self.buf[4]
            stream = struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff
            out.append((ftype, flags, stream, self.buf[9:9 + length]))
            self.buf = self.buf[9 + length:]
        return out

    @staticmethod
    def _grpc_status(block):
        # grpc-status as gRPC's encoder writes it in trailers: a literal name and a short
        # literal value, not Huffman-coded (None when the block holds it otherwise).
        i = block.find(b"grpc-status")
        if i < 0:
            return None
        rest = block[i + len(b"grpc-status"):]
        if rest and rest[0] & 0x80 == 0 and 0 < rest[0] <= 3:
            try:
                return int(rest[1:1 + rest[0]].decode())
            except ValueError:
                return None
        return None


def attack(path, ca, n=CONNECTIONS, size=MESSAGE):
    calls = [Http2Call(path, size, ca) for _ in range(n)]
    threads = [threading.Thread(target=c.run) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return calls


class Sampler:
    """Samples the manager's VmRSS and the Docker API's latency while an attack runs."""

    def __init__(self, daemon):
        self.daemon, self.stop = daemon, threading.Event()
        self.rss_kib, self.latencies, self.api_errors = [], [], 0
        self.client = daemon.new_client()

    def __enter__(self):
        self.threads = [threading.Thread(target=self._rss), threading.Thread(target=self._api)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _rss(self):
        while not self.stop.is_set():
            v = harness.proc_status_kib(self.daemon.pid, "VmRSS")
            if v:
                self.rss_kib.append(v)
            time.sleep(0.05)

    def _api(self):
        paths = ["/info", "/secrets"]
        i = 0
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                r = self.client.request("GET", paths[i % 2])
                if r.status != 200:
                    self.api_errors += 1
            except Exception:  # noqa: BLE001 - any failure to answer counts
                self.api_errors += 1
            self.latencies.append(time.monotonic() - start)
            i += 1
            time.sleep(0.02)

    def p(self, q):
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


class SwarmPort(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = harness.Daemon(MGR_IP, name="m")
        cls.addClassCleanup(cls.m.close)
        cls.m.swarm_init()
        cls.cert, cls.key, cls.ca = certs_of(cls.m)
        harness.wait_until(lambda: os.path.exists(cls.ca), 10)

    def run_attack(self, path, refused_codes, admitted_rate=None):
        base = harness.proc_status_kib(self.m.pid, "VmRSS")
        with Sampler(self.m) as s:
            t0 = time.monotonic()
            calls = attack(path, self.ca)
            took = time.monotonic() - t0
            time.sleep(0.5)
        peak = max(s.rss_kib + [base])
        sent = sorted(c.sent for c in calls)
        codes = {}
        for c in calls:
            key = c.grpc_status if c.grpc_status is not None else c.ended
            codes[key] = codes.get(key, 0) + 1
        print(f"\n[swarm-port] {path}: {len(calls)} cert-less connections x "
              f"{MESSAGE >> 20} MiB in {took:.1f} s; outcomes {codes}; bytes taken per call "
              f"max {sent[-1]} median {sent[len(sent) // 2]}; manager VmRSS {base // 1024} MiB "
              f"before, peak {peak // 1024} MiB (+{(peak - base) // 1024} MiB); Docker API "
              f"{len(s.latencies)} requests, p50 {s.p(0.5):.1f} ms, p99 {s.p(0.99):.1f} ms, "
              f"max {s.p(1.0):.1f} ms, errors {s.api_errors}", flush=True)
        for c in calls:
            self.assertNotEqual(c.ended, "timeout", vars(c))
            if c.grpc_status is not None:
                self.assertIn(c.grpc_status, refused_codes, vars(c))
        refused_early = [c for c in calls if c.sent <= 65535 + 5]
        if not admitted_rate:
            self.assertEqual(len(refused_early), len(calls), "a cert-less call got past 64 KiB")
        else:
            # Calls the gate admitted may push their whole message (gRPC buffers a request
            # before checking its size); the gate admits at most burst + rate x time of them.
            burst, per_second = admitted_rate
            self.assertLessEqual(len(calls) - len(refused_early), burst + per_second * took + 4)
        # An admitted 15 MiB call is held twice for a moment (gRPC's buffer, then the parsed
        # request): about 30 MiB each; without the gate 200 of them would be 3-6 GiB.
        self.assertLess(peak - base, 384 * 1024, "manager RSS grew by 384 MiB or more")
        self.assertEqual(s.api_errors, 0)
        self.assertGreater(len(s.latencies), 5)
        self.assertLess(s.p(0.99), 2000)
        self.assertTrue(self.m.running())

    def test_certless_join_calls_with_15_mib_are_rate_limited_and_memory_bounded(self):
        # RESOURCE_EXHAUSTED (8): over the cert-less call rate (transport::CertlessLimits:
        # burst 8, 8 a second), or cancelled by gRPC's memory quota; INVALID_ARGUMENT (3) or
        # UNAUTHENTICATED (16): an admitted call, answered by NodeCA (no token, no CSR);
        # CANCELLED (1): an admitted call cut off mid-upload by gRPC's memory quota (seen with
        # the machine's CPU contended). Never OK: no call is served.
        self.run_attack(ISSUE, {1, 3, 8, 16}, admitted_rate=(8, 8))

    def test_certless_dispatcher_calls_with_15_mib_are_refused_at_the_headers(self):
        self.run_attack(UPDATE, {16})  # UNAUTHENTICATED

    def admitted_join_call(self, size):
        """One cert-less join call whose prefix declares `size` bytes, sent again while the
        gate's admission rate refuses it at the headers (the other rounds spend its burst)."""
        for _ in range(40):
            c = Http2Call(ISSUE, size, self.ca, timeout=90).run()
            if not (c.grpc_status == 8 and c.sent <= 65535 + 5):
                return c
            time.sleep(0.5)
        self.fail("the cert-less gate never admitted the join call")

    def test_certless_join_call_over_the_receive_limit_is_taken_whole_before_it_is_refused(self):
        # Pins gRPC 1.51's behaviour that decided against a 64 KiB receive limit for the swarm
        # port (docs/performance.md): chttp2 opens the stream's window to the length the gRPC
        # prefix declares and checks the 16 MiB limit only on the whole message. If this
        # fails with `sent` near 16 MiB or less, gRPC now bounds the window by the limit and a
        # small limit would bound what strangers make the manager buffer: revisit it.
        size = 32 << 20
        c = self.admitted_join_call(size)
        print(f"\n[swarm-port] cert-less join call declaring {size >> 20} MiB: took {c.sent} "
              f"bytes, ended {c.ended}, grpc-status {c.grpc_status}, {c.elapsed:.2f} s",
              flush=True)
        self.assertEqual(c.grpc_status, 8, vars(c))  # RESOURCE_EXHAUSTED: over the limit
        self.assertEqual(c.sent, size + 5, vars(c))

    def test_certless_join_call_over_the_memory_quota_is_cut_by_the_quota(self):
        # What does bound an admitted call: the server's 128 MiB grpc::ResourceQuota resets
        # the stream (measured: after 127.6-128.0 MiB of a declared 200 MiB).
        size = 200 << 20
        base = harness.proc_status_kib(self.m.pid, "VmRSS")
        with Sampler(self.m) as s:
            c = self.admitted_join_call(size)
            time.sleep(0.5)
        peak = max(s.rss_kib + [base])
        print(f"\n[swarm-port] cert-less join call declaring {size >> 20} MiB: took {c.sent} "
              f"bytes, ended {c.ended}, grpc-status {c.grpc_status}, {c.elapsed:.2f} s; "
              f"manager VmRSS {base // 1024} MiB before, peak {peak // 1024} MiB "
              f"(+{(peak - base) // 1024} MiB); Docker API p99 {s.p(0.99):.1f} ms, errors "
              f"{s.api_errors}", flush=True)
        self.assertIn(c.ended, ("rst", "goaway", "closed"), vars(c))
        self.assertIsNone(c.grpc_status, vars(c))  # cut by the transport, not answered
        self.assertLess(c.sent, 160 << 20, vars(c))
        self.assertLess(peak - base, 200 * 1024, "manager RSS grew by 200 MiB or more")
        self.assertEqual(s.api_errors, 0)
        self.assertTrue(self.m.running())

    def test_authenticated_client_can_send_large_messages(self):
        # Positive control: the same client with a certificate of the swarm's CA.
        for size in (1 << 20, MESSAGE):
            c = Http2Call(UPDATE, size, self.ca, self.cert, self.key).run()
            print(f"\n[swarm-port] authenticated {size >> 20} MiB to UpdateTaskStatus: took "
                  f"{c.sent} bytes, ended {c.ended}, grpc-status {c.grpc_status}, "
                  f"{c.elapsed:.2f} s", flush=True)
            self.assertEqual(c.sent, size + 5, vars(c))
            self.assertEqual(c.grpc_status, 0, vars(c))  # taken whole and answered


if __name__ == "__main__":
    unittest.main()
