"""One HTTP GET on an etcd member's peer port over TLS, as another member (or an attacker)
would dial it: the peer API (/members, /version, raft's own paths) is what a peer certificate
unlocks, so the tests of who may connect there (test_peer_port, test_ca_rotation_ha) and of
what the members list (test_ha_join) share this."""

import socket
import ssl

from .daemon import ETCD_PEER_PORT


def etcd_peer_get(target_ip, source_ip, cert=None, key=None, ca=None, path="/members",
                  timeout=10):
    """GET `path` on target_ip's etcd peer port, dialled from source_ip, presenting cert/key
    (None: no client certificate). With `ca` the member's certificate is verified against it;
    without, it is not (for tests of the member's check of OUR certificate).

    → ("ok", status line, body) or ("refused", reason). A reason starting with "connect:" means
    the port did not accept the connection at all, which is not a refusal by TLS: tests that
    expect a TLS refusal check for it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # the member's certificate names its IP; we dial by IP anyway
    if ca:
        ctx.load_verify_locations(ca)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    try:
        raw = socket.create_connection((target_ip, ETCD_PEER_PORT), timeout=timeout,
                                       source_address=(source_ip, 0))
    except OSError as e:
        return ("refused", f"connect: {e!r}")
    try:
        with ctx.wrap_socket(raw, server_hostname=target_ip) as tls:
            tls.settimeout(timeout)
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {target_ip}\r\n"
                        "Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (ssl.SSLError, OSError) as e:  # OSError covers ConnectionError and timeouts
        return ("refused", repr(e))
    finally:
        raw.close()
    if not data:
        return ("refused", "connection closed without a response")
    head, _, body = data.partition(b"\r\n\r\n")
    return ("ok", head.split(b"\r\n", 1)[0].decode(), body)
