"""The real local runtime (`make run`'s `python -m openevent.local`) in a child process,
driven over HTTP on 127.0.0.1 only. As `make run`, it serves its origin over TLS too, on a
free port of its own (`https_base`; clients verify its certificate with `ca`, the runtime's
local CA) unless a test turns that off (`OPENEVENT_HTTPS_PORT=off`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from openevent.lab.localbroker import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LocalSystem:
    base: str
    data_dir: Path
    process: subprocess.Popen[str]
    log: Path
    https_base: str | None = None

    @property
    def ca(self) -> Path:
        """The runtime's local CA certificate (`openevent.local.tls`): what clients trust."""
        return self.data_dir / "tls" / "ca.pem"

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"JWT {token}"} if token else {}
        return requests.get(self.url(path), headers=headers, timeout=30, **kw)

    def send(self, method: str, path: str, body: Any, token: str | None = None,
             jsonapi: bool = True) -> requests.Response:
        headers = {"Content-Type": "application/vnd.api+json" if jsonapi
                   else "application/json"}
        if token:
            headers["Authorization"] = f"JWT {token}"
        return requests.request(method, self.url(path), json=body, headers=headers, timeout=30)


# `OPENEVENT_HTTPS_PORT=free` (the default here): a port free a moment ago, picked by the
# harness; another process may take it before the runtime binds it, so a start refused for
# exactly that is retried with another one (an explicit port is never retried).
FREE = "free"


def runtime_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "OPENEVENT_", "SUPER_ADMIN", "RECOVER"))}
    # no web app unless a test asks for one: a runtime without a current build would start
    # building it (`openevent.local.webapp`)
    env.update({"PORT": str(port), "OPENEVENT_DATA_DIR": str(data_dir),
                "OPENEVENT_WEB_APP": "0", **extra})
    if env.get("OPENEVENT_HTTPS_PORT", FREE) == FREE:
        env["OPENEVENT_HTTPS_PORT"] = str(free_port())
    return env


def start_system(data_dir: Path, port: int, *args: str,
                 extra_env: dict[str, str] | None = None, **extra: str) -> LocalSystem:
    """Start `python -m openevent.local` in a session of its own (so a test can kill its
    whole process group as a terminal would) and wait for the banner."""
    wanted = {**(extra_env or {}), **extra}
    log = data_dir.parent / f"runtime-{port}.log"
    for attempt in range(3):
        env = runtime_env(data_dir, port, **wanted)
        out = open(log, "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "openevent.local", *args], cwd=ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        deadline = time.monotonic() + 90
        while "running locally" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                break
            time.sleep(0.2)
        else:
            break
        said = log.read_text()
        taken = "the https port" in said and "is in use" in said
        if not (taken and wanted.get("OPENEVENT_HTTPS_PORT", FREE) == FREE and attempt < 2):
            raise RuntimeError(f"local runtime did not start:\n{said[-3000:]}")
    https_port = env["OPENEVENT_HTTPS_PORT"]
    https_base = None if https_port.lower() in ("0", "off") else f"https://127.0.0.1:{https_port}"
    return LocalSystem(f"http://127.0.0.1:{port}", data_dir, process, log, https_base)


def stop_system(system: LocalSystem) -> str:
    system.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        system.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        system.process.kill()
        raise
    return system.log.read_text()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    data_dir = tmp_path_factory.mktemp("e2e") / "data"
    running = start_system(data_dir, free_port())
    yield running
    if running.process.poll() is None:
        stop_system(running)
