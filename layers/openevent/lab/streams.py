"""Live instrument streams: settings, commands and frames (lab protocol v1, stream part).

A viewer opens a stream of one instrument on one device. The cloud side (the local hub,
:mod:`openevent.lab.streamhub`, or the API Gateway WebSocket functions in AWS,
:mod:`openevent.lab.streamws`) sends the agent a ``stream`` command on the device's command
topic; the agent captures continuously while the stream's lease runs and publishes frames on
the device's own frames topic. This module is the single definition of what a valid setting
is and what travels on the wire; it guarantees that every frame it encodes fits in one AWS IoT
message (:data:`protocol.MAX_PAYLOAD_BYTES`, under the 128 KB limit).

Topics (besides ``cmd``/``res``/``status`` of :mod:`openevent.lab.protocol`):

- ``lab/v1/<device>/frames`` agent → cloud, **QoS 0** (a lost frame is replaced by the next
  one: latest wins). Frames and stream state changes.

Stream command (cloud → agent, on ``lab/v1/<device>/cmd``)::

    {"v": 1, "kind": "stream", "id": "<stream id>", "action": "open",
     "instrument": "scope", "settings": {...}, "lease_until": 1764300010.0,
     "issued_at": ..., "expires_at": ...}
    {"v": 1, "kind": "stream", "id": "<stream id>", "action": "close", ...}

``open`` is repeated while viewers remain (it renews the lease); the agent stops capturing
when the lease runs out, so a cloud side that disappears cannot leave a loop running.

Frame (agent → cloud)::

    {"v": 1, "kind": "frame", "stream": "<id>", "device": "lab-1", "seq": 17,
     "instrument": "scope", "captured_at": 1764300000.123, "settings": {...},
     "data": {"t": [µs...], "CH1": [V...]}, "triggered": true, "downsampled": 1}
    {"v": 1, "kind": "frame", ..., "instrument": "meter",
     "data": {"quantity": "voltage", "channel": "CH1", "unit": "V", "value": 1.234}}

Stream state (agent → cloud, same topic)::

    {"v": 1, "kind": "stream-state", "stream": "<id>", "device": "lab-1",
     "state": "open" | "closed", "reason": "closed by the cloud" | "lease expired" | ...,
     "at": ...}
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from openevent.lab import protocol
from openevent.lab.functions import ANALOG_CHANNELS, DIGITAL_CHANNELS, SCOPE_CHANNELS

FRAMES_FILTER = f"{protocol.TOPIC_ROOT}/+/frames"
#: The IoT topic rule that feeds frames to the WebSocket fan-out function in AWS.
FRAMES_RULE_SQL = ("SELECT encode(*, 'base64') AS payload, topic() AS topic "
                   "FROM 'lab/v1/+/frames'")

INSTRUMENTS = ("scope", "meter")
EDGES = ("rising", "falling")
#: Oscilloscope: frames per second the agent may be asked for.
MAX_FPS = 20
#: Multimeter: readings per second.
MAX_RATE = 10
#: A capture must take at most this share of a frame's interval (the device's own limit).
CAPTURE_SHARE = 0.8
#: How long one ``open`` keeps the agent capturing; the cloud renews it every LEASE_RENEW.
LEASE_SECONDS = 8.0
LEASE_RENEW = 2.5

METER_QUANTITIES = {
    # quantity: (unit, channels or None, function string template)
    "voltage": ("V", ANALOG_CHANNELS, "get_voltage(channel={channel!r})"),
    "resistance": ("Ω", None, "get_resistance()"),
    "capacitance": ("F", None, "get_capacitance()"),
    "temperature": ("°C", None, "get_temperature()"),
    "frequency": ("Hz", DIGITAL_CHANNELS, "get_freq(channel={channel!r}, timeout=0.5)"),
}

SCOPE_DEFAULTS: dict[str, Any] = {"channels": ["CH1"], "samples": 1000, "timegap": 2.0,
                                  "trigger": None, "fps": 10}
METER_DEFAULTS: dict[str, Any] = {"quantity": "voltage", "channel": "CH1", "rate": 4}


class SettingsError(ValueError):
    """A setting out of range; ``pointer`` names it (``/settings/samples``)."""

    def __init__(self, detail: str, pointer: str) -> None:
        super().__init__(detail)
        self.detail, self.pointer = detail, pointer


def _number(raw: Any, name: str, low: float, high: float, integer: bool = False) -> float:
    pointer = f"/settings/{name}"
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise SettingsError(f"'{name}' must be a number", pointer)
    if integer and int(raw) != raw:
        raise SettingsError(f"'{name}' must be a whole number", pointer)
    if not low <= raw <= high:
        raise SettingsError(f"'{name}' must be between {low:g} and {high:g}", pointer)
    return int(raw) if integer else float(raw)


def check_settings(instrument: Any, settings: Any) -> dict[str, Any]:
    """Validated, canonical settings of ``instrument`` (defaults filled in); raise
    SettingsError naming the field otherwise. Equal settings give equal :func:`settings_key`."""
    if instrument not in INSTRUMENTS:
        raise SettingsError("'instrument' must be one of scope, meter", "/instrument")
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise SettingsError("'settings' must be an object", "/settings")
    if instrument == "scope":
        return _check_scope({**SCOPE_DEFAULTS, **settings})
    return _check_meter({**METER_DEFAULTS, **settings})


def _check_scope(s: dict[str, Any]) -> dict[str, Any]:
    unknown = set(s) - set(SCOPE_DEFAULTS)
    if unknown:
        raise SettingsError(f"unknown setting '{sorted(unknown)[0]}'",
                            f"/settings/{sorted(unknown)[0]}")
    channels = s["channels"]
    if not isinstance(channels, list) or not channels \
            or any(c not in SCOPE_CHANNELS for c in channels) or len(set(channels)) != len(
                channels):
        raise SettingsError(f"'channels' must be distinct channels of {', '.join(SCOPE_CHANNELS)}",
                            "/settings/channels")
    channels = [c for c in SCOPE_CHANNELS if c in channels]  # canonical order
    max_samples = 2000 if set(channels) <= {"CH1", "CH2"} else 1000
    samples = int(_number(s["samples"], "samples", 10, max_samples, integer=True))
    timegap = _number(s["timegap"], "timegap", 0.5, 1000.0)
    fps = _number(s["fps"], "fps", 0.5, MAX_FPS)
    if samples * timegap * 1e-6 > CAPTURE_SHARE / fps:
        raise SettingsError(f"a capture of {samples} samples every {timegap:g} µs takes longer "
                            f"than a frame at {fps:g} frames/s allows; lower one of them",
                            "/settings/fps")
    trigger = s["trigger"]
    if trigger is not None:
        if not isinstance(trigger, dict) or set(trigger) - {"channel", "level", "edge"}:
            raise SettingsError("'trigger' must be null or {channel, level, edge}",
                                "/settings/trigger")
        t_channel = trigger.get("channel", channels[0])
        if t_channel not in channels:
            raise SettingsError("the trigger channel must be one of the captured channels",
                                "/settings/trigger/channel")
        level = _number(trigger.get("level", 0.0), "trigger/level", -16.0, 16.0)
        edge = trigger.get("edge", "rising")
        if edge not in EDGES:
            raise SettingsError("'edge' must be rising or falling", "/settings/trigger/edge")
        trigger = {"channel": t_channel, "level": level, "edge": edge}
    return {"channels": channels, "samples": samples, "timegap": timegap,
            "trigger": trigger, "fps": fps}


def _check_meter(s: dict[str, Any]) -> dict[str, Any]:
    unknown = set(s) - set(METER_DEFAULTS)
    if unknown:
        raise SettingsError(f"unknown setting '{sorted(unknown)[0]}'",
                            f"/settings/{sorted(unknown)[0]}")
    quantity = s["quantity"]
    if quantity not in METER_QUANTITIES:
        raise SettingsError(f"'quantity' must be one of {', '.join(METER_QUANTITIES)}",
                            "/settings/quantity")
    _unit, channels, _template = METER_QUANTITIES[quantity]
    channel = s["channel"]
    if channels is None:
        channel = None
    elif quantity == "frequency" and channel in ANALOG_CHANNELS:
        channel = "LA1"
    if channels is not None and channel not in channels:
        raise SettingsError(f"'channel' must be one of {', '.join(channels)}",
                            "/settings/channel")
    rate = _number(s["rate"], "rate", 0.2, MAX_RATE)
    return {"quantity": quantity, "channel": channel, "rate": rate}


def settings_key(instrument: str, settings: dict[str, Any]) -> str:
    """One string per distinct (instrument, canonical settings): viewers with equal keys share
    one capture loop."""
    return instrument + ":" + json.dumps(settings, sort_keys=True, separators=(",", ":"))


def frame_interval(instrument: str, settings: dict[str, Any]) -> float:
    """Seconds between two frames."""
    return 1.0 / float(settings["fps"] if instrument == "scope" else settings["rate"])


def describe(instrument: str, settings: dict[str, Any]) -> str:
    """A short human text of a stream, for the busy message."""
    if instrument == "scope":
        window = settings["samples"] * settings["timegap"]
        return (f"oscilloscope on {', '.join(settings['channels'])}, {settings['samples']} "
                f"samples over {window / 1000:g} ms, {settings['fps']:g} frames/s")
    where = f" on {settings['channel']}" if settings.get("channel") else ""
    return f"multimeter, {settings['quantity']}{where}, {settings['rate']:g} readings/s"


# ------------------------------------------------------------------ commands


def make_open_command(stream_id: str, instrument: str, settings: dict[str, Any],
                      now: float | None = None, lease: float = LEASE_SECONDS) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {"v": protocol.VERSION, "kind": "stream", "id": protocol._check_id(stream_id),
            "action": "open", "instrument": instrument, "settings": settings,
            "lease_until": now + lease, "issued_at": now, "expires_at": now + lease}


def make_close_command(stream_id: str, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {"v": protocol.VERSION, "kind": "stream", "id": protocol._check_id(stream_id),
            "action": "close", "issued_at": now, "expires_at": now + LEASE_SECONDS}


def parse_stream_command(msg: dict[str, Any]) -> dict[str, Any]:
    """A decoded ``stream`` command, re-validated (the agent trusts nothing from the broker):
    returns ``{"id", "action", "instrument", "settings", "lease_until"}``."""
    sid, action = msg.get("id"), msg.get("action")
    if not isinstance(sid, str) or not protocol._ID_RE.fullmatch(sid):
        raise protocol.ProtocolError("stream id missing or malformed")
    if action == "close":
        return {"id": sid, "action": "close"}
    if action != "open":
        raise protocol.ProtocolError("stream action must be open or close")
    lease = msg.get("lease_until")
    if isinstance(lease, bool) or not isinstance(lease, int | float):
        raise protocol.ProtocolError("stream open without lease_until")
    try:
        settings = check_settings(msg.get("instrument"), msg.get("settings"))
    except SettingsError as exc:
        raise protocol.ProtocolError(f"bad stream settings: {exc.detail}") from None
    return {"id": sid, "action": "open", "instrument": msg["instrument"], "settings": settings,
            "lease_until": float(lease)}


# -------------------------------------------------------------------- frames


def frames_topic(device_id: str) -> str:
    return f"{protocol.TOPIC_ROOT}/{protocol.check_device_id(device_id)}/frames"


def device_of_frames_topic(topic: str) -> str:
    parts = topic.split("/") if isinstance(topic, str) else []
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != protocol.TOPIC_ROOT \
            or parts[3] != "frames":
        raise protocol.ProtocolError(f"not a frames topic: {str(topic)[:80]!r}")
    return protocol.check_device_id(parts[2])


def make_frame(stream_id: str, device_id: str, seq: int, instrument: str,
               settings: dict[str, Any], data: dict[str, Any], captured_at: float,
               **extra: Any) -> dict[str, Any]:
    return {"v": protocol.VERSION, "kind": "frame", "stream": stream_id, "device": device_id,
            "seq": seq, "instrument": instrument, "captured_at": captured_at,
            "settings": settings, "data": protocol.sanitize(data), **extra}


def make_state(stream_id: str, device_id: str, state: str, reason: str | None = None
               ) -> dict[str, Any]:
    return {"v": protocol.VERSION, "kind": "stream-state", "stream": stream_id,
            "device": device_id, "state": state, "reason": reason, "at": time.time()}


def encode_frame(frame: dict[str, Any]) -> bytes:
    """Compact JSON within :data:`protocol.MAX_PAYLOAD_BYTES`: sample lists are thinned (the
    frame says ``"downsampled": k``) if it would not fit — settings make that rare."""
    data = protocol._dumps(frame)
    if len(data) <= protocol.MAX_PAYLOAD_BYTES:
        return data
    budget = protocol.MAX_PAYLOAD_BYTES - (len(data) - len(protocol._dumps(frame["data"])))
    fitted, k = protocol.fit_result(frame["data"], budget)
    data = protocol._dumps(dict(frame, data=fitted, downsampled=k))
    if len(data) > protocol.MAX_PAYLOAD_BYTES:
        raise protocol.ProtocolError("frame too large")
    return data


def decode_frames_message(topic: str, payload: bytes) -> tuple[str, dict[str, Any]]:
    """``(device, message)`` of a frames-topic message whose ``device`` matches the topic."""
    device = device_of_frames_topic(topic)
    msg = protocol.decode(payload)
    if msg.get("kind") not in ("frame", "stream-state") or msg.get("device") != device \
            or not isinstance(msg.get("stream"), str):
        raise protocol.ProtocolError("not a frame of this device")
    return device, msg
