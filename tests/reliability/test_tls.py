"""The local runtime's https origin, in process (`openevent.local.tls`): the certificate is
made once into the data dir (keys 0600), reused, remade when expired, damaged or not the CA's;
a real TLS client verifying against the runtime's CA reaches the same gateway as the http
port; a client that never shakes hands is cut off without holding up others; the web app's
page names the https origin only when the request really came over TLS."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import stat
import threading
import time
from urllib.parse import quote, unquote

import pytest
import requests
from cryptography import x509
from openevent.lab.localbroker import free_port
from openevent.local import tls
from openevent.local.gateway import Gateway
from openevent.local.process import StartupError
from openevent.local.static import StaticMount


def _fingerprint(path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).fingerprint(
        x509.load_pem_x509_certificate(path.read_bytes()).signature_hash_algorithm)


def test_the_certificate_is_made_once_with_private_keys_and_reused(tmp_path):
    files = tls.ensure_certificate(tmp_path)
    for key in (files.key, files.ca_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert b"PRIVATE KEY" in key.read_bytes()
    assert stat.S_IMODE(files.ca.parent.stat().st_mode) == 0o700
    assert files.cert.parent == tmp_path / "tls"
    before = {p: p.read_bytes() for p in (files.ca, files.ca_key, files.cert, files.key)}
    again = tls.ensure_certificate(tmp_path)
    assert {p: p.read_bytes() for p in (again.ca, again.ca_key, again.cert, again.key)} == before

    leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical  # the CA can vouch for localhost and 127.0.0.1 only
    assert {str(n.value) for n in constraints.value.permitted_subtrees} == {
        "localhost", "127.0.0.1/32"}
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days <= 398


def test_an_expired_leaf_is_made_again_by_the_same_ca(tmp_path):
    files = tls.ensure_certificate(tmp_path)
    ca_before, leaf_before = files.ca.read_bytes(), _fingerprint(files.cert)
    key_before = files.key.read_bytes()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    tls.ensure_certificate(tmp_path, now=later)
    assert files.ca.read_bytes() == ca_before
    assert _fingerprint(files.cert) != leaf_before and files.key.read_bytes() != key_before
    leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert leaf.not_valid_after_utc > later
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600


@pytest.mark.parametrize("damage", ["leaf-garbage", "leaf-missing", "key-other",
                                    "leaf-foreign"])
def test_a_damaged_or_foreign_leaf_is_made_again(tmp_path, damage):
    files = tls.ensure_certificate(tmp_path)
    ca_before, leaf_before = files.ca.read_bytes(), files.cert.read_bytes()
    if damage == "leaf-garbage":
        files.cert.write_bytes(b"not a certificate")
    elif damage == "leaf-missing":
        files.cert.unlink()
    elif damage == "key-other":  # a key that does not match the certificate
        other = tls.ensure_certificate(tmp_path / "other")
        files.key.write_bytes(other.key.read_bytes())
    else:  # a leaf issued by another CA
        other = tls.ensure_certificate(tmp_path / "other")
        files.cert.write_bytes(other.cert.read_bytes())
        files.key.write_bytes(other.key.read_bytes())
    tls.ensure_certificate(tmp_path)
    assert files.ca.read_bytes() == ca_before
    assert files.cert.read_bytes() != leaf_before
    x509.load_pem_x509_certificate(files.cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca_before))
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(files.cert, files.key)


def test_a_damaged_ca_is_made_again_with_a_new_leaf(tmp_path):
    files = tls.ensure_certificate(tmp_path)
    ca_before, leaf_before = files.ca.read_bytes(), files.cert.read_bytes()
    files.ca_key.write_bytes(b"")
    tls.ensure_certificate(tmp_path)
    assert files.ca.read_bytes() != ca_before and files.cert.read_bytes() != leaf_before
    x509.load_pem_x509_certificate(files.cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(files.ca.read_bytes()))
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600


@pytest.mark.parametrize(("value", "expected"), [
    (None, 8443), ("", 8443), ("off", None), ("OFF", None), ("0", None), ("9443", 9443)])
def test_the_https_port_setting(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(tls.HTTPS_PORT_ENV, raising=False)
    else:
        monkeypatch.setenv(tls.HTTPS_PORT_ENV, value)
    assert tls.https_port(8000) == expected
    assert tls.origin(8000, expected) == (f"https://127.0.0.1:{expected}" if expected
                                          else "http://127.0.0.1:8000")


@pytest.mark.parametrize("value", ["https", "-1", "70000", "8000"])
def test_a_bad_https_port_is_refused_naming_the_setting(monkeypatch, value):
    monkeypatch.setenv(tls.HTTPS_PORT_ENV, value)
    with pytest.raises(StartupError, match=tls.HTTPS_PORT_ENV):
        tls.https_port(8000)


def test_a_default_https_port_past_65535_and_a_taken_one_are_refused(monkeypatch):
    monkeypatch.delenv(tls.HTTPS_PORT_ENV, raising=False)
    with pytest.raises(StartupError, match=f"{tls.HTTPS_PORT_ENV}=<port> or off"):
        tls.https_port(65500)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        monkeypatch.setenv(tls.HTTPS_PORT_ENV, str(taken.getsockname()[1]))
        with pytest.raises(StartupError, match="https port .* is in use"):
            tls.preflight(8000)
    finally:
        taken.close()


def _app_page(tmp_path) -> StaticMount:
    spa = tmp_path / "spa"
    spa.mkdir()
    config = {"APP": {"apiHost": "http://localhost:8000", "apiNamespace": "v1"}}
    meta = quote(json.dumps(config), safe="")
    (spa / "index.html").write_text(
        f'<meta name="open-event-frontend/config/environment" content="{meta}" />')
    return StaticMount("/", spa, spa=True)


def _api_host(html: str) -> str:
    return str(json.loads(unquote(html.split('content="')[1].split('"')[0]))["APP"]["apiHost"])


@pytest.fixture
def servers(tmp_path, monkeypatch):
    """One gateway on an http and an https port, as the runtime serves it."""
    monkeypatch.setenv("OPENEVENT_HEADER_TIMEOUT", "1")
    files = tls.ensure_certificate(tmp_path / "data")
    gateway = Gateway(pool_size=1, groups=("auth",), mounts=[_app_page(tmp_path)])
    plain = gateway.serve("127.0.0.1", free_port())
    secure = gateway.serve("127.0.0.1", free_port(), tls=tls.server_context(files))
    for server in (plain, secure):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield plain, secure, files
    assert tls.drain_all([plain, secure]) == 0


def test_both_ports_serve_the_same_gateway_and_the_page_names_its_own_scheme(servers):
    plain, secure, files = servers
    http = f"http://127.0.0.1:{plain.server_port}"
    https = f"https://127.0.0.1:{secure.server_port}"
    ca = str(files.ca)
    for path in ("/v1/settings", "/v1/no-such-route"):  # (no embedded AWS here: a 503)
        a = requests.get(http + path, timeout=10)
        b = requests.get(https + path, timeout=10, verify=ca)  # the chain really verifies
        assert (a.status_code, a.json()) == (b.status_code, b.json())
    by_name = requests.get(f"https://localhost:{secure.server_port}/v1/no-such-route",
                           timeout=10, verify=ca)
    assert by_name.status_code == 404 and by_name.json()["errors"][0]["status"] in (404, "404")
    assert _api_host(requests.get(https + "/events", timeout=10, verify=ca).text) == https
    assert _api_host(requests.get(http + "/events", timeout=10).text) == http
    # the scheme is the server's word, never the client's
    spoofed = requests.get(http + "/events", headers={"X-Forwarded-Proto": "https"},
                           timeout=10)
    assert _api_host(spoofed.text) == http
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(https + "/v1/settings", timeout=10, verify=True)  # no public CA knows it


def test_a_client_that_never_shakes_hands_is_cut_off_and_holds_up_no_one(servers):
    _, secure, files = servers
    silent = socket.create_connection(("127.0.0.1", secure.server_port))
    plain_http = socket.create_connection(("127.0.0.1", secure.server_port))
    try:
        plain_http.sendall(b"GET /v1/settings HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        # meanwhile another client is served at once
        resp = requests.get(f"https://127.0.0.1:{secure.server_port}/v1/no-such-route",
                            timeout=10, verify=str(files.ca))
        assert resp.status_code == 404 and "No route" in resp.text
        silent.settimeout(10)
        assert silent.recv(1) == b""  # closed at the header deadline (1 s)
        assert time.monotonic() - started < 8
        plain_http.settimeout(10)
        # plain http on the https port: sent to the same URL over https, nothing served
        assert plain_http.recv(4096).split(b"\r\n")[:2] == [
            b"HTTP/1.1 308 Permanent Redirect",
            b"Location: https://x/v1/settings"]
    finally:
        silent.close()
        plain_http.close()
    followed = requests.get(f"http://127.0.0.1:{secure.server_port}/v1/no-such-route?a=1",
                            timeout=10, verify=str(files.ca))
    assert followed.url == f"https://127.0.0.1:{secure.server_port}/v1/no-such-route?a=1"
    assert followed.status_code == 404 and followed.history[0].status_code == 308
    bad = socket.create_connection(("127.0.0.1", secure.server_port))
    with bad:
        bad.sendall(b'GET /x HTTP/1.1\r\nHost: evil"><script>\r\n\r\n')  # no redirect
        bad.settimeout(10)
        assert bad.recv(4096).startswith(b"HTTP/1.1 400 Bad Request")


def test_past_the_connection_cap_a_tls_client_gets_the_503_answer(tmp_path, monkeypatch):
    """The cap (`OPENEVENT_MAX_CONNECTIONS`) holds on the https port too, and the refusal is
    the same 503 as on http: answered after a handshake in a thread of its own, so the
    accept loop never waits for a refused client's handshake."""
    monkeypatch.setenv("OPENEVENT_MAX_CONNECTIONS", "2")
    files = tls.ensure_certificate(tmp_path)
    server = Gateway(pool_size=1, groups=(), mounts=[]).serve(
        "127.0.0.1", free_port(), tls=tls.server_context(files))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = ssl.create_default_context(cafile=str(files.ca))
    held = []
    try:
        for _ in range(2):  # two clients that shook hands and say nothing
            raw = socket.create_connection(("127.0.0.1", server.server_port))
            held.append(context.wrap_socket(raw, server_hostname="127.0.0.1"))
        time.sleep(0.3)
        silent = socket.create_connection(("127.0.0.1", server.server_port))  # no handshake
        held.append(silent)
        resp = requests.get(f"https://127.0.0.1:{server.server_port}/v1/none", timeout=10,
                            verify=str(files.ca))
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
        assert resp.json()["errors"][0]["detail"].startswith("Too many open connections")
    finally:
        for conn in held:
            conn.close()
        server.drain(timeout=1)
        server.server_close()
