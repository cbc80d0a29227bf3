"""The Docker Engine API over a unix socket: a keep-alive HTTP/1.1 client, its responses and the
API's own formats (base64 secret data, the multiplexed log stream, Docker's error messages).
Python 3 standard library only."""

import base64
import http.client
import json
import socket
import urllib.parse

API_VERSION = "v1.41"

NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
               '"docker swarm join" to connect this node to swarm and try again.')
NOT_IN_SWARM = "This node is not part of a swarm"
ALREADY_IN_SWARM = ('This node is already part of a swarm. Use "docker swarm leave" '
                    'to leave this swarm and join another one.')


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def demux_stream(body):
    """The payload of Docker's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0,
    big-endian length), without the headers, as bytes."""
    chunks, i = [], 0
    while i + 8 <= len(body):
        n = int.from_bytes(body[i + 4:i + 8], "big")
        chunks.append(body[i + 8:i + 8 + n])
        i += 8 + n
    return b"".join(chunks)


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
