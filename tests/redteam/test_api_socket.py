"""The API socket (issue 11 part 6): created with its final mode, and secret data that arrives
in a query string is wiped after the request like a body is.

Run: PYTHONPATH=.. python3 -m unittest -v test_api_socket   (from tests/redteam; ~30 s)
Addresses: 127.0.35.1 ("mgr"), 127.0.35.2 ("late", started under umask 0).

1 mode     Attack: a local user connects to the API socket in the moment between bind() (mode
           from the umask) and chmod(0660), and drives the daemon as root. Check: capsuled is
           started under umask 0 while an inotify watch (ctypes) on the socket's directory
           records what happens to the socket's name: it must appear only by a rename
           (IN_MOVED_TO), never by a create, and never be chmod-ed (IN_ATTRIB) once visible;
           its mode is then 0660. Positive control: a socket bound then chmod-ed in the same
           directory under umask 0 is seen as IN_CREATE + IN_ATTRIB, with mode 0777 in between.
2 query    Attack: read a secret from the daemon's memory after the request that carried it
           (dockerode's docker-modem sends the options of POST /secrets/create — Data included —
           in the query string as well as in the body). Check: a canary sent as the Data query
           parameter of a secret create (its body carries other data) is found nowhere in
           capsuled's memory (/proc/<pid>/mem, every form leakscan.needles knows) after the
           response; neither is a canary sent in a request header (header values are wiped
           too: X-Registry-Auth carries registry credentials). Positive control: a third canary
           sent as a label value (kept by the read model) on the same kind of request is found
           by the same scan.
"""

import base64
import ctypes
import ctypes.util
import os
import socket
import struct
import unittest

import harness
from harness import leakscan
from harness.api import UnixHTTPConnection

MGR_IP, LATE_IP = "127.0.35.1", "127.0.35.2"

IN_CREATE, IN_ATTRIB, IN_MOVED_TO, IN_NONBLOCK = 0x100, 0x4, 0x80, 0o4000
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class DirWatch:
    """inotify on a directory: the events (create / attrib / moved_to) of each entry name."""

    def __init__(self, path):
        self.fd = _libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self.fd, path.encode(),
                                   IN_CREATE | IN_ATTRIB | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self.events = []  # (name, kind)

    def drain(self):
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            pos = 0
            while pos < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, pos)
                name = data[pos + 16:pos + 16 + length].rstrip(b"\0").decode()
                pos += 16 + length
                for bit, kind in ((IN_CREATE, "create"), (IN_ATTRIB, "attrib"),
                                  (IN_MOVED_TO, "moved_to")):
                    if mask & bit:
                        self.events.append((name, kind))

    def of(self, name):
        self.drain()
        return [kind for n, kind in self.events if n == name]

    def close(self):
        os.close(self.fd)


def canary(tag):
    # URL-safe text: the same bytes raw and percent-decoded.
    return tag.encode() + b"-" + base64.urlsafe_b64encode(os.urandom(96))


def raw_request(sock_path, target, body, headers=()):
    conn = UnixHTTPConnection(sock_path)
    try:
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(dict(headers))
        conn.request("POST", target, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class ApiSocket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = harness.Daemon(MGR_IP, name="mgr")
        cls.addClassCleanup(cls.m.close)
        cls.m.swarm_init()

    def test_1_socket_appears_only_with_its_final_mode(self):
        d = harness.Daemon(LATE_IP, name="late", start=False)
        self.addCleanup(d.close)
        name = os.path.basename(d.sock)
        watch = DirWatch(d.root)
        self.addCleanup(watch.close)
        old = os.umask(0)
        try:
            d.start()
        finally:
            os.umask(old)
        self.assertEqual(watch.of(name), ["moved_to"])
        st = os.lstat(d.sock)
        self.assertEqual(oct(st.st_mode & 0o7777), oct(0o660))
        # Nothing left of the private directory it was bound in.
        self.assertEqual([n for n in os.listdir(d.root) if n.startswith(".capsule-api-")], [])

        # Positive control: bind then chmod, as the socket was made before.
        plain = os.path.join(d.root, "plain.sock")
        old = os.umask(0)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(plain)
            window = os.lstat(plain).st_mode & 0o7777
            os.chmod(plain, 0o660)
        finally:
            os.umask(old)
            s.close()
            os.unlink(plain)
        self.assertEqual(watch.of("plain.sock"), ["create", "attrib"])
        self.assertEqual(oct(window), oct(0o777))

    def scan(self, value):
        hits, regions, nbytes, _ = leakscan.scan_memory(self.m.pid, leakscan.needles(value))
        self.assertGreater(regions, 0)
        self.assertGreater(nbytes, 0)
        # Where, and how many forms: never the canary's bytes.
        return [(region, len(found)) for region, found in hits]

    def test_2_secret_data_in_a_query_string_is_wiped(self):
        secret = canary("qs")
        header = canary("hdr")
        control = canary("lbl")
        body = ('{"Name": "%s", "Data": "%s"}'
                % ("qs-" + os.urandom(4).hex(), base64.b64encode(os.urandom(64)).decode()))
        status, resp = raw_request(self.m.sock,
                                   "/v1.41/secrets/create?Name=x&Data=" + secret.decode(), body)
        self.assertEqual(status, 201, resp)
        # A label value is kept (the read model holds it): the scan must find it. Header values
        # are wiped with the request (X-Registry-Auth carries registry credentials).
        body2 = ('{"Name": "%s", "Data": "%s", "Labels": {"c": "%s"}}'
                 % ("hdr-" + os.urandom(4).hex(), base64.b64encode(os.urandom(64)).decode(),
                    control.decode()))
        status, resp = raw_request(self.m.sock, "/v1.41/secrets/create?Name=y", body2,
                                   headers=[("X-Control", header.decode())])
        self.assertEqual(status, 201, resp)
        # A few more requests so nothing is still in flight.
        for _ in range(3):
            self.assertEqual(self.m.api("GET", "/_ping", version=None).status, 200)
        self.assertNotEqual(self.scan(control), [],
                            "control: the label canary should be found in capsuled's memory")
        self.assertEqual(self.scan(secret), [],
                         "the query-string canary is still in capsuled's memory")
        self.assertEqual(self.scan(header), [], "the header canary is still in capsuled's memory")


if __name__ == "__main__":
    unittest.main()
