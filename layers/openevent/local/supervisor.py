"""Keep the local runtime's children alive: the embedded AWS (moto) and the MQTT broker.

Guarantees:
- A child that dies (kill -9, a crash) is started again on the same port, with a bounded
  backoff between attempts (0.5 s doubling to at most `MAX_DELAY` s; back to 0.5 s once it
  has stayed up for `STABLE_SECONDS`). Nothing restarts while the runtime is stopping.
- moto is restarted from its store (snapshot generation + journal: every acknowledged write
  is there), and the resources that are not journaled (SQS queues, the mail identity, the
  bucket notification) are provisioned again. Meanwhile the API answers 503 with
  `Retry-After` (`openevent.backend`), never a wrong answer.
- While the broker is down, every lab device is stored as offline (the broker can no longer
  deliver the agents' last wills), so lab calls are refused at once with a 503 instead of
  waiting for a relay that is gone; the agents report online again once they reconnect.
- Each event is one line on stderr, starting with `openevent:`.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("openevent.local.supervisor")
FIRST_DELAY = 0.5
MAX_DELAY = 30.0
STABLE_SECONDS = 60.0


def say(line: str) -> None:
    """One line on stderr, never raising (the terminal may be gone)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    log.info("%s", line)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


@dataclass
class Watched:
    """One child: how to tell it died (`exit_code`, None while alive) and how to start it
    again (`restart`, raises on failure); `on_down` runs once per outage, first."""

    name: str
    exit_code: Callable[[], int | None]
    restart: Callable[[], str]
    on_down: Callable[[], None] = lambda: None
    delay: float = FIRST_DELAY
    attempts: int = 0
    down_since: float | None = None
    next_try: float = 0.0
    up_since: float = field(default_factory=time.monotonic)


class Supervisor:
    """Checks every child twice a second from one daemon thread."""

    def __init__(self, stopping: threading.Event) -> None:
        self.stopping = stopping
        self.children: list[Watched] = []
        self.thread = threading.Thread(target=self.run, name="supervisor", daemon=True)

    def watch(self, child: Watched) -> None:
        self.children.append(child)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            for child in self.children:
                try:
                    self.check(child)
                except Exception:  # noqa: BLE001 - the supervisor itself must not die
                    log.exception("supervising %s failed", child.name)

    def check(self, child: Watched) -> None:
        now = time.monotonic()
        if child.down_since is None:
            code = child.exit_code()
            if code is None:
                if now - child.up_since >= STABLE_SECONDS:
                    child.delay = FIRST_DELAY
                return
            if self.stopping.is_set():
                return
            child.down_since = now
            child.next_try = now + child.delay
            say(f"openevent: {child.name} {describe_exit(code)}; restarting it in "
                f"{child.delay:g} s.")
            try:
                child.on_down()
            except Exception as exc:  # noqa: BLE001 - the restart matters more
                log.warning("after %s went down: %s", child.name, exc)
            return
        if now < child.next_try or self.stopping.is_set():
            return
        child.attempts += 1
        try:
            detail = child.restart()
        except Exception as exc:  # noqa: BLE001 - try again after a longer wait
            child.delay = min(MAX_DELAY, child.delay * 2)
            child.next_try = time.monotonic() + child.delay
            say(f"openevent: restarting {child.name} failed ({exc}); next attempt in "
                f"{child.delay:g} s.")
            return
        down = time.monotonic() - child.down_since
        say(f"openevent: {child.name} is back after {down:.1f} s{detail}.")
        child.down_since = None
        child.up_since = time.monotonic()
        child.delay = min(MAX_DELAY, child.delay * 2)  # reset once it has stayed up


def mark_devices_offline() -> int:
    """Store every online lab device as offline (the broker is gone); returns how many."""
    from openevent.lab import store

    marked = 0
    for device in store.list_devices():
        if device.online:
            store.record_device_status(device.id, False)
            marked += 1
    return marked


def relay_lines(stream: Any, log_path: Any, last: list[str]) -> None:
    """Copy a child's stderr to its log file (size-rotated like the API's log, and best
    effort: the disk may be full) and pass its `openevent:` lines on to this process's
    stderr; keeps the last line in `last`."""
    from openevent.log_files import rotating_log

    try:
        handler: logging.Handler | None = rotating_log(log_path)
    except OSError:
        handler = None
    try:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            if line.strip():
                last[:] = [line]
            if line.startswith("openevent:"):
                say(line)
            if handler is not None:
                handler.handle(logging.LogRecord("moto", logging.INFO, "", 0, line, None,
                                                 None))
    finally:
        if handler is not None:
            handler.close()
