"""Fan a device's live frames out to its viewers (the local runtime's stream server).

Guarantees:

- **One capture loop per device.** Viewers asking for the same instrument and settings share
  one stream (one loop on the agent, its frames fanned out). A viewer asking for *different*
  settings while the device streams for another user is answered ``busy`` (with what the
  device is doing and how many watch) — never queued, and the first user's trace never
  changes under them. They may join the running stream instead. The only exception: when
  every viewer of the stream is the asking user (their own other tab), the settings change.
- **Latest wins.** Each viewer has one slot for the newest frame, filled by the MQTT worker
  without blocking and emptied by the viewer's own sender thread; a slow browser overwrites
  its slot (counted as dropped) and never grows a queue or slows anyone else.
- **Streams end** when the last viewer leaves (a ``close`` command to the agent), when a
  viewer's token expires (close code 4001), after ``idle_seconds`` without a message from the
  viewer (4002), and when the hub stops; the agent's lease ends a loop the hub forgets.

Browser messages (JSON text frames) are documented in ``docs/lab-streams.md``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openevent.lab import protocol, store, streams

log = logging.getLogger(__name__)

#: A stream stops for a viewer who sent nothing (not even a ping) for this long.
DEFAULT_IDLE_SECONDS = 300.0
#: Most viewers one device may have at once.
MAX_VIEWERS_PER_DEVICE = 100
CLOSE_TOKEN_EXPIRED = 4001
CLOSE_IDLE = 4002
CLOSE_SHUTDOWN = 1001
_CLOSE = object()


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


class Viewer:
    """One browser connection: a control queue that is never dropped and a one-frame slot."""

    def __init__(self, connection: Any, user_id: str, token_expires_at: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.connection = connection  # websockets.sync Connection (send/recv/close)
        self.user_id = user_id
        self.token_expires_at = token_expires_at
        self.last_active = time.monotonic()
        self.stream: Stream | None = None
        self.sent = 0
        self.dropped = 0
        self.closed = threading.Event()
        self._cond = threading.Condition()
        self._controls: list[Any] = []
        self._frame: bytes | None = None
        self._sender = threading.Thread(target=self._send_loop, name="stream-viewer",
                                        daemon=True)
        self._sender.start()

    def offer(self, frame: bytes) -> None:
        """Put the newest frame in the slot; never blocks on the network."""
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify()

    def control(self, message: dict[str, Any]) -> None:
        with self._cond:
            self._controls.append(_dumps(message))
            self._cond.notify()

    def close(self, code: int, reason: str) -> None:
        """Send a last ``closed`` message, then close the WebSocket with ``code``."""
        with self._cond:
            self._controls.append(_dumps({"kind": "closed", "reason": reason}))
            self._controls.append((_CLOSE, code, reason))
            self._cond.notify()

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not self._controls and self._frame is None and not self.closed.is_set():
                    self._cond.wait()
                if self.closed.is_set():
                    return
                item: Any
                if self._controls:
                    item = self._controls.pop(0)
                else:
                    item, self._frame = self._frame, None
            try:
                if isinstance(item, tuple):
                    self.connection.close(item[1], item[2])
                    self.closed.set()
                    return
                self.connection.send(item.decode() if isinstance(item, bytes) else item)
                if isinstance(item, bytes):
                    self.sent += 1
            except Exception:  # the connection is gone; the receive loop cleans up
                self.closed.set()
                return

    def stop(self) -> None:
        self.closed.set()
        with self._cond:
            self._cond.notify()


@dataclass
class Stream:
    id: str
    device: str
    instrument: str
    settings: dict[str, Any]
    viewers: set[Viewer] = field(default_factory=set)
    renewed: float = 0.0

    @property
    def key(self) -> str:
        return streams.settings_key(self.instrument, self.settings)

    def opened_message(self) -> dict[str, Any]:
        return {"kind": "opened", "stream": self.id, "device": self.device,
                "instrument": self.instrument, "settings": self.settings,
                "viewers": len(self.viewers)}


class StreamHub:
    """Streams of every device. ``send_command(device, message)`` publishes a stream command
    on the device's command topic; :meth:`on_frames_message` takes what the agent publishes
    on its frames topic; :meth:`serve` runs one viewer's connection until it ends."""

    def __init__(self, send_command: Callable[[str, dict[str, Any]], None], *,
                 idle_seconds: float = DEFAULT_IDLE_SECONDS,
                 device_online: Callable[[str], bool] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._send_command = send_command
        self.idle_seconds = idle_seconds
        self._device_online = device_online or (lambda d: store.pick_device(d) is not None)
        self._clock = clock
        self._lock = threading.RLock()
        self.streams: dict[str, Stream] = {}
        self.viewers: set[Viewer] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._maintain, name="stream-hub", daemon=True)
        self._thread.start()

    # -- a viewer's connection ------------------------------------------------------------

    def serve(self, connection: Any, user_id: str, token_expires_at: float) -> Viewer:
        """Run one viewer until its connection ends (blocks the calling thread)."""
        viewer = Viewer(connection, user_id, token_expires_at, self._clock)
        with self._lock:
            self.viewers.add(viewer)
        viewer.control({"kind": "hello", "user": user_id, "limits": {
            "max_fps": streams.MAX_FPS, "max_rate": streams.MAX_RATE,
            "idle_seconds": self.idle_seconds, "token_expires_at": token_expires_at}})
        try:
            for raw in connection:
                viewer.last_active = time.monotonic()
                self._on_viewer_message(viewer, raw)
        except Exception:  # noqa: S110 - a dropped connection ends the loop like a close
            pass
        finally:
            self._leave(viewer)
            viewer.stop()
            with self._lock:
                self.viewers.discard(viewer)
        return viewer

    def _on_viewer_message(self, viewer: Viewer, raw: Any) -> None:
        try:
            msg = json.loads(raw)
        except (TypeError, ValueError):
            viewer.control({"kind": "error", "detail": "messages must be JSON objects",
                            "pointer": ""})
            return
        action = msg.get("action") if isinstance(msg, dict) else None
        if action == "open":
            self._open(viewer, msg)
        elif action == "close":
            self._leave(viewer)
            viewer.control({"kind": "stopped", "reason": "stopped by you"})
        elif action == "ping":
            viewer.control({"kind": "pong"})
        else:
            viewer.control({"kind": "error", "detail": "'action' must be open, close or ping",
                            "pointer": "/action"})

    def _open(self, viewer: Viewer, msg: dict[str, Any]) -> None:
        device = msg.get("device")
        try:
            if not isinstance(device, str):
                raise protocol.ProtocolError("no device")
            protocol.check_device_id(device)
        except protocol.ProtocolError:
            viewer.control({"kind": "error", "detail": "'device' must be a device id",
                            "pointer": "/device"})
            return
        try:
            settings = streams.check_settings(msg.get("instrument"), msg.get("settings"))
        except streams.SettingsError as exc:
            viewer.control({"kind": "error", "detail": exc.detail, "pointer": exc.pointer})
            return
        instrument = msg["instrument"]
        if not self._device_online(device):
            viewer.control({"kind": "device", "device": device, "online": False,
                            "detail": f"The device {device} is offline"})
            return
        key = streams.settings_key(instrument, settings)
        with self._lock:
            current = self.streams.get(device)
            if viewer.stream is not None and viewer.stream is not current:
                self._leave(viewer)  # watching another device
            if current is None:
                current = Stream(store.new_id(), device, instrument, settings)
                self.streams[device] = current
                self._join(viewer, current)
                self._renew(current)
                return
            if current.key == key:
                self._join(viewer, current)
                return
            if all(v.user_id == viewer.user_id for v in current.viewers):
                # Only the asking user watches: their change of settings is theirs to make.
                current.viewers.add(viewer)
                viewer.stream = current
                self._reconfigure(current, instrument, settings)
                return
            if len(current.viewers) >= MAX_VIEWERS_PER_DEVICE:
                viewer.control({"kind": "busy", "detail": "Too many viewers on this device"})
                return
            viewer.control({
                "kind": "busy", "device": device, "viewers": len(current.viewers),
                "current": {"instrument": current.instrument, "settings": current.settings},
                "detail": (f"The device is in use by another stream "
                           f"({streams.describe(current.instrument, current.settings)}; "
                           f"{len(current.viewers)} watching). Join it to watch the same "
                           f"trace, or try again when it ends.")})

    def _join(self, viewer: Viewer, stream: Stream) -> None:
        stream.viewers.add(viewer)
        viewer.stream = stream
        for v in stream.viewers:
            v.control(stream.opened_message())

    def _reconfigure(self, stream: Stream, instrument: str, settings: dict[str, Any]) -> None:
        stream.instrument, stream.settings = instrument, settings
        self._renew(stream)
        for v in stream.viewers:
            v.control(stream.opened_message())

    def _leave(self, viewer: Viewer) -> None:
        with self._lock:
            stream, viewer.stream = viewer.stream, None
            if stream is None:
                return
            stream.viewers.discard(viewer)
            if stream.viewers:
                for v in stream.viewers:
                    v.control({"kind": "viewers", "stream": stream.id,
                               "viewers": len(stream.viewers)})
                return
            if self.streams.get(stream.device) is stream:
                del self.streams[stream.device]
        self._command(stream.device, streams.make_close_command(stream.id))

    def _renew(self, stream: Stream) -> None:
        stream.renewed = time.monotonic()
        self._command(stream.device, streams.make_open_command(
            stream.id, stream.instrument, stream.settings, now=self._clock()))

    def _command(self, device: str, message: dict[str, Any]) -> None:
        try:
            self._send_command(device, message)
        except Exception:
            log.warning("stream command to %s not sent", device, exc_info=True)

    # -- from the agent ----------------------------------------------------------------------

    def on_frames_message(self, topic: str, payload: bytes) -> None:
        """A frame or stream-state message from a device (the MQTT worker; never blocks)."""
        try:
            device, msg = streams.decode_frames_message(topic, payload)
        except protocol.ProtocolError as exc:
            log.debug("dropped frames message: %s", exc)
            return
        with self._lock:
            stream = self.streams.get(device)
            if stream is None or msg["stream"] != stream.id:
                return
            viewers = list(stream.viewers)
        if msg["kind"] == "frame":
            for v in viewers:
                v.offer(payload)
            return
        state, reason = msg.get("state"), msg.get("reason")
        if state == "refused":
            for v in viewers:
                v.control({"kind": "busy", "device": device, "detail": "The device is in use "
                           "by another stream; try again when it ends."})
        elif state == "closed" and isinstance(reason, str) and reason.startswith("device"):
            for v in viewers:
                v.control({"kind": "stopped", "reason": reason})

    def on_device_status(self, device: str, online: bool) -> None:
        """Tell a device's viewers that it went offline (or is back)."""
        with self._lock:
            stream = self.streams.get(device)
            viewers = list(stream.viewers) if stream else []
        for v in viewers:
            v.control({"kind": "device", "device": device, "online": online,
                       "detail": None if online else f"The device {device} is offline"})

    # -- leases, token expiry, idle limit ----------------------------------------------------

    def _maintain(self) -> None:
        while not self._stopping.wait(0.5):
            try:
                self.maintain()
            except Exception:
                log.exception("stream hub maintenance failed")

    def maintain(self) -> None:
        """Renew the leases of streams with viewers; end expired and idle viewers."""
        now, mono = self._clock(), time.monotonic()
        with self._lock:
            viewers = list(self.viewers)
            due = [s for s in self.streams.values()
                   if s.viewers and mono - s.renewed >= streams.LEASE_RENEW]
        for v in viewers:
            if v.closed.is_set():
                continue
            if now >= v.token_expires_at:
                self._leave(v)
                v.close(CLOSE_TOKEN_EXPIRED, "token expired")
            elif mono - v.last_active >= self.idle_seconds:
                self._leave(v)
                v.close(CLOSE_IDLE, "idle")
        for s in due:
            self._renew(s)

    def stop(self) -> None:
        """Close every viewer and stream (the runtime is stopping)."""
        self._stopping.set()
        with self._lock:
            viewers = list(self.viewers)
        for v in viewers:
            self._leave(v)
            v.close(CLOSE_SHUTDOWN, "server stopping")
        for v in viewers:
            v.closed.wait(2)
