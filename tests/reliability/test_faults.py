"""Pulling plugs on the real local runtime (`python -m openevent.local`), over HTTP only.

Each test does what a tester would — kill -9 mid-stream, Ctrl-C with clients connected,
damage a file, take the port — and asserts what the user sees and that no acknowledged
write is lost."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from openevent.lab.localbroker import free_port

from tests.e2e.conftest import ROOT, LocalSystem, runtime_env, start_system, stop_system

pytestmark = pytest.mark.slow
LEAN = {"OPENEVENT_LAB": "0", "OPENEVENT_PAYMENT_SANDBOX": "0", "OPENEVENT_POOL_SIZE": "2"}
ADMIN = {"email": "admin@openevent.local", "password": "open-event-admin"}
JSONAPI = {"Content-Type": "application/vnd.api+json"}


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _admin_token(system: LocalSystem) -> str:
    resp = requests.post(system.url("/auth/session"), json=ADMIN, timeout=30)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def _event_doc(name: str) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=30)
    return {"data": {"type": "event", "attributes": {
        "name": name, "starts-at": start.isoformat(), "timezone": "UTC",
        "ends-at": (start + timedelta(hours=2)).isoformat()}}}


class Writer:
    """Threads streaming signups and events on keep-alive sessions; records every write the
    API acknowledged (201) and every answer status."""

    def __init__(self, system: LocalSystem, admin: str, threads: int = 4,
                 limit: int = 400) -> None:
        self.base = system.base
        self.admin = admin
        self.users: list[tuple[str, str]] = []
        self.events: list[str] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.limit = limit
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True)
                        for n in range(threads)]

    def start(self) -> Writer:
        for thread in self.threads:
            thread.start()
        return self

    def wait_for(self, acknowledged: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.users) + len(self.events) < acknowledged:
            assert time.monotonic() < deadline, f"only {self.statuses[-20:]}"
            time.sleep(0.05)

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def run(self, n: int) -> None:
        session = requests.Session()  # one keep-alive connection per thread
        for i in range(self.limit):
            if self.stop.is_set():
                return
            try:
                if i % 2:
                    resp = session.post(f"{self.base}/v1/events", json=_event_doc(f"E{n}-{i}"),
                                        headers={**JSONAPI, "Authorization": f"JWT {self.admin}"},
                                        timeout=30)
                else:
                    email = f"w{n}-{i}-{time.monotonic_ns()}@example.com"
                    resp = session.post(f"{self.base}/v1/users", json={"data": {
                        "type": "user", "attributes": {"email": email,
                                                       "password": "stream-password"}}},
                                        headers=JSONAPI, timeout=30)
            except requests.RequestException:
                session = requests.Session()
                continue  # no answer: not acknowledged
            with self.lock:
                self.statuses.append(resp.status_code)
                if resp.status_code == 201:
                    if i % 2:
                        self.events.append(resp.json()["data"]["id"])
                    else:
                        self.users.append((email, resp.json()["data"]["id"]))


def _assert_all_there(system: LocalSystem, writer: Writer, admin: str) -> None:
    auth = {"Authorization": f"JWT {admin}"}  # drafts are visible to their organizer
    lost_events = [e for e in writer.events if requests.get(
        system.url(f"/v1/events/{e}"), headers=auth, timeout=30).status_code != 200]
    lost_users = [u for u in writer.users if requests.get(
        system.url(f"/v1/users/{u[1]}"), headers=auth, timeout=30).status_code != 200]
    assert (lost_events, lost_users) == ([], []), "acknowledged writes lost"


def _assert_ids_keep_working(system: LocalSystem, writer: Writer, admin: str) -> None:
    event = requests.post(system.url("/v1/events"), json=_event_doc("After"), timeout=30,
                          headers={**JSONAPI, "Authorization": f"JWT {admin}"})
    assert event.status_code == 201, event.text
    assert event.json()["data"]["id"] not in writer.events
    user = requests.post(system.url("/v1/users"), headers=JSONAPI, timeout=30, json={
        "data": {"type": "user", "attributes": {"email": "fresh@example.com",
                                                "password": "fresh-password"}}})
    assert user.status_code == 201, user.text
    assert user.json()["data"]["id"] not in {uid for _, uid in writer.users}


def _tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _start_fails(data_dir: Path, port: int, *args: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "openevent.local", *args], cwd=ROOT,
                          env=runtime_env(data_dir, port, **LEAN), capture_output=True,
                          text=True, timeout=120)
    return done.returncode, done.stderr.strip()


def test_kill_9_mid_stream_loses_nothing_and_damage_is_refused_then_recovered(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    system = start_system(data_dir, port, **LEAN)
    admin = _admin_token(system)
    writer = Writer(system, admin).start()
    writer.wait_for(40)
    runtime_children = _children(system.process.pid)
    system.process.kill()  # kill -9 of the runtime alone, writes in flight
    writer.join()
    system.process.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in runtime_children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runtime_children and not any(_alive(pid) for pid in runtime_children), \
        "a child outlived the runtime"

    restarted = start_system(data_dir, port, **LEAN)
    try:
        admin = _admin_token(restarted)
        _assert_all_there(restarted, writer, admin)
        _assert_ids_keep_working(restarted, writer, admin)
    finally:
        assert "stopped; data kept in" in stop_system(restarted)
    assert restarted.process.returncode == 0

    # A damaged newest generation: refused, one line naming the file, nothing changed.
    store = data_dir / "store"
    newest = sorted(store.glob("gen-*"))[-1]
    damaged = newest / "dynamodb.json"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    before = _tree(data_dir)
    code, err = _start_fails(data_dir, port)
    assert code != 0
    assert len(err.splitlines()) == 1 and str(damaged) in err and "--recover" in err, err
    assert _tree(data_dir) == before

    recovered = start_system(data_dir, port, "--recover", **LEAN)
    try:
        assert "Recovered" in recovered.log.read_text()
        admin = _admin_token(recovered)
        _assert_all_there(recovered, writer, admin)
    finally:
        stop_system(recovered)
    assert list((store).glob("damaged-*/gen-*")), "the damaged generation was not kept"


def test_ctrl_c_with_open_keepalive_connections(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    system = start_system(data_dir, port, **LEAN)
    admin = _admin_token(system)
    idle = socket.create_connection(("127.0.0.1", port))  # a keep-alive client gone quiet
    writer = Writer(system, admin).start()
    writer.wait_for(20)
    started = time.monotonic()
    log = stop_system(system)  # SIGINT, as Ctrl-C; waits for the exit
    assert time.monotonic() - started < 30
    writer.join()
    assert system.process.returncode == 0, log
    assert "stopped; data kept in" in log
    assert idle.recv(1) == b"", "an idle keep-alive connection was left open"
    assert not [s for s in writer.statuses if s >= 500 and s != 503], writer.statuses
    assert "Traceback" not in log, log

    restarted = start_system(data_dir, port, **LEAN)
    try:
        _assert_all_there(restarted, writer, _admin_token(restarted))
    finally:
        stop_system(restarted)


def test_torn_journal_is_refused_with_one_line(tmp_path):
    from openevent.local import store

    data_dir = tmp_path / "data"
    root = store.store_dir(data_dir)
    root.mkdir(parents=True)
    journal = store.Journal(store.journal_path(root, 0))
    journal.append(store.encode_request({"REQUEST_METHOD": "PUT"}, b"x" * 100))
    journal.close()
    path = store.journal_path(root, 0)
    path.write_bytes(path.read_bytes()[:-10])  # a write cut short (full disk, power loss)
    (data_dir / "jwt-secret").write_text("k" * 64)
    before = _tree(data_dir)
    code, err = _start_fails(data_dir, free_port())
    assert code != 0
    assert len(err.splitlines()) == 1 and str(path) in err and "torn record 1" in err, err
    assert _tree(data_dir) == before


def test_empty_signing_key_is_refused_with_one_line(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "jwt-secret").write_text("")
    code, err = _start_fails(data_dir, free_port())
    assert code != 0
    assert len(err.splitlines()) == 1 and "jwt-secret" in err and "empty" in err, err
    assert _tree(data_dir) == {"jwt-secret": hashlib.sha256(b"").hexdigest()}
    assert sorted(p.name for p in data_dir.iterdir()) == ["jwt-secret"]


def test_damaged_data_key_is_refused_with_one_line(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "data-key").write_text("not-a-key")
    code, err = _start_fails(data_dir, free_port())
    assert code != 0
    assert len(err.splitlines()) == 1 and "data-key" in err and "damaged" in err, err
    assert sorted(p.name for p in data_dir.iterdir()) == ["data-key"]


def test_port_in_use_is_refused_with_one_line(tmp_path):
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = _start_fails(data_dir, port)
    assert code != 0
    assert len(err.splitlines()) == 1 and f"port {port}" in err and "PORT=" in err, err
    assert not data_dir.exists()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_unknown_methods_are_405_jsonapi(method, tmp_path):
    from openevent.local.gateway import Gateway

    server = Gateway(pool_size=1, groups=()).serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        resp = requests.request(method, f"http://127.0.0.1:{server.server_port}/v1/events",
                                timeout=10)
    finally:
        server.drain(timeout=1)
        server.server_close()
    assert resp.status_code == 405
    assert resp.headers["Content-Type"] == "application/vnd.api+json"
    assert resp.json()["errors"][0]["status"] == 405
    assert "GET" in resp.headers["Allow"]



def test_a_second_instance_on_the_same_data_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    system = start_system(data_dir, free_port(), **LEAN)
    try:
        before = _tree(data_dir / "store")
        code, err = _start_fails(data_dir, free_port())
        assert code != 0
        assert len(err.splitlines()) == 1 and "in use by another running instance" in err, err
        assert _tree(data_dir / "store") == before
        assert requests.get(system.url("/v1/events"), timeout=30).status_code == 200
    finally:
        stop_system(system)
