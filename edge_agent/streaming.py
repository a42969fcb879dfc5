"""The agent's capture loop for live streams (see :mod:`openevent.lab.streams`).

Guarantees: at most one capture loop per device at a time; every capture goes through the
agent's ``execute`` (the lab grammar's allow-list and the device lock, so calls and script runs
interleave with frames); a loop ends when the cloud closes its stream, when its lease is not
renewed in time (a vanished cloud side cannot leave the device capturing), or when the agent
stops. An ``open`` for another stream while one runs is refused with a ``stream-state``
"refused" message: the cloud decides who may change a device's settings, never a race on the
agent. Frames are published with QoS 0 on the device's own frames topic; each is encoded
within the IoT message limit by :func:`streams.encode_frame`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from openevent.lab import protocol, streams

log = logging.getLogger(__name__)

PublishFrame = Callable[[str, bytes], Any]


def _capture_call(channels: list[str], samples: int, timegap: float) -> str:
    if len(channels) == 1:
        return f"capture1(channel={channels[0]!r}, samples={samples}, timegap={timegap!r})"
    if set(channels) <= {"CH1", "CH2"}:
        return f"capture2(samples={samples}, timegap={timegap!r})"
    return f"capture4(samples={samples}, timegap={timegap!r})"


def find_trigger(values: list[float], level: float, edge: str, window: int) -> int | None:
    """First index i ≤ len(values) - window where the signal crosses ``level`` on ``edge``."""
    last = len(values) - window
    for i in range(1, last + 1):
        a, b = values[i - 1], values[i]
        if a is None or b is None:
            continue
        if (edge == "rising" and a < level <= b) or (edge == "falling" and a > level >= b):
            return i
    return None


def scope_frame(execute: Callable[[str], Any], settings: dict[str, Any]
                ) -> tuple[dict[str, Any], bool]:
    """One oscilloscope capture per ``settings``: ``(data, triggered)``. With a trigger, twice
    the samples are captured (within the function's limit) and the window starts at the first
    crossing; without a crossing the frame is shown untriggered (auto mode)."""
    channels, n, tg = settings["channels"], settings["samples"], settings["timegap"]
    trigger = settings.get("trigger")
    limit = 2000 if set(channels) <= {"CH1", "CH2"} else 1000
    total = min(limit, 2 * n) if trigger else n
    raw = execute(_capture_call(channels, total, tg))
    start, triggered = 0, False
    if trigger:
        found = find_trigger(raw[trigger["channel"]], trigger["level"], trigger["edge"], n)
        if found is not None:
            start, triggered = found, True
    t0 = raw["t"][start]
    data = {"t": [round(x - t0, 6) for x in raw["t"][start:start + n]]}
    for ch in channels:
        data[ch] = raw[ch][start:start + n]
    return data, triggered


def meter_reading(execute: Callable[[str], Any], settings: dict[str, Any]) -> dict[str, Any]:
    unit, _channels, template = streams.METER_QUANTITIES[settings["quantity"]]
    value = execute(template.format(channel=settings["channel"]))
    return {"quantity": settings["quantity"], "channel": settings["channel"], "unit": unit,
            "value": value}


class _Loop:
    def __init__(self, stream_id: str, instrument: str, settings: dict[str, Any],
                 lease_until: float) -> None:
        self.id = stream_id
        self.instrument = instrument
        self.settings = settings
        self.lease_until = lease_until
        self.stop = threading.Event()
        self.reason = "stopped"
        self.thread: threading.Thread | None = None
        self.frames = 0


class StreamRunner:
    """Runs the capture loop of the device's one open stream."""

    def __init__(self, device_id: str, execute: Callable[[str], Any],
                 publish: PublishFrame, clock: Callable[[], float] = time.time) -> None:
        self.device_id = device_id
        self._execute = execute
        self._publish = publish
        self._clock = clock
        self._lock = threading.Lock()
        self._loop: _Loop | None = None
        self.loops_started = 0  # for tests and logs
        self.refused = 0

    @property
    def active(self) -> dict[str, Any] | None:
        """The running loop (id, instrument, settings, frames), or None."""
        loop = self._loop
        if loop is None or loop.stop.is_set():
            return None
        return {"id": loop.id, "instrument": loop.instrument, "settings": loop.settings,
                "frames": loop.frames}

    def handle(self, message: dict[str, Any]) -> None:
        """Apply one decoded ``stream`` command (raises ProtocolError if malformed)."""
        cmd = streams.parse_stream_command(message)
        with self._lock:
            loop = self._loop
            running = loop is not None and not loop.stop.is_set()
            if cmd["action"] == "close":
                if running and loop is not None and loop.id == cmd["id"]:
                    self._end(loop, "closed by the cloud")
                return
            if running and loop is not None and loop.id == cmd["id"]:
                # Renewed lease, maybe new settings from the stream's only viewer.
                loop.settings, loop.instrument = cmd["settings"], cmd["instrument"]
                loop.lease_until = max(loop.lease_until, cmd["lease_until"])
                return
            if running and loop is not None and self._clock() < loop.lease_until:
                self.refused += 1
                self._send(streams.make_state(cmd["id"], self.device_id, "refused",
                                              f"the device is streaming {loop.id}"))
                return
            if running and loop is not None:
                self._end(loop, "lease expired")
            if self._clock() >= cmd["lease_until"]:
                return  # stale open (redelivered after its lease)
            new = _Loop(cmd["id"], cmd["instrument"], cmd["settings"], cmd["lease_until"])
            new.thread = threading.Thread(target=self._run, args=(new,),
                                          name=f"stream-{cmd['id'][:12]}", daemon=True)
            self._loop = new
            self.loops_started += 1
            new.thread.start()

    def stop(self) -> None:
        """End the running loop (agent shutdown) and wait for it."""
        with self._lock:
            loop = self._loop
            if loop is not None:
                self._end(loop, "agent stopping")
        if loop is not None and loop.thread is not None:
            loop.thread.join(timeout=5)

    def _end(self, loop: _Loop, reason: str) -> None:
        if not loop.stop.is_set():
            loop.reason = reason
            loop.stop.set()

    def _run(self, loop: _Loop) -> None:
        self._send(streams.make_state(loop.id, self.device_id, "open"))
        seq = 0
        next_at = time.monotonic()
        try:
            while not loop.stop.is_set():
                if self._clock() >= loop.lease_until:
                    self._end(loop, "lease expired")
                    break
                instrument, settings = loop.instrument, loop.settings
                started = time.monotonic()
                try:
                    frame = self._capture(loop.id, seq, instrument, settings)
                except Exception as exc:  # a device error ends the stream, visibly
                    log.warning("stream %s capture failed: %s", loop.id, exc)
                    self._end(loop, f"device error: {exc}"[:200])
                    break
                try:
                    self._publish(streams.frames_topic(self.device_id),
                                  streams.encode_frame(frame))
                except Exception:
                    log.warning("stream %s: frame not published", loop.id, exc_info=True)
                seq += 1
                loop.frames = seq
                interval = streams.frame_interval(instrument, settings)
                next_at = max(next_at + interval, started)
                loop.stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            self._send(streams.make_state(loop.id, self.device_id, "closed", loop.reason))
            with self._lock:
                if self._loop is loop:
                    self._loop = None

    def _capture(self, stream_id: str, seq: int, instrument: str,
                 settings: dict[str, Any]) -> dict[str, Any]:
        captured_at = self._clock()
        if instrument == "scope":
            data, triggered = scope_frame(self._execute, settings)
            return streams.make_frame(stream_id, self.device_id, seq, instrument, settings,
                                      data, captured_at, triggered=triggered)
        return streams.make_frame(stream_id, self.device_id, seq, instrument, settings,
                                  meter_reading(self._execute, settings), captured_at)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self._publish(streams.frames_topic(self.device_id), protocol.encode(message))
        except Exception:
            log.warning("stream state not published", exc_info=True)
