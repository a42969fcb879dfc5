"""The local runtime: the embedded default that `make run` starts.

One process supervises:
- moto's server (a child process) as the embedded AWS: DynamoDB, S3, SES, SQS, IoT data;
- every function group behind one port (default 8000, `PORT` overrides), dispatched by the
  route table exactly as the public origin does in AWS;
- S3 event notifications (bucket → SQS, in moto) delivered to the same SQS handlers AWS
  invokes;
- the groups' scheduled jobs, ticking;
- a local MQTT 5 broker (mosquitto) and a simulated lab edge agent;
- data kept across restarts in the data directory (`.openevent/`, `OPENEVENT_DATA_DIR`).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from openevent.lab.localbroker import free_port

log = logging.getLogger("openevent.local")

DEFAULT_ADMIN_EMAIL = "admin@openevent.local"
DEFAULT_ADMIN_PASSWORD = "open-event-admin"  # local default only; documented in README
SNAPSHOT_SECONDS = 5.0


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _jwt_secret(data_dir: Path) -> str:
    """A per-installation signing key, kept in the data dir so sessions survive restarts."""
    path = data_dir / "jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _data_key(data_dir: Path) -> str:
    """The installation's data-encryption key (openevent.data_key), generated once."""
    from cryptography.fernet import Fernet

    path = data_dir / "data-key"
    if not path.exists():
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


class Runtime:
    """Starts and stops every local part; `start()` then `serve_forever()` or `stop()`."""

    def __init__(self, data_dir: Path, port: int, *, with_lab: bool = True,
                 moto_port: int | None = None, broker_port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.with_lab = with_lab
        self.moto_port = moto_port or free_port()
        self.broker_port = broker_port or free_port()
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.server: Any = None
        self.lab_status = "off"
        self.payments_status = "off"
        self.on_stop: list[Any] = []  # callbacks of the parts started in-process

    # -- setup ------------------------------------------------------------------------
    def configure_environment(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "outbox").mkdir(exist_ok=True)
        env = {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto_port}",
            "OPENEVENT_LOCAL": "1",
            "OPENEVENT_DATA_DIR": str(self.data_dir),
            "OPENEVENT_OUTBOX_DIR": str(self.data_dir / "outbox"),
            "OPENEVENT_API_BASE_URL": f"http://127.0.0.1:{self.port}",
            "OPENEVENT_LAB_BROKER": f"127.0.0.1:{self.broker_port}",
        }
        os.environ.update(env)
        os.environ.setdefault("OPENEVENT_JWT_SECRET", _jwt_secret(self.data_dir))
        os.environ.setdefault("OPENEVENT_DATA_KEY", _data_key(self.data_dir))
        os.environ.setdefault("SUPER_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        os.environ.setdefault("SUPER_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)
        from openevent.settings import get_settings

        get_settings.cache_clear()

    def start_moto(self) -> None:
        # moto made atomic per DynamoDB call (see openevent.local.moto_server)
        cmd = [sys.executable, "-m", "openevent.local.moto_server", "-H", "127.0.0.1",
               "-p", str(self.moto_port)]
        log_file = open(self.data_dir / "moto.log", "ab")  # noqa: SIM115 - lives with the child
        # A session of its own: Ctrl-C in the terminal must not kill moto before the final
        # snapshot; stop() ends it.
        self.children.append(subprocess.Popen(  # noqa: S603 - fixed argv, our own binary
            cmd, stdout=log_file, stderr=log_file,
            start_new_session=True))
        _wait_http(f"http://127.0.0.1:{self.moto_port}/moto-api/")

    def provision(self) -> int:
        from openevent.local.provision import provision
        from openevent.local.snapshot import import_state

        provision()
        restored = import_state(self.data_dir)
        from openevent.services.users import ensure_super_admin
        from openevent.settings import get_settings

        settings = get_settings()
        ensure_super_admin(settings.super_admin_email, str(settings.super_admin_password))
        return restored

    def start_payment_sandboxes(self) -> None:
        from openevent.local.providers import start_sandboxes

        try:
            servers, self.payments_status = start_sandboxes(f"http://127.0.0.1:{self.port}")
        except Exception as exc:  # noqa: BLE001 - the rest of the system works without
            log.exception("payment sandboxes did not start")
            self.payments_status = f"off ({type(exc).__name__})"
            return
        self.on_stop.extend(server.stop for server in servers)

    def start_gateway(self) -> None:
        from openevent.local.gateway import Gateway

        self.gateway = Gateway(pool_size=int(os.environ.get("OPENEVENT_POOL_SIZE", "8")))
        self.server = self.gateway.serve("127.0.0.1", self.port)
        thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        thread.start()
        self.threads.append(thread)

    def start_events(self) -> None:
        from openevent.local.events import EventPump

        self.pump = EventPump(self.gateway, self.stopping)
        self.pump.setup()
        for target, name in ((self.pump.run_queues, "sqs-events"),
                             (self.pump.run_schedules, "schedules")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def start_lab(self) -> None:
        from openevent.local.lab import start_lab

        try:
            self.lab_status = start_lab(self)
        except Exception as exc:  # noqa: BLE001 - the API stays useful without the lab
            log.exception("lab did not start")
            self.lab_status = f"off ({type(exc).__name__}: {exc})"

    def start_snapshots(self) -> None:
        def loop() -> None:
            while not self.stopping.wait(SNAPSHOT_SECONDS):
                self.snapshot()

        self.snapshot_thread = threading.Thread(target=loop, name="snapshots", daemon=True)
        self.snapshot_thread.start()

    def snapshot(self) -> None:
        from openevent.local.snapshot import export_state

        try:
            export_state(self.data_dir)
        except Exception as exc:  # noqa: BLE001 - keep serving; retry next interval
            log.warning("snapshot failed: %s", exc)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        self.configure_environment()
        self.start_moto()
        restored = self.provision()
        if os.environ.get("OPENEVENT_PAYMENT_SANDBOX", "1") != "0":
            self.start_payment_sandboxes()
        self.start_gateway()
        self.start_events()
        if self.with_lab:
            self.start_lab()
        self.start_snapshots()
        self.banner(restored)

    def banner(self, restored: int) -> None:
        from openevent.settings import get_settings

        settings = get_settings()
        admin_password = (
            DEFAULT_ADMIN_PASSWORD
            if str(settings.super_admin_password) == DEFAULT_ADMIN_PASSWORD
            else "(from SUPER_ADMIN_PASSWORD)"
        )
        lines = [
            "",
            "Open Event (serverless) is running locally",
            f"  API          http://127.0.0.1:{self.port}/v1  (OpenAPI: /v1/openapi.json)",
            f"  Lab console  http://127.0.0.1:{self.port}/lab/",
            f"  Admin login  {settings.super_admin_email} / {admin_password}",
            f"  Outbox       {self.data_dir / 'outbox'}  (every sent mail as .eml)",
            f"  Data         {self.data_dir}  ({restored} items restored)",
            f"  Embedded AWS moto at http://127.0.0.1:{self.moto_port}",
            f"  Lab          {self.lab_status}",
            f"  Payments     {self.payments_status}",
            "  Stop with Ctrl-C.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for callback in self.on_stop:
            try:
                callback()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                log.warning("stopping %s failed: %s", callback, exc)
        snapshots = getattr(self, "snapshot_thread", None)
        if snapshots is not None:
            snapshots.join(timeout=30)
        if self.children and self.children[0].poll() is None:
            self.snapshot()
        for child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        print("stopped; data kept in", self.data_dir, flush=True)


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    data_dir = Path(os.environ.get("OPENEVENT_DATA_DIR", ".openevent")).resolve()
    port = int(os.environ.get("PORT", "8000"))
    runtime = Runtime(data_dir, port, with_lab=os.environ.get("OPENEVENT_LAB", "1") != "0")

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        runtime.start()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()


