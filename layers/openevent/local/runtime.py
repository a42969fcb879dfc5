"""The local runtime: the embedded default that `make run` starts.

One process supervises:
- moto's server (a child process) as the embedded AWS: DynamoDB, S3, SES, SQS, IoT data;
- every function group behind one port (default 8000, `PORT` overrides), dispatched by the
  route table exactly as the public origin does in AWS, and the same over TLS on a second
  port (`openevent.local.tls`; the https origin is then the default frontend URL);
- S3 event notifications (bucket → SQS, in moto) delivered to the same SQS handlers AWS
  invokes;
- the groups' scheduled jobs, ticking;
- a local MQTT 5 broker (mosquitto) and a simulated lab edge agent;
- data kept across restarts in the data directory (`.openevent/`, `OPENEVENT_DATA_DIR`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from openevent.lab.localbroker import free_port
from openevent.local import tls
from openevent.local.process import StartupError, bind_error, limit_malloc_retention

log = logging.getLogger("openevent.local")

DEFAULT_ADMIN_EMAIL = "admin@openevent.local"
DEFAULT_ADMIN_PASSWORD = "open-event-admin"  # local default only; documented in README
SNAPSHOT_SECONDS = 5.0


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


def check_data_key(data_dir: Path) -> None:
    """An existing data-encryption key must be a valid key: a damaged one is refused (a new
    one could not read the payment secrets stored under the old)."""
    from cryptography.fernet import Fernet

    path = data_dir / "data-key"
    if os.environ.get("OPENEVENT_DATA_KEY") or not path.exists():
        return
    try:
        Fernet(path.read_text().strip().encode())
    except (OSError, UnicodeDecodeError, ValueError, TypeError):
        raise StartupError(f"openevent: the data-encryption key {path} is damaged. Restore it "
                           "from a backup; without it the stored payment secrets can't be "
                           "read.") from None

def check_ticket_keys(data_dir: Path) -> None:
    """An existing ticket-signing key ring must parse: a damaged one is refused (a new one
    would void every ticket already issued)."""
    from openevent.signing import keys

    path = data_dir / "ticket-keys.json"
    if os.environ.get(keys.KEYS_FILE_ENV) or not path.exists():
        return
    try:
        keys.parse(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise StartupError(f"openevent: the ticket-signing keys {path} are damaged. Restore "
                           "them from a backup; new keys would void every ticket issued.") \
            from None


def check_jwt_secret(data_dir: Path) -> None:
    """An existing key file must hold a usable key: an empty or short one is refused rather
    than silently replaced (replacing it signs everybody out) or used (every login fails)."""
    path = data_dir / "jwt-secret"
    if os.environ.get("OPENEVENT_JWT_SECRET") or not path.exists():
        return
    try:
        key = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise StartupError(f"openevent: cannot read the signing key {path}: {exc}. "
                           "Delete the file to generate a new key (every session ends).") \
            from None
    if len(key) < 32:
        what = "empty" if not key else f"too short ({len(key)} characters, 32 needed)"
        raise StartupError(f"openevent: the signing key {path} is {what}. Restore it from a "
                           "backup, or delete it to generate a new key (every session ends).")


def check_port(port: int) -> None:
    """The API port must be free: say which port and how to choose another one."""
    error = bind_error(port)
    if error is not None:
        raise StartupError(f"openevent: port {port} on 127.0.0.1 is in use ({error}). "
                           "Stop what uses it, or start with PORT=<another port>.")


def check_tools() -> None:
    """Python packages the runtime needs (the Makefile installs them)."""
    import importlib.util

    for module, package in (("moto", "moto[server]"), ("chalice", "chalice"),
                            ("werkzeug", "werkzeug"), ("boto3", "boto3")):
        if importlib.util.find_spec(module) is None:
            raise StartupError(f"openevent: the Python package {package} is missing; "
                               "run `make run` (it installs everything) or "
                               "`make .venv/.installed`.")


def check_data_dir(data_dir: Path) -> None:
    """The data directory must exist (it is created) and take files: a read-only or
    unwritable one is refused in one line, before anything else is written."""
    import tempfile

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StartupError(f"openevent: cannot write to the data directory {data_dir} "
                           f"({reason}). Make it writable, or start with "
                           "OPENEVENT_DATA_DIR=<a writable directory>.") from None


def check_store(data_dir: Path, recover: bool) -> list[str]:
    """Refuse a damaged store (nothing changed), or repair it when `recover` is asked."""
    from openevent.local import store

    root = store.store_dir(data_dir)
    deadline = time.monotonic() + 10  # a killed instance's embedded AWS may still be exiting
    while store.is_locked(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    if store.is_locked(root):
        raise StartupError(f"openevent: {data_dir} is in use by another running instance; "
                           "stop it first, or use another OPENEVENT_DATA_DIR.")
    notes = store.repair(root) if recover and root.exists() else []
    try:
        store.plan(root)
    except store.DamagedData as exc:
        raise StartupError(store.describe(exc)) from None
    return notes


class Runtime:
    """Starts and stops every local part; `start()` then `serve_forever()` or `stop()`."""

    def __init__(self, data_dir: Path, port: int, *, with_lab: bool = True,
                 moto_port: int | None = None, broker_port: int | None = None,
                 recover: bool = False) -> None:
        self.data_dir = data_dir
        self.port = port
        self.recover = recover
        self.recovery_notes: list[str] = []
        self.guard: subprocess.Popen[bytes] | None = None
        self.restored: dict[str, Any] = {}
        self.with_lab = with_lab
        self.moto_port = moto_port or free_port()
        self.broker_port = broker_port or free_port()
        self.children: list[subprocess.Popen[bytes]] = []
        self.moto: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.server: Any = None
        self.https_port: int | None = None
        self.https_server: Any = None  # the same gateway over TLS (openevent.local.tls)
        self.lab_status = "off"
        self.payments_status = "off"
        self.on_stop: list[Any] = []  # callbacks of the parts started in-process

    # -- setup ------------------------------------------------------------------------
    def preflight(self) -> None:
        """Every check that can refuse a start, before anything on disk is touched."""
        check_tools()
        check_port(self.port)
        self.https_port = tls.preflight(self.port)
        check_data_dir(self.data_dir)
        check_jwt_secret(self.data_dir)
        check_data_key(self.data_dir)
        check_ticket_keys(self.data_dir)
        self.recovery_notes = check_store(self.data_dir, self.recover)

    def start_guard(self) -> None:
        self.guard = subprocess.Popen(  # noqa: S603 - fixed argv, our own module
            [sys.executable, "-m", "openevent.local.guard", str(os.getpid())],
            stdin=subprocess.PIPE)

    def watch(self, pid: int) -> None:
        """Have the guard end `pid` if this process dies without stopping it."""
        if self.guard is not None and self.guard.stdin is not None:
            self.guard.stdin.write(f"{pid}\n".encode())
            self.guard.stdin.flush()

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
        if not os.environ.get("OPENEVENT_FRONTEND_URL"):  # the origin the banner gives
            os.environ["OPENEVENT_FRONTEND_URL"] = self.web_origin()
        os.environ.setdefault("OPENEVENT_JWT_SECRET", _jwt_secret(self.data_dir))
        os.environ.setdefault("OPENEVENT_DATA_KEY", _data_key(self.data_dir))
        if not os.environ.get("OPENEVENT_TICKET_KEYS_FILE"):
            from openevent.signing import keys as ticket_keys

            path = self.data_dir / "ticket-keys.json"
            ticket_keys.ensure_file(path)  # generated once; rotate with openevent.signing.keys
            os.environ["OPENEVENT_TICKET_KEYS_FILE"] = str(path)
        os.environ.setdefault("SUPER_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        os.environ.setdefault("SUPER_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)
        from openevent.settings import get_settings

        get_settings.cache_clear()

    def start_moto(self) -> None:
        """moto, atomic per call and journaled to the data dir (openevent.local.moto_server).

        Same process group as the runtime (a kill of the group ends it too); it ignores
        Ctrl-C, so the API drains before moto takes its final snapshot on SIGTERM, and it
        exits by itself when this process is gone (its stdin closes). Its stderr is relayed
        (`supervisor.relay_lines`): to `moto.log`, and its `openevent:` lines (a full disk,
        a deleted journal) to this process's stderr — the log may be on the full disk."""
        import json

        from openevent.local.supervisor import relay_lines

        cmd = [sys.executable, "-m", "openevent.local.moto_server", "-H", "127.0.0.1",
               "-p", str(self.moto_port), "--data-dir", str(self.data_dir), "--watch-parent"]
        log_path = self.data_dir / "moto.log"
        child = subprocess.Popen(  # noqa: S603 - fixed argv, our own module
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        last: list[str] = []
        relay = threading.Thread(target=relay_lines, args=(child.stderr, log_path, last),
                                 name="moto-stderr", daemon=True)
        relay.start()
        self.children = [c for c in self.children if c is not self.moto] + [child]
        self.moto = child
        self.watch(child.pid)
        url = f"http://127.0.0.1:{self.moto_port}/openevent/ready"
        deadline = time.monotonic() + 300  # replaying a long journal takes a while
        while True:
            if child.poll() is not None:
                relay.join(timeout=5)
                raise StartupError(last[0] if last else
                                   f"openevent: the embedded AWS exited; see {log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
                    self.restored = json.loads(resp.read())
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise StartupError(f"openevent: the embedded AWS did not start; see "
                                       f"{log_path}") from None
                time.sleep(0.1)

    def restart_moto(self) -> str:
        """Start moto again from its store after it died, then provision what its store
        does not keep (queues, the mail identity); returns what it restored."""
        from openevent.local.provision import provision

        self.start_moto()
        provision()
        pump = getattr(self, "pump", None)
        if pump is not None:
            pump.recreate_queues()
        return (f" ({self.restored.get('items', 0)} items restored, "
                f"{self.restored.get('replayed', 0)} journaled writes replayed)")

    def moto_exit_code(self) -> int | None:
        return None if self.moto is None else self.moto.poll()

    def start_supervisor(self) -> None:
        """Restart moto and the broker when they die (`openevent.local.supervisor`)."""
        from openevent.local.supervisor import Supervisor, Watched, mark_devices_offline

        supervisor = Supervisor(self.stopping)
        supervisor.watch(Watched("the embedded AWS (moto)", self.moto_exit_code,
                                 self.restart_moto))
        broker = getattr(self, "broker", None)
        if broker is not None:
            def restart_broker() -> str:
                broker.start()
                return ""

            def offline() -> None:
                marked = mark_devices_offline()
                log.info("%d lab devices marked offline while the broker is down", marked)

            supervisor.watch(Watched("the MQTT broker (mosquitto)", broker.exit_code,
                                     restart_broker, offline))
        supervisor.start()

    def writes_line(self) -> str:
        """The banner's word on writes: the embedded AWS's journal state (disk full...)."""
        import json
        import shutil

        try:
            url = f"http://127.0.0.1:{self.moto_port}/openevent/health"
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
                health = json.loads(resp.read())
        except (OSError, ValueError):
            health = {}
        free = shutil.disk_usage(self.data_dir).free
        if health.get("problem"):
            return f"REFUSED: {health['problem']} ({free // 1024} KiB free)"
        return f"journaled, fsync'd before each answer ({free // (1 << 20)} MiB free)"

    def provision(self) -> int:
        from openevent.local.provision import provision
        from openevent.local.snapshot import import_legacy

        provision()
        restored = int(self.restored.get("items", 0)) + int(self.restored.get("objects", 0))
        if self.restored.get("generation") is None and not self.restored.get("replayed"):
            restored += import_legacy(self.data_dir)  # a data dir from before the journal
        from openevent.accounts.users import ensure_super_admin, mark_super_admins
        from openevent.orders import figures as order_counts
        from openevent.platform.list_counts import backfill
        from openevent.settings import get_settings

        backfill()  # list counts of a data directory from before they were kept
        order_counts.backfill()  # the same for the orders of each event, per status
        order_counts.backfill_attendees()  # and for its attendees
        from openevent.orders import sales_regroup

        sales_regroup.backfill()  # and the sales roll-ups of its orders
        settings = get_settings()
        mark_super_admins()  # super admins of a data directory from before their index
        ensure_super_admin(settings.super_admin_email, str(settings.super_admin_password))
        from openevent.platform.settings import enabled_module_names, seed_modules

        self.modules = enabled_module_names(seed_modules(os.environ.get("OPENEVENT_MODULES")))
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
        try:
            self.server = self.gateway.serve("127.0.0.1", self.port)
        except OSError as exc:  # taken since the preflight check
            raise StartupError(f"openevent: port {self.port} on 127.0.0.1 is in use "
                               f"({exc.strerror}). Stop what uses it, or start with "
                               "PORT=<another port>.") from None
        thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        thread.start()
        self.threads.append(thread)
        self.https_server = tls.start(self)

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

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        self.preflight()
        self.configure_environment()
        self.start_guard()
        self.start_moto()
        restored = self.provision()
        if os.environ.get("OPENEVENT_PAYMENT_SANDBOX", "1") != "0":
            self.start_payment_sandboxes()
        self.start_web_app()
        self.start_gateway()
        self.start_events()
        if self.with_lab:
            self.start_lab()
        self.start_supervisor()
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
            f"  API docs     http://127.0.0.1:{self.port}/v1/docs",
            f"  Web app      {self.web_app_line()}",
            *tls.banner_lines(self),
            f"  Lab console  http://127.0.0.1:{self.port}/lab/",
            f"  Check-in     http://127.0.0.1:{self.port}/checkin/  (the scanner page)",
            f"  Admin login  {settings.super_admin_email} / {admin_password}",
            f"  Outbox       {self.data_dir / 'outbox'}  (every sent mail as .eml)",
            f"  Data         {self.data_dir}  ({restored} items restored, "
            f"{self.restored.get('replayed', 0)} journaled writes replayed)",
            *(f"  Recovered    {note}" for note in self.recovery_notes),
            f"  Writes       {self.writes_line()}",
            f"  Embedded AWS moto at http://127.0.0.1:{self.moto_port}",
            f"  Lab          {self.lab_status}",
            f"  Payments     {self.payments_status}",
            f"  Modules      {', '.join(getattr(self, 'modules', [])) or 'none'}"
            "  (OPENEVENT_MODULES at first start; admins change them with PATCH /v1/modules)",
            "  Stop with Ctrl-C.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def start_web_app(self) -> None:
        """The web app's first build, in the background, when the cache has none for the
        pinned source (`openevent.local.webapp`); `/` shows how far it is meanwhile."""
        from openevent.local import webapp

        if not webapp.enabled() or "OPENEVENT_FRONTEND_DIR" in os.environ:
            return
        build = webapp.start_build(webapp.cache_dir() / "build-run.log")
        if build is not None:
            self.web_build = build
            self.watch(build.pid)

    def web_app_line(self) -> str:
        from openevent.local import webapp
        from openevent.local.static import frontend_dir

        built = frontend_dir()
        url = f"{self.web_origin()}/"
        if built is None:
            return "off (OPENEVENT_WEB_APP=0)" if not webapp.enabled() else "not found"
        if getattr(self, "web_build", None) is not None:
            state = ("an older build meanwhile" if (built / "index.html").is_file()
                     else "a progress page meanwhile")
            return (f"{url}  being built (~10 min the first time; {state}; log "
                    f"{webapp.cache_dir() / 'build.log'})")
        return f"{url}  (from {built})"

    def web_origin(self) -> str:
        """The origin a person opens: https when its port is on (`openevent.local.tls`)."""
        return tls.origin(self.port, self.https_port)

    def stop(self) -> None:
        """Drain the API (no new connections; requests in progress finish, new ones on open
        connections get 503; keep-alive connections close), stop the in-process parts, then
        moto (which takes its final snapshot on SIGTERM), then the guard."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        left = tls.drain_all([self.server, self.https_server])
        if left:
            log.warning("%d requests still running at shutdown", left)
        for callback in self.on_stop:
            try:
                callback()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                log.warning("stopping %s failed: %s", callback, exc)
        for thread in self.threads:
            thread.join(timeout=5)
        build = getattr(self, "web_build", None)
        if build is not None and build.poll() is None:  # npm and node run in its group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(build.pid, signal.SIGTERM)
        for child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self.guard is not None:
            if self.guard.stdin is not None:
                self.guard.stdin.close()
            self.guard.wait(timeout=10)
        if self.children:
            print("stopped; data kept in", self.data_dir, flush=True)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m openevent.local",
                                     description="The whole system on this machine.")
    parser.add_argument("--recover", action="store_true",
                        default=os.environ.get("RECOVER", "") not in ("", "0"),
                        help="start from the newest valid snapshot generation and journal "
                             "when the data directory is damaged (damaged files are moved "
                             "aside, not deleted)")
    opts = parser.parse_args(argv)
    from openevent.backend import BackendUnavailable

    limit_malloc_retention()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    data_dir = Path(os.environ.get("OPENEVENT_DATA_DIR", ".openevent")).resolve()
    try:
        port = int(os.environ.get("PORT", "8000"))
    except ValueError:
        print(f"openevent: PORT={os.environ['PORT']!r} is not a port number", file=sys.stderr)
        sys.exit(2)
    runtime = Runtime(data_dir, port, with_lab=os.environ.get("OPENEVENT_LAB", "1") != "0",
                      recover=opts.recover)
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        runtime.start()
        while not stop_requested.wait(3600):
            pass
    except StartupError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        code = 2
    except BackendUnavailable as exc:  # the embedded AWS did not answer the provisioning
        print(f"openevent: the embedded AWS did not answer during the start ({exc}); see "
              f"{data_dir / 'moto.log'}.", file=sys.stderr, flush=True)
        code = 2
    except OSError as exc:  # the machine refused something (a file, a port): one line
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"openevent: cannot start: {exc.strerror or exc}{where}.", file=sys.stderr,
              flush=True)
        log.debug("start failed", exc_info=True)
        code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop
        runtime.stop()
    sys.exit(code)
