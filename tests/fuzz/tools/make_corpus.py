#!/usr/bin/env python3
"""Regenerates the committed seed corpus in tests/fuzz/corpus/ (idempotent; small files).

Sources: the Docker oracle's recorded request bodies (edge-cases.tsv) and service spec, committed
in tests/data/oracle/, plus hand-written valid and hostile inputs and small tars
built with Python's tarfile (path traversal, symlinks out of the rootfs, hard links, PAX,
GNU long names, whiteouts, garbage headers)."""
import hashlib
import io
import json
import os
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus")
ORACLE = os.path.join(HERE, "..", "..", "data", "oracle")


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def secret_specs():
    seeds = [
        '{"Name":"db_password","Data":"czNjcjN0"}',
        '{"Name":"tls","Labels":{"env":"prod","team":"a"},"Data":"eA=="}',
        '{"Name":"t","Data":"eA==","Templating":{"Name":"golang","Options":{"a":"b"}}}',
        '{"Name":"d","Data":"eA==","Driver":{"Name":"vault"}}',
        '{"name":"lower","data":"eA==","LABELS":{"k":"v"}}',
        '{"Name":"bad64","Data":"e A=="}', '{"Name":"x","Data":"eA=\\n="}',
        '{"Name":1}', '{"Labels":[]}', '[]', '', ' ', '{', '{"Name":"a"} trailing',
        '{"Name":"\\ud800\\udc00\\ud800","Data":"eA=="}', '{"Name":"\xff\xfe","Data":"eA=="}',
        '{"Name":"a","Labels":{"' + 'k' * 300 + '":"v"},"Data":"eA=="}',
        '{"Name":"' + 'a' * 65 + '","Data":"eA=="}', '{"Name":"a","Data":""}',
        '{"Name":"a","Data":null,"Labels":null,"Driver":null}',
        '[' * 200, '{"a":' * 100,
    ]
    if os.path.exists(os.path.join(ORACLE, "edge-cases.tsv")):
        for line in open(os.path.join(ORACLE, "edge-cases.tsv"), encoding="utf-8", errors="replace"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and parts[1].startswith("POST /secrets/"):
                body = parts[1].split(" ", 2)
                if len(body) == 3:
                    seeds.append(body[2])
    for s in seeds:
        put("secret_spec", s)


def service_bodies():
    base = {"Name": "app", "Labels": {"a": "b"},
            "TaskTemplate": {"ContainerSpec": {
                "Image": "capsule/busybox:1", "Args": ["sh", "-c", "sleep 1d"], "Env": ["A=1"],
                "User": "1000:1000", "Dir": "/tmp", "StopGracePeriod": 10000000000,
                "Secrets": [{"File": {"Name": "password", "UID": "2000", "GID": "3000", "Mode": 256},
                             "SecretID": "ii7hxx1yoe1izupm6vw0qkdxd", "SecretName": "pw"},
                            {"File": {"Name": "/etc/app/key", "UID": "0", "GID": "0", "Mode": 292},
                             "SecretID": "jag5shk58vngclfdckj5ibi3l", "SecretName": "key"}]},
                "RestartPolicy": {"Condition": "on-failure", "Delay": 1000, "MaxAttempts": 3},
                "Placement": {"Constraints": ["node.role==manager", "node.labels.zone != a"]},
                "Resources": {"Limits": {}, "Reservations": {}}, "ForceUpdate": 1,
                "Runtime": "container"},
            "Mode": {"Replicated": {"Replicas": 3}},
            "UpdateConfig": {"Parallelism": 2, "Delay": 1, "FailureAction": "rollback",
                             "Monitor": 5, "MaxFailureRatio": 0.5, "Order": "start-first"},
            "RollbackConfig": {"Parallelism": 1, "Order": "stop-first"},
            "EndpointSpec": {"Mode": "vip"}}
    put("service_spec", json.dumps(base))
    g = json.loads(json.dumps(base))
    g["Mode"] = {"Global": {}}
    put("service_spec", json.dumps(g))
    hostile_targets = ["../escape", "a/../../b", "/", "", ".", "a//b", "/run/secrets/password",
                       "a\u0000b", "password"]
    for t in hostile_targets:
        h = json.loads(json.dumps(base))
        h["TaskTemplate"]["ContainerSpec"]["Secrets"][1]["File"]["Name"] = t
        put("service_spec", json.dumps(h))
    for bad in ['{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":1}}}',
                '{"Mode":{"Replicated":{"Replicas":-1}}}', '{"Mode":{"Global":{},"Replicated":{}}}',
                '{"TaskTemplate":{"ContainerSpec":{"Secrets":[{"File":null}]}}}',
                '{"TaskTemplate":{"RestartPolicy":{"Condition":"sometimes"}}}',
                '{"UpdateConfig":{"MaxFailureRatio":1e400}}', '{"Name":"a","Labels":{"k":1}}',
                '{"TaskTemplate":{"ContainerSpec":{"Image":"' + "a/" * 200 + 'b"}}}']:
        put("service_spec", bad)
    p = os.path.join(ORACLE, "service-inspect.json")
    if os.path.exists(p):
        put("service_spec", json.dumps(json.load(open(p))["Spec"]), "oracle-service-spec")


def secret_refs():
    for s in ["pw|password|2000|3000", "pw|password\nkey|/etc/app/key|0|0",
              "a|x\nb|x", "a|/run/secrets/x\nb|x", "a|../x", "a|a/./b", "a|", "a", "|x",
              "a|a\x00b", "a|/", "a|a//b", "a|a/b/c/d/e/f|1|1"]:
        put("secret_refs", s)


def templates():
    for s in ["", "plain text", "{{ .Service.Name }}-{{ .Task.Slot }}", '{{ env "X" }}',
              '{{ secret "pw" }}', '{{ secret "nope" }}', '{{ config "c" }}',
              "{{ .Service.Labels.a }}{{ .Service.Labels.zz }}", "{{ .Node.ID }} {{ .Nope }}",
              "{{range $k, $v := .Service.Labels}}{{$k}}={{$v}};{{else}}none{{end}}",
              "{{if eq .Task.Slot \"1\"}}one{{else if .Node.ID}}node{{else}}x{{end}}",
              "{{with .Service}}{{.Name | printf \"%q %5s %d\" 3}}{{end}}",
              "{{- /* c */ -}} {{ $x := join \",\" \"a\" \"b\" }}{{ $x = print $x 1 }}{{ $x }}",
              "{{ and (not .Task.ID) (or 0 \"\") }} {{ index .Service.Labels \"b\" }} {{ len .Task.Name }}",
              "{{ lt 1 2 }} {{ ge 1.5 2.5 }} {{ ne \"a\" \"b\" }} {{ println 'x' 0x1F }}",
              "{{ $a := \"0123456789\" }}" + "{{ $a = printf \"%s%s\" $a $a }}" * 30,
              "{{range .Service.Labels}}" * 12 + "x" + "{{end}}" * 12,
              "{{" + "(" * 150 + "1" + ")" * 150 + "}}",
              "{{ \"unterminated }}", "{{ .Service.Name", "{{/* open", "{{ @ }}", "{{end}}",
              "{{ printf \"%99999999d\" 1 }}", "{{ `raw\nstring` }}", "{{ \"\\u00e9\\x41\" }}",
              '{{ secret "HIDDEN-9f3c1e-not-referenced" }}']:
        put("template", s)


def filters():
    for s in ['{"name":["a","b"]}', '{"label":{"env=prod":true,"x":false}}', '{"names":["a"],"id":["x"]}',
              '{"name":{"a":true},"label":["b"]}', 'notjson', '[]', '{"name":[1]}', '{"name":null}',
              'null', '{"label":["a=","=b","="]}', '{"a":{"b":"c"}}', '{"a":["\\u00ff"]}']:
        put("filters", s)


def http_targets():
    for m, t in [(0, "/v1.41/secrets?filters=%7B%22name%22%3A%5B%22a%22%5D%7D"),
                 (0, "/images/127.0.0.1:5000/app/web:1/json"), (2, "/images/a%2Fb"),
                 (1, "/v1.41/secrets/abc/update?version=3"), (3, "/_ping"),
                 (0, "/secrets/%zz"), (0, "http://host/info?x=1&y=%41+b;c&&=&#frag"),
                 (0, "/v1.41"), (0, "/v1./x"), (0, "/vX.1/info"), (0, "//secrets//"),
                 (0, "/images//json"), (0, "/distribution/a/b/c/json"), (1, "/services/create?x=%"),
                 (0, "/" + "a/" * 300)]:
        put("http_target", bytes([m]) + t.encode())


def go_json():
    for s in ['{"Name":"x","Labels":{"a":"b"},"Data":"eA==","On":true,"F":1.5,"List":["a"],'
              '"In":{"N":-5,"U":4294967295},"Ins":[{"N":1}]}',
              '[1,2.5e10,-0,true,false,null,"\\u00e9\\n"]', '18446744073709551615', '-9223372036854775809',
              '1e400', '"\\ud83d\\ude00"', '"\\ud83d"', '"\xc3\x28"', '{"a":1,"a":2}', '{"In":{"U":-1}}',
              '{"N":1.0}', '[' * 10001, '[' * 9999 + ']' * 9999, ' \t\r\n', '{"a" 1}', 'tru', '01',
              '{"Data":"====","In":[]}']:
        put("go_json", s)


def tar_bytes(build, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        build(tf)
    # Drop tarfile's 10 KiB record padding: end the archive right after its two zero blocks.
    data = buf.getvalue().rstrip(b"\0")
    data += b"\0" * (-len(data) % 512)
    return data + b"\0" * 1024


def add(tf, name, typ=tarfile.REGTYPE, data=b"", link="", mode=0o644, pax=None):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.linkname, ti.size = typ, mode, link, len(data) if typ == tarfile.REGTYPE else 0
    if pax:
        ti.pax_headers = pax
    tf.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)


def tars():
    cases = {
        "plain": lambda tf: (add(tf, "etc/", tarfile.DIRTYPE, mode=0o755),
                             add(tf, "etc/hostname", data=b"box\n"),
                             add(tf, "bin/sh", tarfile.SYMTYPE, link="busybox"),
                             add(tf, "bin/busybox", data=b"\x7fELF", mode=0o4755),
                             add(tf, "bin/ls", tarfile.LNKTYPE, link="bin/busybox")),
        "dotdot": lambda tf: (add(tf, "../escape", data=b"x"), add(tf, "a/../../escape2", data=b"x"),
                              add(tf, "/../../escape3", data=b"x")),
        "symlink-out": lambda tf: (add(tf, "up", tarfile.SYMTYPE, link="../.."),
                                   add(tf, "up/canary", data=b"overwritten"),
                                   add(tf, "up/escape", data=b"x"),
                                   add(tf, "abs", tarfile.SYMTYPE, link="/"),
                                   add(tf, "abs/escape", data=b"x"),
                                   add(tf, "rel", tarfile.SYMTYPE, link="../../canary"),
                                   add(tf, "rel", data=b"replaced")),
        "hardlink-out": lambda tf: (add(tf, "h", tarfile.LNKTYPE, link="../../canary"),
                                    add(tf, "up", tarfile.SYMTYPE, link="../.."),
                                    add(tf, "h2", tarfile.LNKTYPE, link="up/canary"),
                                    add(tf, "h3", tarfile.LNKTYPE, link="/")),
        "whiteouts": lambda tf: (add(tf, "d/", tarfile.DIRTYPE), add(tf, "d/f", data=b"1"),
                                 add(tf, "d/.wh..wh..opq"), add(tf, ".wh.d"), add(tf, ".wh.."),
                                 add(tf, "x/.wh...")),
        "longnames": lambda tf: (add(tf, "a" * 300 + "/b", data=b"x"),
                                 add(tf, "l", tarfile.SYMTYPE, link="../" * 100 + "etc")),
        "devices": lambda tf: (add(tf, "dev/null", tarfile.CHRTYPE), add(tf, "fifo", tarfile.FIFOTYPE),
                               add(tf, "dev/sda", tarfile.BLKTYPE)),
    }
    for name, build in cases.items():
        put("tar_import", b"\x49" + tar_bytes(build), name)
    put("tar_import", b"\x00" + tar_bytes(cases["symlink-out"], tarfile.PAX_FORMAT), "pax-symlink-out")
    put("tar_import", b"\x03" + tar_bytes(lambda tf: add(
        tf, "x", data=b"d", pax={"path": "../pax-escape", "linkpath": "/", "uid": "99999999999",
                                 "mtime": "-1e30", "size": "18446744073709551616"}),
        tarfile.PAX_FORMAT), "pax-hostile")
    # Issue 11 part 3: NUL bytes in names (refused), special files where image files are read.
    put("tar_import", b"\x05" + tar_bytes(lambda tf: (
        add(tf, "x", data=b"d", pax={"path": "etc/passwd\x00/../../x"}),
        add(tf, "l", tarfile.SYMTYPE, pax={"linkpath": "/\x00../../canary"})),
        tarfile.PAX_FORMAT), "pax-nul")
    put("tar_import", b"\x05" + tar_bytes(lambda tf: add(tf, "a" * 120 + "\x00/../../x", data=b"x")),
        "gnu-long-nul")
    put("tar_import", b"\x49" + tar_bytes(lambda tf: (
        add(tf, "etc/passwd", tarfile.FIFOTYPE), add(tf, "etc/group", tarfile.CHRTYPE),
        add(tf, "etc/shadow", tarfile.SYMTYPE, link="/etc/shadow"),
        add(tf, "manifest.json", tarfile.FIFOTYPE))), "hostile-specials")
    hdr = bytearray(tar_bytes(lambda tf: add(tf, "f", data=b"abc")))
    hdr[124:136] = b"\x80" + b"\xff" * 11  # base-256 size, huge
    put("tar_import", b"\x10" + bytes(hdr), "huge-size")
    hdr2 = bytearray(tar_bytes(lambda tf: add(tf, "f", data=b"abc")))
    hdr2[148:156] = b"garbage!"  # bad checksum
    put("tar_import", b"\x10" + bytes(hdr2), "bad-checksum")
    put("tar_import", b"\x01" + b"\xff" * 1024, "garbage")


def main():
    secret_specs(); service_bodies(); secret_refs(); templates(); filters(); http_targets(); go_json(); tars()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(CORPUS) for f in fs)
    print(f"corpus: {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
