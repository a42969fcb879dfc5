"""Faults injected into the running local runtime (`python -m openevent.local`) the way the
fault probe of issue #27 did: the data dir on a small tmpfs filled during writes, the
journal file deleted, kill -9 of one child. Asserted over HTTP: a fault is a 503 with
Retry-After, never a wrong answer; nothing acknowledged is lost; the next start needs no
recovery; stderr says what happened in one line."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openevent.lab.localbroker import free_port

from tests.e2e.conftest import LocalSystem, start_system, stop_system
from tests.reliability.test_faults import LEAN, _admin_token, _children, _event_doc

pytestmark = pytest.mark.slow
JSONAPI = {"Content-Type": "application/vnd.api+json"}


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs (as root); unmounted afterwards, whatever happened."""
    mount = tmp_path / "data"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def systems() -> Iterator[list[LocalSystem]]:
    """Runtimes a test started: killed at the end if still running."""
    started: list[LocalSystem] = []
    yield started
    for system in started:
        if system.process.poll() is None:
            system.process.kill()
            system.process.wait()


def fill(path: Path) -> Path:
    """Write zeros into `path/filler` until the disk is full."""
    filler = path / "filler"
    block = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as fh:
        while True:
            try:
                fh.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                block = block[: len(block) // 2]
                if len(block) < 512:
                    return filler


def signup(system: LocalSystem, email: str) -> requests.Response:
    return requests.post(system.url("/v1/users"), headers=JSONAPI, timeout=60, json={
        "data": {"type": "user", "attributes": {"email": email,
                                                "password": "long-enough-password"}}})


def can_log_in(system: LocalSystem, email: str) -> bool:
    resp = requests.post(system.url("/auth/session"), timeout=60,
                         json={"email": email, "password": "long-enough-password"})
    return resp.status_code == 200


def wait_for(what: Any, timeout: float = 30, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def kill_9(system: LocalSystem) -> None:
    children = _children(system.process.pid)
    system.process.kill()
    system.process.wait()
    for pid in children:  # the guard ends them; wait until the store's lock is free
        wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 15, 0.1)


def child_pid(system: LocalSystem, marker: str) -> int:
    for pid in _children(system.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in cmdline:
            return pid
    raise AssertionError(f"no child running {marker}")


def test_disk_full_answers_503_keeps_the_journal_whole_and_writes_resume(tmpfs, systems):
    port = free_port()
    system = start_system(tmpfs, port, **LEAN)
    systems.append(system)
    admin = _admin_token(system)
    acknowledged = [f"before-{i}@example.com" for i in range(3)]
    for email in acknowledged:
        assert signup(system, email).status_code == 201

    filler = fill(tmpfs)
    refused = None
    for i in range(20):  # the journal's last page may still take a record or two
        email = f"full-{i}@example.com"
        resp = signup(system, email)
        if resp.status_code == 201:
            acknowledged.append(email)
            continue
        assert resp.status_code == 503, resp.text  # never 409 "Email already exists"
        assert int(resp.headers["Retry-After"]) > 0
        refused = email
        break
    assert refused is not None, "a full disk never refused a write"
    event = requests.post(system.url("/v1/events"), json=_event_doc("Full"), timeout=60,
                          headers={**JSONAPI, "Authorization": f"JWT {admin}"})
    assert event.status_code == 503, event.text
    assert requests.get(system.url("/v1/events"), timeout=60).status_code == 200  # reads work
    log = system.log.read_text()
    assert "the disk is full" in log, log[-2000:]
    assert "Traceback" not in log and "Logging error" not in log, log[-3000:]

    filler.unlink()  # space returns: writes resume by themselves, no restart
    again = signup(system, refused)
    assert again.status_code == 201, again.text  # the refused signup was not applied
    acknowledged.append(refused)
    assert "writes are accepted again" in system.log.read_text()

    kill_9(system)  # the next start needs no --recover, and has everything acknowledged
    restarted = start_system(tmpfs, port, **LEAN)
    systems.append(restarted)
    assert "Recovered" not in restarted.log.read_text()
    assert [e for e in acknowledged if not can_log_in(restarted, e)] == []
    stop_system(restarted)


def test_a_deleted_journal_is_noticed_and_nothing_acknowledged_is_lost(tmp_path, systems):
    data_dir, port = tmp_path / "data", free_port()
    system = start_system(data_dir, port, **LEAN)
    systems.append(system)
    acknowledged = []
    for i in range(5):
        assert signup(system, f"early-{i}@example.com").status_code == 201
        acknowledged.append(f"early-{i}@example.com")
    journals = sorted((data_dir / "store").glob("journal-*.log"))
    assert journals
    for journal in journals:
        journal.unlink()  # the probe's `rm`
    for i in range(15):
        resp = signup(system, f"late-{i}@example.com")
        assert resp.status_code in (201, 503), resp.text
        if resp.status_code == 201:
            acknowledged.append(f"late-{i}@example.com")
        else:
            assert int(resp.headers["Retry-After"]) > 0
    log = wait_for(lambda: "writes are accepted again" in system.log.read_text()
                   and system.log.read_text())
    assert log and "was deleted" in log, system.log.read_text()[-2000:]
    assert len(acknowledged) > 5

    kill_9(system)
    restarted = start_system(data_dir, port, **LEAN)
    systems.append(restarted)
    assert [e for e in acknowledged if not can_log_in(restarted, e)] == []
    stop_system(restarted)


def test_a_killed_moto_is_restarted_from_its_journal(tmp_path, systems):
    data_dir = tmp_path / "data"
    system = start_system(data_dir, free_port(), **LEAN)
    systems.append(system)
    for i in range(5):
        assert signup(system, f"kept-{i}@example.com").status_code == 201
    os.kill(child_pid(system, "openevent.local.moto_server"), 9)
    statuses = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        resp = signup(system, f"during-{len(statuses)}@example.com")
        statuses.append(resp.status_code)
        if resp.status_code == 201:
            break
        assert resp.status_code == 503, resp.text  # while it restarts: 503, never 500/409
        assert int(resp.headers["Retry-After"]) > 0
    assert statuses[-1] == 201, statuses
    assert all(can_log_in(system, f"kept-{i}@example.com") for i in range(5))
    log = system.log.read_text()
    assert "the embedded AWS (moto) killed by SIGKILL" in log, log[-2000:]
    deadline = time.monotonic() + 15  # the supervisor says so once its readiness check is in,
    while "is back" not in log and time.monotonic() < deadline:  # which may be just after
        time.sleep(0.2)  # the first answer the restarted moto gave
        log = system.log.read_text()
    assert "is back" in log, log[-2000:]
    assert "Traceback" not in log, log[-3000:]
    assert "stopped; data kept in" in stop_system(system)


def test_a_killed_broker_shows_the_device_offline_and_is_restarted(tmp_path, systems):
    data_dir = tmp_path / "data"
    system = start_system(data_dir, free_port(), **{**LEAN, "OPENEVENT_LAB": "1"})
    systems.append(system)
    admin = _admin_token(system)
    auth = {"Authorization": f"JWT {admin}"}

    def online() -> bool:
        devices = requests.get(system.url("/v1/lab/devices"), headers=auth, timeout=30).json()
        return any(d["online"] for d in devices)

    assert wait_for(online, 30), \
        f"the simulated device never came online; runtime log:\n{system.log.read_text()[-4000:]}"
    os.kill(child_pid(system, "mosquitto"), 9)
    assert wait_for(lambda: not online(), 5, 0.1), "the device still shows online"
    started = time.monotonic()
    call = requests.post(system.url("/v1/lab/calls"), headers=auth, timeout=30,
                         json={"function": "get_voltage('CH1')", "wait": 0})
    if call.status_code != 202:  # the broker may be back already
        assert call.status_code == 503, call.text
        assert time.monotonic() - started < 2, "the refusal waited for a relay that is gone"
    assert wait_for(online, 30), "the device did not come back online after the restart"
    call = requests.post(system.url("/v1/lab/calls"), headers=auth, timeout=30,
                         json={"function": "get_voltage('CH1')", "wait": 10})
    assert call.status_code == 200, call.text
    log = system.log.read_text()
    assert "the MQTT broker (mosquitto) killed by SIGKILL" in log, log[-2000:]
    assert "the MQTT broker (mosquitto) is back" in log
    stop_system(system)
