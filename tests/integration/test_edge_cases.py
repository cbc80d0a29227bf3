"""Replays the Docker oracle's raw-API secret edge cases against capsuled, plus wire basics.

Run: PYTHONPATH=.. python3 -m unittest -v test_edge_cases   (from tests/integration)
Addresses: 127.0.1.x (see tests/harness).
"""

import base64
import datetime
import json
import os
import re
import socket
import unittest
import urllib.parse

import harness

ORACLE_TSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "oracle",
                          "edge-cases.tsv")
ID_RE = re.compile(r"^[0-9a-z]{25}$")
QUOTED_ID_RE = re.compile(r'"([0-9a-z]{25})"')
TS_RE = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)"')
INDEX_RE = re.compile(r'"Index":(\d+)')
BIG_ROW_RE = re.compile(r"^create_data_(\d{6})$")
TRUNC_RE = re.compile(r"\.\.\.\((\d+) bytes\)$")
JSON_CT = "application/json"


def load_rows():
    rows = []
    with open(ORACLE_TSV, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            case, req, status, body = line.split("\t")
            parts = req.split(" ", 2)
            method, path = parts[0], parts[1]
            rbody = parts[2] if len(parts) == 3 else None
            rows.append((case, method, path, rbody, int(status), body))
    return rows


def ts_ns(ts):
    """RFC 3339 UTC with up to 9 fractional digits -> integer nanoseconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", ts)
    secs = int(datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
               .replace(tzinfo=datetime.timezone.utc).timestamp())
    return secs * 10**9 + int((m.group(2) or "").ljust(9, "0"))


def array_elements(text):
    """Raw text of each element of a JSON array text (no whitespace between elements)."""
    dec, out, i = json.JSONDecoder(), [], 1
    while i < len(text) and text[i] != "]":
        _, end = dec.raw_decode(text, i)
        out.append(text[i:end])
        i = end + 1 if end < len(text) and text[end] == "," else end
    return out


def base36_prefix(tok):
    return re.fullmatch(r"[0-9a-z]{4,24}", tok) is not None


class EdgeCaseReplay(unittest.TestCase):
    """Every row of samples/edge-cases.tsv, in order, on a fresh swarm."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon("127.0.1.1")
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()

    def setUp(self):
        self.id_map = {}        # oracle ID -> our ID
        self.rev_ids = {}       # our ID -> canonical token
        self.orc_ids = {}       # oracle ID -> canonical token
        self.version_map = {}   # oracle version in a request -> our version
        self.index_pairs = []   # (oracle Index, our Index, where)
        self.created_names = []  # names of secrets the oracle created (201)

    # ---- request rewriting -------------------------------------------------
    def map_token(self, tok):
        if tok in self.id_map:
            return self.id_map[tok]
        if base36_prefix(tok):
            hits = [o for o in self.id_map if o.startswith(tok)]
            if len(hits) == 1:
                return self.id_map[hits[0]][:len(tok)]
        return tok

    def current_version(self, path):
        m = re.match(r"^/secrets/([^/]+)/update", path)
        r = self.d.api("GET", f"/secrets/{m.group(1)}")
        if r.status != 200:
            return None
        return r.json()["Version"]["Index"]

    def rewrite(self, case, path, body):
        p, _, q = path.partition("?")
        segs = [self.map_token(s) for s in p.split("/")]
        p = "/".join(segs)
        params = []
        for kv in q.split("&") if q else []:
            k, _, v = kv.partition("=")
            v = urllib.parse.unquote(v)
            if k == "filters":
                try:
                    f = json.loads(v)
                    if isinstance(f, dict) and "id" in f:
                        f["id"] = [self.map_token(x) for x in f["id"]]
                    v = json.dumps(f, separators=(",", ":"))
                except ValueError:
                    pass
            if k == "version" and v.isdigit():
                ov = int(v)
                if ov not in self.version_map:
                    # A version never seen in an oracle answer was the current one there.
                    cur = self.current_version(p)
                    if cur is not None:
                        self.version_map[ov] = cur
                if ov in self.version_map:
                    self.index_pairs.append((ov, self.version_map[ov], case + " (request)"))
                    v = str(self.version_map[ov])
            params.append(k + "=" + urllib.parse.quote(v, safe=""))
        if params:
            p += "?" + "&".join(params)
        m = BIG_ROW_RE.match(case)
        if body is not None and m and TRUNC_RE.search(body):
            name = re.search(r'"Name":"([^"]*)"', body).group(1)
            data = os.urandom(int(m.group(1)))
            body = json.dumps({"Name": name, "Data": base64.b64encode(data).decode()},
                              separators=(",", ":"))
        return p, body

    # ---- body normalisation ------------------------------------------------
    def canon(self, text, ids):
        text = QUOTED_ID_RE.sub(lambda m: '"' + ids.get(m.group(1), "ID?") + '"', text)
        text = TS_RE.sub('"TS"', text)
        return INDEX_RE.sub('"Index":N', text)

    def canon_message(self, text, ids):
        return re.sub(r"\b[0-9a-z]{25}\b", lambda m: ids.get(m.group(0), m.group(0)), text)

    def check_objects(self, case, ours, oracle):
        """Index relation and timestamp relations for one or more secret objects."""
        if isinstance(ours, dict):
            ours, oracle = [ours], [oracle]
        for o, e in zip(ours, oracle):
            self.assertTrue(ID_RE.match(o["ID"]), o)
            self.assertGreater(o["Version"]["Index"], 0)
            self.index_pairs.append((e["Version"]["Index"], o["Version"]["Index"], case))
            for k in ("CreatedAt", "UpdatedAt"):
                self.assertRegex(o[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z$")
            self.assertEqual(o["CreatedAt"] == o["UpdatedAt"],
                             e["CreatedAt"] == e["UpdatedAt"], (case, o))
            self.assertLessEqual(ts_ns(o["CreatedAt"]), ts_ns(o["UpdatedAt"]))

    def check_list_all(self, case, r, expected):
        """The TSV holds only the first 600 bytes; check what it implies."""
        self.assertEqual(r.headers.get("Content-Type"), JSON_CT)
        self.assertTrue(r.body.endswith(b"\n"))
        ours = r.json()
        self.assertEqual(sorted(s["Spec"]["Name"] for s in ours), sorted(self.created_names))
        ids = [s["ID"] for s in ours]
        self.assertEqual(ids, sorted(ids), "list must be sorted by ID like the oracle's")
        m = TRUNC_RE.search(expected)
        self.assertIsNotNone(m)
        # Each element is byte-identical to the inspect of that secret.
        text = r.body.decode().rstrip("\n")
        self.assertTrue(text.startswith("[") and text.endswith("]"))
        for s in ours:
            one = self.d.api("GET", f"/secrets/{s['ID']}")
            self.assertIn(one.body.decode().rstrip("\n"), text)
        by_name = {s["Spec"]["Name"]: s for s in ours}
        self.assertEqual(by_name["ec-tmpl"]["Spec"],
                         {"Name": "ec-tmpl", "Labels": {}, "Templating": {"Name": "golang"}})
        self.assertEqual(by_name["ec-lbl-empty"]["Spec"], {"Name": "ec-lbl-empty",
                                                           "Labels": {"": "v"}})
        self.assertEqual(by_name["ec-labels"]["Spec"]["Labels"], {"env": "prod", "team": "a"})
        self.assertNotIn("Data", text)
        # The oracle's first (visible) element, ec.a-b_c, is byte-identical to ours after
        # normalisation (key order included).
        first, end = json.JSONDecoder().raw_decode(expected, 1)
        mine = [t for t in array_elements(text)
                if json.loads(t)["Spec"]["Name"] == first["Spec"]["Name"]]
        self.assertEqual(len(mine), 1, text)
        self.assertEqual(self.canon(mine[0], self.rev_ids),
                         self.canon(expected[1:end], self.orc_ids))

    def test_replay_oracle_edge_cases(self):
        rows = load_rows()
        self.assertEqual(len(rows), 66)
        for case, method, path, body, status, expected in rows:
            with self.subTest(case=case):
                p, b = self.rewrite(case, path, body)
                r = self.d.api(method, p, body=b)
                self.assertEqual(r.status, status, f"{method} {p} -> {r!r}")
                if status == 201:
                    oid = json.loads(expected)["ID"]
                    nid = r.json()["ID"]
                    self.assertTrue(ID_RE.match(nid), nid)
                    self.id_map[oid] = nid
                    tok = f"ID{len(self.id_map)}"
                    self.orc_ids[oid] = tok
                    self.rev_ids[nid] = tok
                    name = json.loads(b)["Name"]
                    self.created_names.append(name)
                if case == "list_all":
                    self.check_list_all(case, r, expected)
                    continue
                if expected == "":
                    self.assertEqual(r.body, b"", f"{case}: body must be empty")
                    if status == 200:
                        self.assertEqual(r.headers.get("Content-Length"), "0")
                    continue
                self.assertEqual(r.headers.get("Content-Type"), JSON_CT, case)
                self.assertTrue(r.body.endswith(b"\n"), f"{case}: body must end with \\n")
                ours_text = r.body.decode()[:-1]
                if '"message"' in expected:
                    self.assertEqual(self.canon_message(ours_text, self.rev_ids),
                                     self.canon_message(expected, self.orc_ids))
                    continue
                self.assertEqual(self.canon(ours_text, self.rev_ids),
                                 self.canon(expected, self.orc_ids))
                oj, ej = json.loads(ours_text), json.loads(expected)
                if isinstance(ej, dict) and "Version" in ej or isinstance(ej, list):
                    self.check_objects(case, oj, ej)
                    if isinstance(ej, dict):
                        self.version_map.setdefault(ej["Version"]["Index"],
                                                    oj["Version"]["Index"])
        # Version.Index: same order relations as the oracle's (cluster-wide counter).
        for o1, u1, w1 in self.index_pairs:
            for o2, u2, w2 in self.index_pairs:
                self.assertEqual((o1 > o2) - (o1 < o2), (u1 > u2) - (u1 < u2),
                                 f"Index order differs: oracle {o1}@{w1} vs {o2}@{w2}; "
                                 f"ours {u1} vs {u2}")


class NotInSwarm(unittest.TestCase):
    """Every swarm call before init answers 503 with Docker's exact message."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon("127.0.1.2")
        cls.addClassCleanup(cls.d.close)

    def assertError(self, r, status, message):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers.get("Content-Type"), JSON_CT)
        self.assertEqual(r.body, json.dumps({"message": message}, separators=(",", ":")).encode() + b"\n")

    def test_1_calls_before_init(self):
        calls = [("GET", "/swarm", None), ("GET", "/secrets", None),
                 ("GET", "/secrets/abc", None),
                 ("POST", "/secrets/create", {"Name": "x", "Data": "eA=="}),
                 ("DELETE", "/secrets/abc", None),
                 ("POST", "/secrets/abc/update?version=1", {"Name": "x"})]
        for method, path, body in calls:
            with self.subTest(call=f"{method} {path}"):
                p, _, q = path.partition("?")
                self.assertError(self.d.api(method, p, body, query=q or None), 503,
                                 harness.NOT_MANAGER)
        with self.subTest(call="leave"):
            self.assertError(self.d.api("POST", "/swarm/leave"), 503, harness.NOT_IN_SWARM)
        with self.subTest(call="info inactive"):
            r = self.d.api("GET", "/info")
            self.assertEqual(r.status, 200)
            sw = r.json()["Swarm"]
            self.assertEqual(sw["LocalNodeState"], "inactive")
            self.assertEqual(sw["NodeID"], "")
            self.assertFalse(sw["ControlAvailable"])
        with self.subTest(call="ping inactive"):
            r = self.d.api("GET", "/_ping", version=None)
            if not harness.EXTERNAL:
                self.assertEqual(r.headers.get("Swarm"), "inactive")

    def test_2_init_twice_then_leave(self):
        init = {"ListenAddr": "127.0.1.2:2377", "AdvertiseAddr": "127.0.1.2", "Spec": {}}
        r = self.d.api("POST", "/swarm/init", init)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("Content-Type"), JSON_CT)
        node_id = r.json()
        self.assertRegex(node_id, ID_RE)
        self.assertEqual(r.body, json.dumps(node_id).encode() + b"\n")
        self.assertError(self.d.api("POST", "/swarm/init", init), 503, harness.ALREADY_IN_SWARM)
        self.assertError(self.d.api("POST", "/swarm/init", {"ListenAddr": "127.0.1.2:2377"}),
                         503, harness.ALREADY_IN_SWARM)
        r = self.d.api("GET", "/swarm")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["Spec"]["Name"], "default")
        self.assertIn("SWMTKN-1-", r.json()["JoinTokens"]["Worker"])
        r = self.d.api("GET", f"/nodes/{node_id}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["ManagerStatus"]["Addr"], "127.0.1.2:2377")
        if not harness.EXTERNAL:
            self.assertEqual(self.d.api("GET", "/_ping", version=None).headers.get("Swarm"),
                             "active/manager")
        self.assertEqual(self.d.api("POST", "/secrets/create",
                                    {"Name": "gone", "Data": "eA=="}).status, 201)
        r = self.d.api("POST", "/swarm/leave", query={"force": "true"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assertError(self.d.api("GET", "/secrets"), 503, harness.NOT_MANAGER)
        self.assertError(self.d.api("POST", "/swarm/leave"), 503, harness.NOT_IN_SWARM)
        # A new swarm starts empty.
        r = self.d.api("POST", "/swarm/init", init)
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.json(), node_id)
        r = self.d.api("GET", "/secrets")
        self.assertEqual((r.status, r.json()), (200, []))


class WireBasics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon("127.0.1.3")
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()

    def test_ping_headers(self):
        for method in ("GET", "HEAD"):
            for version in (None, "v1.41", "v1.24"):
                with self.subTest(method=method, version=version):
                    r = self.d.api(method, "/_ping", version=version)
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.body, b"OK" if method == "GET" else b"")
                    self.assertEqual(r.headers.get("Api-Version"), "1.41")
                    self.assertEqual(r.headers.get("Ostype"), "linux")
                    self.assertEqual(r.headers.get("Docker-Experimental"), "false")
                    if not harness.EXTERNAL:
                        self.assertEqual(r.headers.get("Swarm"), "active/manager")

    def test_version_too_new(self):
        for path in ("/_ping", "/secrets", "/version"):
            with self.subTest(path=path):
                r = self.d.api("GET", path, version="v1.99")
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.headers.get("Content-Type"), JSON_CT)
                self.assertEqual(r.json(), {"message": "client version 1.99 is too new. "
                                            "Maximum supported API version is 1.41"})

    def test_version_endpoint(self):
        r = self.d.api("GET", "/version")
        self.assertEqual(r.status, 200)
        v = r.json()
        self.assertEqual(v["ApiVersion"], "1.41")
        self.assertEqual(v["MinAPIVersion"], "1.12")
        self.assertEqual(v["Os"], "linux")

    def test_unknown_route(self):
        for method, path in (("GET", "/nosuch/route"), ("POST", "/secrets/x/y/z"),
                             ("GET", "/v1.41x/secrets")):
            with self.subTest(path=path):
                r = self.d.api(method, path, version=None)
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.headers.get("Content-Type"), JSON_CT)
                self.assertEqual(r.body, b'{"message":"page not found"}\n')

    def raw_send(self, head, body_chunks):
        """Sends a request on a fresh connection; returns the status line's code (or None)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(self.d.sock)
        try:
            s.sendall(head)
            for c in body_chunks:
                s.sendall(c)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed: read what it sent
        data = b""
        try:
            while b"\r\n" not in data:
                c = s.recv(65536)
                if not c:
                    break
                data += c
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else None

    def test_ten_mb_body_refused(self):
        size = 10 * 1024 * 1024
        payload = b'{"Name":"huge","Data":"' + b"A" * (size - 26) + b'"}'
        head = (b"POST /v1.41/secrets/create HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: "
                + str(len(payload)).encode() + b"\r\n\r\n")
        code = self.raw_send(head, [payload[i:i + 65536] for i in range(0, len(payload), 65536)])
        self.assertIn(code, (400, 413))
        chunk = b"A" * 65536
        chunks = [b'10000\r\n' + chunk + b'\r\n'] * 160 + [b"0\r\n\r\n"]
        head = (b"POST /v1.41/secrets/create HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        code = self.raw_send(head, [b'10\r\n{"Name":"huge2",\r\n'] + chunks)
        self.assertIn(code, (400, 413))
        # Still serving, and nothing was created.
        self.assertEqual(self.d.api("GET", "/_ping", version=None).body, b"OK")
        r = self.d.api("GET", "/secrets", query={"filters": '{"name":["huge"]}'})
        self.assertEqual((r.status, r.json()), (200, []))
        self.assertEqual(self.d.api("POST", "/secrets/create",
                                    {"Name": "after-huge", "Data": "eA=="}).status, 201)

    def test_list_order(self):
        """Oracle-verified: an unfiltered list is sorted by ID; a single `name` (prefix)
        filter goes through swarmkit's name index, so its result is sorted by name."""
        ids = [self.d.create_secret(f"sort-{os.urandom(4).hex()}", os.urandom(8))
               for _ in range(25)]
        r = self.d.api("GET", "/secrets")
        self.assertEqual(r.status, 200)
        got = [s["ID"] for s in r.json()]
        self.assertEqual(got, sorted(got))
        self.assertLessEqual(set(ids), set(got))
        r = self.d.api("GET", "/secrets", query={"filters": '{"name":["sort-"]}'})
        self.assertEqual(r.status, 200)
        names = [s["Spec"]["Name"] for s in r.json()]
        self.assertEqual(len(names), 25)
        self.assertEqual(names, sorted(names))

    def test_version_index_is_cluster_wide(self):
        a = self.d.create_secret("idx-a", b"a")
        b = self.d.create_secret("idx-b", b"b")
        ia = self.d.api("GET", f"/secrets/{a}").json()["Version"]["Index"]
        ib = self.d.api("GET", f"/secrets/{b}").json()["Version"]["Index"]
        self.assertGreater(ib, ia)
        r = self.d.api("POST", f"/secrets/{a}/update", {"Name": "idx-a", "Labels": {"x": "1"}},
                       query={"version": ia})
        self.assertEqual(r.status, 200, r)
        ia2 = self.d.api("GET", f"/secrets/{a}").json()["Version"]["Index"]
        self.assertGreater(ia2, ib)
        # The old version is now stale.
        r = self.d.api("POST", f"/secrets/{a}/update", {"Name": "idx-a"}, query={"version": ia})
        self.assertEqual(r.status, 500)
        self.assertEqual(r.message(), "rpc error: code = Unknown desc = update out of sequence")

    def test_ambiguous_prefix_and_filters(self):
        self.d.create_secret("amb-one", b"1")
        self.d.create_secret("amb-two", b"2")
        r = self.d.api("GET", "/secrets")
        ids = [s["ID"] for s in r.json()]
        # A one-character prefix shared by at least two IDs is ambiguous.
        firsts = {}
        for i in ids:
            firsts.setdefault(i[0], []).append(i)
        shared = [(k, v) for k, v in firsts.items() if len(v) >= 2]
        if shared:
            k, v = shared[0]
            r = self.d.api("GET", f"/secrets/{k}")
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.message(), f"secret {k} is ambiguous ({len(v)} matches found)")
        r = self.d.api("GET", "/secrets", query={"filters": '{"name":{"amb-one":true}}'})
        self.assertEqual([s["Spec"]["Name"] for s in r.json()], ["amb-one"])

    def test_names_are_case_insensitive(self):
        """Oracle-verified: name/names filters and lookup by name ignore case; ID prefixes do not."""
        sid = self.d.create_secret("ci-one", b"1")
        self.d.create_secret("ci-two", b"2")
        q = lambda f: [s["Spec"]["Name"] for s in  # noqa: E731
                       self.d.api("GET", "/secrets", query={"filters": f}).json()]
        self.assertEqual(q('{"names":["CI-ONE","ci-tw"]}'), ["ci-one"])
        self.assertEqual(q('{"name":["CI-"]}'), ["ci-one", "ci-two"])
        self.assertEqual(q('{"id":["%s"]}' % sid[:6].upper()), [] if sid[:6] != sid[:6].upper()
                         else ["ci-one"])
        r = self.d.api("GET", "/secrets/CI-ONE")
        self.assertEqual((r.status, r.json()["ID"]), (200, sid))


if __name__ == "__main__":
    unittest.main()
