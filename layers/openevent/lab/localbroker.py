"""Start a private ``mosquitto`` (Debian package ``mosquitto``) for the local runtime, tests
and benchmarks: MQTT 5 over plain TCP on 127.0.0.1, anonymous, on a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess  # noqa: S404 - starting the broker is the point
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (bind 0, read it back)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mosquitto_path() -> str | None:
    """The mosquitto binary (Debian installs it in /usr/sbin, often not on PATH), or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


class LocalBroker:
    """A mosquitto process listening on ``127.0.0.1:<port>`` (only there)."""

    def __init__(self, port: int | None = None, data_dir: str | Path | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="mosquitto-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 5.0) -> LocalBroker:
        """Start mosquitto and wait until it accepts connections."""
        exe = mosquitto_path() or "mosquitto"
        self._dir.mkdir(parents=True, exist_ok=True)
        conf = self._dir / "mosquitto.conf"
        conf.write_text(f"listener {self.port} {self.host}\nallow_anonymous true\n"
                        "persistence false\nset_tcp_nodelay true\n")
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr \
                    else ""
                raise RuntimeError(f"mosquitto exited: {err.strip()[-300:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.address}")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None

    def exit_code(self) -> int | None:
        """The broker's exit status once it has died unasked (None while running or
        stopped on purpose)."""
        return None if self._proc is None else self._proc.poll()

    def restart(self) -> None:
        """Stop and start again on the same port (drops every session and subscription)."""
        self.stop()
        self.start()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
