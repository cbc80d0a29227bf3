"""File modes of the roots, socket and keys; etcd reachable by nobody else, no stray TCP ports.

Run: PYTHONPATH=.. python3 -m unittest -v test_modes   (from tests/integration)
Addresses: 127.0.6.x (see tests/harness).
"""

import glob
import os
import re
import socket
import stat
import subprocess
import tempfile
import unittest

import harness

IP = "127.0.6.1"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
CONNECT = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
           "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print(e); sys.exit(3)\n"
           "print('connected')")
SYSTEM_PYTHON = "/usr/bin/python3"  # readable by nobody (pyenv lives under /root)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def connect_as_nobody(path):
    return subprocess.run(NOBODY + [SYSTEM_PYTHON, "-c", CONNECT, path], capture_output=True,
                          timeout=30)


def tcp_listeners(pid):
    """Local addresses of TCP sockets in LISTEN owned by pid, from `ss -ltnpH`."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, check=True).stdout.decode()
    addrs = []
    for line in out.splitlines():
        if re.search(rf"pid={pid}\b", line):
            # gRPC binds an IPv4 listen address on a dual-stack socket: [::ffff:IP]:PORT.
            addrs.append(re.sub(r"^\[::ffff:([0-9.]+)\]", r"\1", line.split()[3]))
    return sorted(set(addrs))


class Modes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP)
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        cls.d.create_secret("modes-one", b"x")

    def test_roots(self):
        self.assertEqual(oct(mode(self.d.data_root)), oct(0o700))
        self.assertEqual(oct(mode(self.d.exec_root)), oct(0o711))
        for e in os.scandir(self.d.exec_root):
            if e.is_dir(follow_symlinks=False):
                self.assertEqual(oct(mode(e.path)), oct(0o700), e.path)

    def test_api_socket(self):
        st = os.lstat(self.d.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(0o660))

    def test_kek_file(self):
        swarm = os.path.join(self.d.data_root, "swarm")
        self.assertEqual(mode(swarm) & 0o007, 0, oct(mode(swarm)))
        keks = glob.glob(os.path.join(swarm, "**", "*kek*"), recursive=True)
        self.assertTrue(keks, f"no *kek* file under {swarm}: {os.listdir(swarm)}")
        for k in keks:
            self.assertTrue(stat.S_ISREG(os.lstat(k).st_mode), k)
            self.assertEqual(oct(mode(k)), oct(0o600), k)
        self.assertFalse(any(k.startswith(os.path.join(self.d.data_root, "etcd")) for k in keks))

    def test_state_and_certificates(self):
        swarm = os.path.join(self.d.data_root, "swarm")
        state = os.path.join(swarm, "state.json")
        self.assertTrue(os.path.isfile(state))
        self.assertEqual(mode(state) & 0o077, 0, oct(mode(state)))
        for p in glob.glob(os.path.join(swarm, "certificates", "*key*")):
            self.assertEqual(oct(mode(p)), oct(0o600), p)

    def test_etcd_dir(self):
        etcd_dir = os.path.join(self.d.data_root, "etcd")
        self.assertEqual(oct(mode(etcd_dir)), oct(0o700))

    def etcd_sockets(self):
        etcd_dir = os.path.join(self.d.data_root, "etcd")
        return [e.path for e in os.scandir(etcd_dir) if stat.S_ISSOCK(os.lstat(e.path).st_mode)]

    def test_etcd_client_socket_not_reachable_by_nobody(self):
        socks = self.etcd_sockets()
        self.assertTrue(socks, "no unix socket in <data>/etcd")
        for s in socks:
            c = socket.socket(socket.AF_UNIX)
            c.connect(s)  # root can (the daemon uses it)
            c.close()
            r = connect_as_nobody(s)
            self.assertEqual(r.returncode, 3, f"nobody could connect to {s}: {r.stdout!r}")
            self.assertIn(b"Permission denied", r.stdout)

    def test_control_nobody_can_reach_an_open_socket(self):
        """Control for the test above: the setpriv probe does connect when permitted."""
        d = tempfile.mkdtemp(prefix="cpm-", dir="/tmp")
        os.chmod(d, 0o755)
        p = os.path.join(d, "open.sock")
        srv = socket.socket(socket.AF_UNIX)
        try:
            srv.bind(p)
            os.chmod(p, 0o777)
            srv.listen(1)
            r = connect_as_nobody(p)
            self.assertEqual((r.returncode, r.stdout), (0, b"connected\n"), r.stderr)
        finally:
            srv.close()
            os.unlink(p)
            os.rmdir(d)

    def test_etcd_tcp_listeners(self):
        pid = self.d.etcd_pid()
        self.assertTrue(pid and harness.pid_alive(pid))
        self.assertEqual(tcp_listeners(pid), [f"{IP}:{harness.ETCD_PEER_PORT}"])

    def test_capsuled_tcp_listeners(self):
        # A manager serves the swarm port (mutual-TLS gRPC) on its listen IP, and nothing else
        # on TCP.
        addrs = tcp_listeners(self.d.pid)
        self.assertEqual(set(addrs), {f"{IP}:{harness.SWARM_PORT}"})
        for a in addrs:
            self.assertTrue(a.startswith(IP + ":"), f"capsuled listens on {a}")


if __name__ == "__main__":
    unittest.main()
