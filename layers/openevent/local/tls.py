"""The local runtime's HTTPS origin: the same gateway on a second port, over TLS.

`make run` serves its one origin twice: `http://127.0.0.1:PORT` and `https://127.0.0.1:
HTTPS_PORT` (`OPENEVENT_HTTPS_PORT`, default PORT+443; `0` or `off` turns it off). Both ports
are served by the same `Gateway` (API, web app, lab console and its stream WebSocket, scanner);
the https one tells the gateway so (`X-Forwarded-Proto: https`, as CloudFront does), so the web
app's page names its own https origin as its API host. With TLS on, the runtime's default
frontend URL (`OPENEVENT_FRONTEND_URL`) is the https origin: mailed links and payment return
URLs then point at an https page, whose settings form saves as it loads (the web app's URL
fields accept only https URLs; docs/frontend-compat.md row 25). Plain HTTP sent to the https
port is redirected (308) to the same URL over https.

The certificate is made with `cryptography` on the first start, into `<data dir>/tls/`:
a local certificate authority (`ca.pem`, 10 years; name-constrained to `localhost` and
`127.0.0.1`, so its key can vouch for nothing else even if someone trusts it and its key
leaks) and a leaf for `localhost` / `127.0.0.1` signed by it (`localhost.pem`, with the CA
appended; 397 days). A CA rather than one self-signed certificate: a person (or curl,
`--cacert`) can trust `ca.pem` once, and the leaf is renewed without trusting anything again.
Keys are written 0600 (the folder is 0700). Later starts reuse both; a leaf that is unreadable,
expired (or within a day of it), for other names, or not the CA's is made again, and so is the
CA when it is unreadable or expiring (then with a new leaf).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openevent.local.process import StartupError, bind_error

HTTPS_PORT_ENV = "OPENEVENT_HTTPS_PORT"
OFF = {"0", "off", "no", "false"}
DEFAULT_OFFSET = 443  # PORT 8000 -> 8443
HOSTS = ("localhost",)
ADDRESSES = ("127.0.0.1",)
CA_DAYS = 3650
LEAF_DAYS = 397  # what browsers accept of a publicly trusted leaf; the same here
RENEW_BEFORE = dt.timedelta(days=1)


def https_port(port: int) -> int | None:
    """The https port in effect for http port `port`, or None when TLS is off."""
    raw = os.environ.get(HTTPS_PORT_ENV, "").strip()
    if raw.lower() in OFF:
        return None
    if not raw:
        chosen = port + DEFAULT_OFFSET
        if chosen > 65535:
            raise StartupError(f"openevent: the default https port PORT+{DEFAULT_OFFSET} "
                               f"({chosen}) is not a port; start with {HTTPS_PORT_ENV}="
                               "<port> or off.")
        return chosen
    if not raw.isdigit() or not 0 < int(raw) <= 65535:
        raise StartupError(f"openevent: {HTTPS_PORT_ENV}={raw!r} is not a port number "
                           "(or 0/off to serve http only).")
    if int(raw) == port:
        raise StartupError(f"openevent: {HTTPS_PORT_ENV} must differ from PORT ({port}).")
    return int(raw)


def preflight(port: int) -> int | None:
    """The https port in effect, checked free (None when TLS is off)."""
    chosen = https_port(port)
    if chosen is not None:
        check_port(chosen)
    return chosen


def origin(port: int, tls_port: int | None) -> str:
    """The origin a person opens (and the default frontend URL): https when it is on."""
    return f"https://127.0.0.1:{tls_port}" if tls_port else f"http://127.0.0.1:{port}"


def banner_lines(runtime: Any) -> list[str]:
    if runtime.https_port is None:
        return [f"  HTTPS        off ({HTTPS_PORT_ENV}=off): the admin settings form cannot "
                "save on an http origin"]
    ca = paths(runtime.data_dir).ca
    return [f"  HTTPS        https://127.0.0.1:{runtime.https_port}/ and "
            f"http://127.0.0.1:{runtime.port}/ serve the same; certificate from the local CA",
            f"               {ca} (trust it once, or accept the browser's warning)"]


def drain_all(servers: list[Any]) -> int:
    """Drain the http and https servers at once (`GatewayServer.drain`); returns how many
    requests were still running at the timeout."""
    running = [s for s in servers if s is not None]
    left = [0] * len(running)

    def drain(i: int) -> None:
        left[i] = running[i].drain()
        running[i].server_close()

    threads = [threading.Thread(target=drain, args=(i,), name="drain")
               for i in range(len(running))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(left)


def check_port(port: int) -> None:
    """The https port must be free: say which one and how to choose another (or none)."""
    error = bind_error(port)
    if error is not None:
        raise StartupError(f"openevent: the https port {port} on 127.0.0.1 is in use "
                           f"({error}). Stop what uses it, or start with "
                           f"{HTTPS_PORT_ENV}=<another port> (or off).")


@dataclass(frozen=True)
class Certificate:
    """Where the runtime's TLS files are: `cert` holds the leaf then the CA (the chain the
    server sends), `key` the leaf's key, `ca` the CA's certificate (what a client trusts)."""

    ca: Path
    ca_key: Path
    cert: Path
    key: Path


def paths(data_dir: Path) -> Certificate:
    folder = data_dir / "tls"
    return Certificate(folder / "ca.pem", folder / "ca-key.pem", folder / "localhost.pem",
                       folder / "localhost-key.pem")


def ensure_certificate(data_dir: Path, now: dt.datetime | None = None) -> Certificate:
    """The runtime's certificate: reused when valid, else (re)made as the docstring says."""
    now = now or dt.datetime.now(dt.UTC)
    files = paths(data_dir)
    files.ca.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    files.ca.parent.chmod(0o700)
    ca = _load_ca(files, now)
    if ca is None:
        ca = _make_ca(files, now)
        _make_leaf(files, ca, now)
    elif not _leaf_is_valid(files, ca[0], now):
        _make_leaf(files, ca, now)
    return files


def server_context(files: Certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)
    context.set_alpn_protocols(["http/1.1"])
    return context


def start(runtime: Any) -> Any:
    """Serve the runtime's gateway on its https port (`runtime.https_port`) in a thread of
    its own; returns the server (None when TLS is off)."""
    if runtime.https_port is None:
        return None
    context = server_context(ensure_certificate(runtime.data_dir))
    try:
        server = runtime.gateway.serve("127.0.0.1", runtime.https_port, tls=context)
    except OSError as exc:  # taken since the preflight check
        raise StartupError(f"openevent: the https port {runtime.https_port} on 127.0.0.1 is "
                           f"in use ({exc.strerror}). Start with {HTTPS_PORT_ENV}=<another "
                           "port> (or off).") from None
    thread = threading.Thread(target=server.serve_forever, name="gateway-https", daemon=True)
    thread.start()
    runtime.threads.append(thread)
    return server


def answer_plain_http(conn: socket.socket) -> bool:
    """A plain HTTP request on the https port (`http://127.0.0.1:8443/...` typed by a person):
    answered with a redirect to the same URL over https, and True; False for a TLS client
    (its first byte is a handshake record) or a closed connection. Reads the TCP socket
    under the TLS one (nothing of TLS has been read yet), within the connection's deadline."""
    first = socket.socket.recv(conn, 1, socket.MSG_PEEK)
    if not first or first == b"\x16":
        return False
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        chunk = socket.socket.recv(conn, 8192 - len(head))
        if not chunk:
            break
        head += chunk
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    host = next((line.split(b":", 1)[1].strip() for line in lines[1:]
                 if line.lower().startswith(b"host:")), b"")
    if len(parts) == 3 and parts[1].startswith(b"/") and _HOST.fullmatch(host):
        location = b"https://" + host + parts[1]
        answer = (b"HTTP/1.1 308 Permanent Redirect\r\nLocation: " + location +
                  b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    else:
        body = b"This port speaks HTTPS: use https://.\n"
        answer = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    socket.socket.sendall(conn, answer)
    return True


_HOST = re.compile(rb"[A-Za-z0-9.\-]+(:\d{1,5})?")


# -- making and checking the files ---------------------------------------------------------

def _write(path: Path, data: bytes, private: bool) -> None:
    """Write `path` whole (a temporary file renamed over it); a key is 0600 from its first
    byte, never readable by others even for a moment."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_ca(files: Certificate, now: dt.datetime) -> tuple[Any, Any] | None:
    """(certificate, key) of a usable CA on disk, else None."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(files.ca.read_bytes())
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if _spki(cert.public_key()) != _spki(key.public_key()) \
            or cert.not_valid_after_utc - RENEW_BEFORE < now:
        return None
    return cert, key


def _leaf_is_valid(files: Certificate, ca_cert: Any, now: dt.datetime) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    try:
        leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        leaf.verify_directly_issued_by(ca_cert)
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False  # unreadable, or not signed by this CA: made anew
    wanted = set(HOSTS) | {ipaddress.ip_address(a) for a in ADDRESSES}
    found = set(names.get_values_for_type(x509.DNSName)) | set(
        names.get_values_for_type(x509.IPAddress))
    return (_spki(leaf.public_key()) == _spki(key.public_key())
            and wanted <= found and leaf.not_valid_before_utc <= now
            and now < leaf.not_valid_after_utc - RENEW_BEFORE)


def _make_ca(files: Certificate, now: dt.datetime) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Open Event local"),
                      x509.NameAttribute(NameOID.COMMON_NAME,
                                         f"Open Event local CA ({socket.gethostname()})")])
    permitted: list[x509.GeneralName] = [x509.DNSName(h) for h in HOSTS]
    permitted += [x509.IPAddress(ipaddress.ip_network(f"{a}/32")) for a in ADDRESSES]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=permitted,
                                                excluded_subtrees=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write(files.ca_key, _key_pem(key), private=True)
    _write(files.ca, _cert_pem(cert), private=False)
    return cert, key


def _make_leaf(files: Certificate, ca: tuple[Any, Any], now: dt.datetime) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in HOSTS]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(min(now + dt.timedelta(days=LEAF_DAYS),
                                 ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(files.key, _key_pem(key), private=True)
    _write(files.cert, _cert_pem(cert) + _cert_pem(ca_cert), private=False)


def _spki(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public_key.public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo))


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def _cert_pem(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(cert.public_bytes(serialization.Encoding.PEM))
