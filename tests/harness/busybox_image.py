"""A tiny image for tests and benchmarks: Debian's busybox-static as a rootfs tar.

build_rootfs_tar(path) writes a tar (bin/busybox + applet symlinks, /etc/passwd and /etc/group
with root and a user 2000) that `docker import` turns into an image; nothing is pulled from a
registry. class_rootfs_tar(test_cls, prefix) builds one in a temp dir that the test class removes
when it is done (the fixture of the service test modules). save_archive(path, rootfs_tar, tag) wraps it as a `docker save` archive (docker 20.10
layout: manifest.json, <id>.json, <layer>/layer.tar) for `docker load`.
Python 3 stdlib only.
"""

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time

BUSYBOX = "/bin/busybox"
APPLETS = ("sh cat ls sleep stat mount grep id echo date ps head tail wc env true false touch "
           "sha256sum cut printf test [ trap kill seq ln mkdir rm tr sed awk hostname whoami "
           "readlink").split()
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:2000:3000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:3000:\n"


def _add_dir(tar, name, mode=0o755):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info)


def _add_file(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def build_rootfs_tar(path):
    if not os.access(BUSYBOX, os.X_OK):
        raise RuntimeError(f"{BUSYBOX} missing: apt-get install busybox-static")
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "run", "root", "home",
                  "home/app"):
            _add_dir(tar, d, 0o1777 if d == "tmp" else 0o755)
        _add_file(tar, "bin/busybox", busybox, 0o755)
        for app in sorted(set(APPLETS)):
            info = tarfile.TarInfo("bin/" + app)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        _add_file(tar, "etc/passwd", PASSWD.encode())
        _add_file(tar, "etc/group", GROUP.encode())
    return path


def class_rootfs_tar(test_cls, prefix):
    """build_rootfs_tar in a new /tmp/<prefix>XXXX folder, removed by test_cls's class cleanup.

    Returns (folder, tar path)."""
    tmp = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    test_cls.addClassCleanup(shutil.rmtree, tmp, ignore_errors=True)
    return tmp, build_rootfs_tar(os.path.join(tmp, "rootfs.tar"))


def save_archive(path, rootfs_tar, tag):
    """A `docker save` archive (20.10 layout) with one layer = rootfs_tar, tagged `tag`."""
    with open(rootfs_tar, "rb") as f:
        layer = f.read()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64", "os": "linux", "created": "2026-11-28T00:00:00Z",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-11-28T00:00:00Z", "comment": "capsule test"}],
    }
    config_bytes = json.dumps(config).encode()
    config_id = hashlib.sha256(config_bytes).hexdigest()
    layer_dir = hashlib.sha256(diff_id.encode()).hexdigest()
    manifest = [{"Config": config_id + ".json", "RepoTags": [tag],
                 "Layers": [layer_dir + "/layer.tar"]}]
    with tarfile.open(path, "w") as tar:
        _add_dir(tar, layer_dir)
        _add_file(tar, layer_dir + "/layer.tar", layer)
        _add_file(tar, layer_dir + "/VERSION", b"1.0")
        _add_file(tar, config_id + ".json", config_bytes)
        _add_file(tar, "manifest.json", json.dumps(manifest).encode())
    return path
