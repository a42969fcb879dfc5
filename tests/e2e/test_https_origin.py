"""`make run` serves its one origin over HTTPS too (issue 23, item 2): the real runtime in a
child process answers the same routes on both ports, names its https origin as the web app's
URL (banner, the settings' frontend URL, mailed links, the app page's API host), streams the
lab over wss, keeps its certificate across restarts, and with `OPENEVENT_HTTPS_PORT=off`
behaves as before (http only, its http origin the frontend URL)."""

from __future__ import annotations

import json
import re
import socket
import ssl
import stat
from urllib.parse import quote, unquote

import pytest
import requests
from openevent.lab.localbroker import free_port
from websockets.sync.client import connect

from tests.conftest import mails_to
from tests.e2e.conftest import start_system, stop_system
from tests.e2e.test_local_runtime import ADMIN, last_mail_to, login

pytestmark = pytest.mark.slow


def _web_app(folder):
    """A stand-in for the built web app: its page with a baked API host, as Ember writes it."""
    folder.mkdir()
    meta = quote(json.dumps({"APP": {"apiHost": "http://localhost:4200"}}), safe="")
    (folder / "index.html").write_text(
        f'<meta name="open-event-frontend/config/environment" content="{meta}" />')
    return folder


def _api_host(html: str) -> str:
    return str(json.loads(unquote(html.split('content="')[1].split('"')[0]))["APP"]["apiHost"])


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_the_https_origin_is_the_web_apps_and_serves_what_http_serves(tmp_path):
    data_dir = tmp_path / "data"
    https_port = free_port()
    env = {"OPENEVENT_FRONTEND_DIR": str(_web_app(tmp_path / "dist")),
           "OPENEVENT_HTTPS_PORT": str(https_port)}
    system = start_system(data_dir, free_port(), extra_env=env)
    https = f"https://127.0.0.1:{https_port}"
    ca = str(system.ca)
    try:
        assert system.https_base == https
        banner = system.log.read_text()
        assert f"Web app      {https}/" in banner and str(system.ca) in banner
        for key in ("localhost-key.pem", "ca-key.pem"):
            assert stat.S_IMODE((data_dir / "tls" / key).stat().st_mode) == 0o600

        # the same routes on both ports; the certificate verifies against the runtime's CA
        for path in ("/v1/modules", "/v1/events", "/v1/no-such-route"):
            a = requests.get(system.base + path, timeout=30)
            b = requests.get(https + path, timeout=30, verify=ca)
            assert (a.status_code, a.json()) == (b.status_code, b.json()), path
        assert _api_host(requests.get(https + "/", timeout=30, verify=ca).text) == https
        assert _api_host(requests.get(system.base + "/", timeout=30).text) == system.base
        for page in ("/lab/", "/checkin/"):
            assert requests.get(https + page, timeout=30, verify=ca).text == \
                requests.get(system.base + page, timeout=30).text

        # the frontend URL in effect is the https origin: settings and mailed links
        admin = login(system, ADMIN["email"], ADMIN["password"]).json()["access_token"]
        served = requests.get(https + "/v1/settings", headers={"Authorization": f"JWT {admin}"},
                              timeout=30, verify=ca).json()["data"]["attributes"]
        assert (served["frontend-url"], served["static-domain"]) == (https, https)
        created = requests.post(https + "/v1/users", json={"data": {"type": "user",
                                "attributes": {"email": "tls@example.com",
                                               "password": "first-password"}}},
                                headers={"Content-Type": "application/vnd.api+json"},
                                timeout=30, verify=ca)
        assert created.status_code == 201, created.text
        text = last_mail_to(system, "tls@example.com").get_body(("plain",)).get_content()
        assert re.search(rf"{re.escape(https)}/verify\?token=\S+", text), text

        # the lab's live stream over wss on the https port (where the console connects)
        context = ssl.create_default_context(cafile=ca)
        with connect(f"wss://127.0.0.1:{https_port}/v1/lab/stream", ssl=context,
                     subprotocols=["openevent-lab.v1", f"jwt.{admin}"],  # type: ignore[list-item]
                     open_timeout=30) as ws:
            assert ws.subprotocol == "openevent-lab.v1"
            assert json.loads(ws.recv(timeout=30))["kind"] == "hello"
        cert_before = (data_dir / "tls" / "localhost.pem").read_bytes()
    finally:
        stop_system(system)
    assert _refused(https_port)

    # a restart reuses the certificate
    system = start_system(data_dir, free_port(), extra_env=env)
    try:
        assert (data_dir / "tls" / "localhost.pem").read_bytes() == cert_before
        assert requests.get(https + "/v1/modules", timeout=30, verify=ca).status_code == 200
    finally:
        stop_system(system)

    # OPENEVENT_HTTPS_PORT=off: http only, its own http origin the frontend URL, as before
    system = start_system(data_dir, free_port(), extra_env={**env,
                                                             "OPENEVENT_HTTPS_PORT": "off"})
    try:
        assert system.https_base is None and _refused(https_port)
        assert "HTTPS        off" in system.log.read_text()
        assert f"Web app      {system.base}/" in system.log.read_text()
        admin = login(system, ADMIN["email"], ADMIN["password"]).json()["access_token"]
        served = system.get("/v1/settings", token=admin).json()["data"]["attributes"]
        assert served["frontend-url"] == system.base
        assert system.send("POST", "/v1/auth/reset-password",
                           {"data": {"email": "tls@example.com"}}, jsonapi=False).status_code \
            == 200
        mail = mails_to(data_dir / "outbox", "tls@example.com")[-1]
        assert f"{system.base}/reset-password?token=" in mail.get_body(("plain",)).get_content()
    finally:
        stop_system(system)


def test_a_taken_https_port_is_refused_in_one_line(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"the https port {port} on 127.0.0.1 is in use"
                           r".*OPENEVENT_HTTPS_PORT=<another port> \(or off\)"):
            start_system(tmp_path / "data", free_port(), OPENEVENT_HTTPS_PORT=str(port))
    finally:
        taken.close()
