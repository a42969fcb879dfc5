"""The MQTT protocol between the cloud and an edge agent (version 1).

Topics (``<device>`` is a device id, ``[A-Za-z0-9_-]{1,64}``):

- ``lab/v1/<device>/cmd``    cloud → agent, QoS 1. A command.
- ``lab/v1/<device>/res``    agent → cloud, QoS 1. A call result or a run update.
- ``lab/v1/<device>/status`` agent → cloud, QoS 1, retained. Online/offline (the offline
  message is the agent's MQTT last will).

Every message is one compact JSON object with ``"v": 1`` and a ``"kind"``:

Command, kind ``call``::

    {"v": 1, "kind": "call", "id": "<call id>", "function": "get_voltage(channel='CH1')",
     "issued_at": 1764300000.0, "expires_at": 1764300030.0}

Command, kind ``run`` (run a script in the agent's sandbox)::

    {"v": 1, "kind": "run", "id": "<run id>", "code": "print(get_voltage('CH1'))",
     "issued_at": ..., "expires_at": ...}

Command, kind ``cancel`` (stop a run; ``run`` is its id)::

    {"v": 1, "kind": "cancel", "id": "<cancel id>", "run": "<run id>",
     "issued_at": ..., "expires_at": ...}

Result of a call (``status`` ``done`` or ``failed``; ``error`` only when failed)::

    {"v": 1, "kind": "call", "id": "<call id>", "device": "lab-1", "status": "done",
     "result": 1.234, "finished_at": ..., "downsampled": 2}

Run update (``status`` ``running``, then one final ``done|failed|timeout`` with ``reason``)::

    {"v": 1, "kind": "run", "id": "<run id>", "device": "lab-1", "status": "running",
     "seq": 0, "widgets": [{"type": "text", "text": "hello"}]}
    {"v": 1, "kind": "run", "id": "<run id>", "device": "lab-1", "status": "done",
     "seq": 3, "widgets": [], "final": true, "reason": null}

``seq`` numbers a run's updates from 0; the final update's ``seq`` is the last one, so the
store knows how many chunks make the whole output. Widgets are stored by ``(run, seq)``,
which makes redelivered or reordered updates harmless.

Status::

    {"v": 1, "kind": "status", "device": "lab-1", "online": true, "at": 1764300000.0}

The correlation id (call or run id) is in the payload (``id``) and, where the transport
allows, also in the MQTT 5 correlation data; the payload is authoritative because an IoT
rule may not pass MQTT 5 properties on.

Size limit: AWS IoT refuses messages over 128 KB. We **cap by downsampling** call results:
floats are rounded to 6 significant digits and, if the message is still over
:data:`MAX_PAYLOAD_BYTES`, every sample list is thinned to every k-th point and the result
message says ``"downsampled": k``. Run output is **chunked**: the agent splits widgets over
several updates, each under the limit (see :func:`chunk_widgets`); a single widget that is
itself too big is downsampled (plots) or truncated (text).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

VERSION = 1
TOPIC_ROOT = "lab/v1"
#: AWS IoT's hard limit for one message.
IOT_MESSAGE_LIMIT = 128 * 1024
#: Budget for our JSON payload: leaves room for topic and MQTT 5 properties.
MAX_PAYLOAD_BYTES = 120_000
#: Longest script accepted in a run command (it must fit in one message).
MAX_CODE_BYTES = 64_000
#: Default lifetime of a command before the agent must ignore it.
DEFAULT_TTL_SECONDS = 30

CALL_STATUSES = ("pending", "done", "failed")
RUN_STATUSES = ("queued", "running", "done", "failed", "timeout")
RUN_FINAL_STATUSES = ("done", "failed", "timeout")
WIDGET_TYPES = ("text", "label", "button", "plot")

_DEVICE_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class ProtocolError(ValueError):
    """A message or topic that does not follow this protocol."""


def check_device_id(device_id: str) -> str:
    """Return ``device_id`` if it is safe in a topic (no ``/``, ``+``, ``#``), else raise."""
    if not isinstance(device_id, str) or not _DEVICE_RE.fullmatch(device_id):
        raise ProtocolError("device id must be 1-64 of A-Z a-z 0-9 _ -")
    return device_id


def cmd_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/{check_device_id(device_id)}/cmd"


def res_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/{check_device_id(device_id)}/res"


def status_topic(device_id: str) -> str:
    return f"{TOPIC_ROOT}/{check_device_id(device_id)}/status"


#: Subscription filters for the cloud side.
RES_FILTER = f"{TOPIC_ROOT}/+/res"
STATUS_FILTER = f"{TOPIC_ROOT}/+/status"


#: The AWS IoT topic rules that feed results and status to the lab Lambda. The device's bytes
#: travel base64-wrapped beside the broker's topic, so no key of the device's JSON can pose as
#: the topic (``SELECT *, topic() AS topic`` would splice them together).
RULE_SQL = {
    "res": "SELECT encode(*, 'base64') AS payload, topic() AS topic FROM 'lab/v1/+/res'",
    "status": "SELECT encode(*, 'base64') AS payload, topic() AS topic FROM 'lab/v1/+/status'",
}


def parse_topic(topic: str) -> tuple[str, str]:
    """``lab/v1/<device>/<kind>`` → ``(device, kind)``; raise ProtocolError otherwise."""
    parts = topic.split("/") if isinstance(topic, str) else []
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != TOPIC_ROOT \
            or parts[3] not in ("cmd", "res", "status"):
        raise ProtocolError(f"not a lab topic: {str(topic)[:80]!r}")
    return check_device_id(parts[2]), parts[3]


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    """A command as the agent receives it (not yet validated against the grammar)."""

    kind: str  # "call" | "run"
    id: str
    expires_at: float
    function: str | None = None
    code: str | None = None
    issued_at: float | None = None

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) > self.expires_at


def make_call_command(call_id: str, function: str, ttl: float = DEFAULT_TTL_SECONDS,
                      now: float | None = None) -> dict[str, Any]:
    """A ``call`` command for the canonical function string ``function``."""
    now = time.time() if now is None else now
    return {"v": VERSION, "kind": "call", "id": _check_id(call_id), "function": function,
            "issued_at": now, "expires_at": now + ttl}


def make_run_command(run_id: str, code: str, ttl: float = DEFAULT_TTL_SECONDS,
                     now: float | None = None) -> dict[str, Any]:
    """A ``run`` command carrying a script's source."""
    if len(code.encode()) > MAX_CODE_BYTES:
        raise ProtocolError(f"script is longer than {MAX_CODE_BYTES} bytes")
    now = time.time() if now is None else now
    return {"v": VERSION, "kind": "run", "id": _check_id(run_id), "code": code,
            "issued_at": now, "expires_at": now + ttl}


def make_cancel_command(cancel_id: str, run_id: str, ttl: float = DEFAULT_TTL_SECONDS,
                        now: float | None = None) -> dict[str, Any]:
    """A ``cancel`` command: the agent kills the run ``run_id`` if it runs or waits."""
    now = time.time() if now is None else now
    return {"v": VERSION, "kind": "cancel", "id": _check_id(cancel_id),
            "run": _check_id(run_id), "issued_at": now, "expires_at": now + ttl}


def parse_command(payload: bytes | str) -> Command:
    """Decode a command message; raise ProtocolError if it is malformed."""
    msg = decode(payload)
    kind, cid, expires = msg.get("kind"), msg.get("id"), msg.get("expires_at")
    if kind not in ("call", "run"):
        raise ProtocolError("unknown command kind")
    if not isinstance(cid, str) or not _ID_RE.fullmatch(cid):
        raise ProtocolError("command id missing or malformed")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        raise ProtocolError("command has no expires_at")
    issued = msg.get("issued_at")
    issued_at = float(issued) if isinstance(issued, int | float) else None
    if kind == "call":
        function = msg.get("function")
        if not isinstance(function, str):
            raise ProtocolError("call command has no function string")
        return Command("call", cid, float(expires), function=function, issued_at=issued_at)
    code = msg.get("code")
    if not isinstance(code, str) or len(code.encode()) > MAX_CODE_BYTES:
        raise ProtocolError("run command has no code or it is too long")
    return Command("run", cid, float(expires), code=code, issued_at=issued_at)


# ----------------------------------------------------------------- results


def make_call_result(call_id: str, device_id: str, status: str, result: Any = None,
                     error: str | None = None) -> dict[str, Any]:
    """A call result message (``status`` ``done`` or ``failed``)."""
    if status not in ("done", "failed"):
        raise ProtocolError(f"bad call result status {status!r}")
    msg: dict[str, Any] = {"v": VERSION, "kind": "call", "id": call_id, "device": device_id,
                           "status": status, "finished_at": time.time()}
    if status == "done":
        msg["result"] = sanitize(result)
    else:
        msg["error"] = (error or "failed")[:500]
    return msg


def make_run_update(run_id: str, device_id: str, status: str, seq: int,
                    widgets: list[dict[str, Any]], final: bool = False,
                    reason: str | None = None) -> dict[str, Any]:
    """A run update message: new widgets since the last update, and the run's status."""
    if status not in RUN_STATUSES:
        raise ProtocolError(f"bad run status {status!r}")
    msg: dict[str, Any] = {"v": VERSION, "kind": "run", "id": run_id, "device": device_id,
                           "status": status, "seq": seq, "widgets": widgets, "at": time.time()}
    if final:
        msg["final"] = True
        msg["reason"] = reason[:500] if reason else None
    return msg


def make_status(device_id: str, online: bool, at: float | None = None) -> dict[str, Any]:
    return {"v": VERSION, "kind": "status", "device": device_id, "online": online,
            "at": time.time() if at is None else at}


# ------------------------------------------------------------ encoding/size


def decode(payload: bytes | str) -> dict[str, Any]:
    """JSON object from a payload; raise ProtocolError otherwise."""
    if isinstance(payload, bytes | bytearray):
        if len(payload) > IOT_MESSAGE_LIMIT:
            raise ProtocolError("message too large")
        try:
            payload = bytes(payload).decode()
        except UnicodeDecodeError as exc:
            raise ProtocolError("message is not UTF-8") from exc
    try:
        msg = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("message is not JSON") from exc
    if not isinstance(msg, dict) or msg.get("v") != VERSION:
        raise ProtocolError("not a lab v1 message")
    return msg


def encode(msg: dict[str, Any]) -> bytes:
    """Compact JSON bytes; a call result is downsampled to fit :data:`MAX_PAYLOAD_BYTES`."""
    data = _dumps(msg)
    if len(data) <= MAX_PAYLOAD_BYTES:
        return data
    if msg.get("kind") == "call" and "result" in msg:
        fitted, k = fit_result(msg["result"], MAX_PAYLOAD_BYTES - (len(data)
                                                                  - len(_dumps(msg["result"]))))
        out = dict(msg, result=fitted)
        if k > 1:
            out["downsampled"] = k
        data = _dumps(out)
        if len(data) <= MAX_PAYLOAD_BYTES:
            return data
    raise ProtocolError(f"message of {len(data)} bytes is over the {MAX_PAYLOAD_BYTES} limit")


def sanitize(value: Any) -> Any:
    """JSON-safe copy: non-finite floats → None, floats → 6 significant digits, tuples → lists.

    Also accepts numpy scalars/arrays (anything with ``tolist``) without importing numpy.
    """
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        value = value.tolist()
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(v) for v in value]
    return str(value)


def fit_result(result: Any, budget: int) -> tuple[Any, int]:
    """Thin every list in ``result`` by a stride k until it encodes within ``budget`` bytes.

    Returns ``(result, k)``; k == 1 means unchanged. Lists stay aligned (same stride for all).
    """
    size = len(_dumps(result))
    k = 1
    while size > budget and k < 1_000_000:
        k = max(k + 1, math.ceil(k * size / max(budget, 1)))
        thinned = _thin(result, k)
        size = len(_dumps(thinned))
        if size <= budget:
            return thinned, k
    return (result, 1) if size <= budget else (_thin(result, k), k)


def _thin(value: Any, k: int) -> Any:
    if isinstance(value, dict):
        return {key: _thin(v, k) for key, v in value.items()}
    if isinstance(value, list):
        return value[::k]
    return value


def fit_widget(widget: dict[str, Any], budget: int) -> dict[str, Any]:
    """A widget that encodes within ``budget``: plots are thinned, text is truncated."""
    if len(_dumps(widget)) <= budget:
        return widget
    if widget.get("type") == "plot":
        data = {k: widget.get(k) for k in ("x", "y")}
        fitted, k = fit_result(data, budget - 200)
        return dict(widget, **fitted, downsampled=k)
    out = dict(widget)
    for key in ("text", "label", "function", "target"):
        if isinstance(out.get(key), str) and len(out[key]) > 200:
            out[key] = out[key][: max(budget // 2, 200)] + "…"
    return out if len(_dumps(out)) <= budget else {"type": "text", "text": "[widget too large]"}


def chunk_widgets(widgets: list[dict[str, Any]],
                  budget: int = MAX_PAYLOAD_BYTES - 1000) -> Iterator[list[dict[str, Any]]]:
    """Split widgets into lists that each encode within ``budget`` bytes, order kept."""
    chunk: list[dict[str, Any]] = []
    size = 2
    for w in widgets:
        w = fit_widget(w, budget - 2)
        n = len(_dumps(w)) + 1
        if chunk and size + n > budget:
            yield chunk
            chunk, size = [], 2
        chunk.append(w)
        size += n
    if chunk:
        yield chunk


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _check_id(value: str) -> str:
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise ProtocolError("id must be 1-128 of A-Z a-z 0-9 _ . : -")
    return value
