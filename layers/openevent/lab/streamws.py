"""Live lab streams in AWS: the API Gateway WebSocket API's routes and the frame fan-out.

``websocket_handler`` serves ``$connect`` (the JWT checked by :mod:`streamauth`; refused with
401 before the connection exists), ``$disconnect`` and ``$default`` (the browser's ``open``,
``close`` and ``ping`` messages — the same protocol and the same policies as the local hub,
:mod:`openevent.lab.streamhub`, with DynamoDB (:mod:`streamstore`) holding what the hub keeps
in memory). ``frames_handler`` is fed by the IoT rule :data:`streams.FRAMES_RULE_SQL`: it
posts each frame to the device's viewers, renews the stream's lease while viewers remain,
closes viewers whose token expired or who idled, and drops connections that are gone.
Stream commands go to the agent through the IoT data plane (:class:`relay.IotDataPublisher`).

A Lambda cannot hold a slow browser's queue: API Gateway does, and a viewer that stops
reading is disconnected by it; frames are QoS 0 from the device, so nothing waits on them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
from typing import Any

from openevent.errors import ApiError
from openevent.lab import protocol, relay, store, streamauth, streams, streamstore

log = logging.getLogger(__name__)

IDLE_ENV = "OPENEVENT_LAB_STREAM_IDLE"
DEFAULT_IDLE_SECONDS = 300.0
#: ``https://<api id>.execute-api.<region>.amazonaws.com/<stage>`` (set by infra).
ENDPOINT_ENV = "OPENEVENT_LAB_STREAM_ENDPOINT"

_management: Any = None
_publisher: relay.Publisher | None = None


def management(endpoint: str | None = None) -> Any:
    """The ``apigatewaymanagementapi`` client for the WebSocket API's stage."""
    global _management
    if _management is None or endpoint:
        import boto3

        _management = boto3.client(
            "apigatewaymanagementapi", endpoint_url=endpoint or os.environ[ENDPOINT_ENV],
            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return _management


def publisher() -> relay.Publisher:
    global _publisher
    if _publisher is None:
        _publisher = relay.IotDataPublisher()
    return _publisher


def send(connection_id: str, message: dict[str, Any] | bytes) -> bool:
    """Post to one connection; False (and its items removed) if it is gone."""
    data = message if isinstance(message, bytes) else json.dumps(
        message, separators=(",", ":")).encode()
    client = management()
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=data)
        return True
    except client.exceptions.GoneException:
        _forget(connection_id)
        return False


def _command(device: str, message: dict[str, Any]) -> None:
    ttl = max(1, int(message["expires_at"] - message["issued_at"]))
    publisher().publish(protocol.cmd_topic(device), protocol.encode(message),
                        correlation_id=message["id"], response_topic=protocol.res_topic(device),
                        expiry_seconds=ttl)


# ------------------------------------------------------------------ WebSocket routes


def websocket_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    ctx = event.get("requestContext") or {}
    route, cid = ctx.get("routeKey"), ctx.get("connectionId")
    if not isinstance(cid, str):
        return {"statusCode": 400}
    if route == "$connect":
        return _connect(cid, event.get("headers") or {})
    if route == "$disconnect":
        _forget(cid)
        return {"statusCode": 200}
    connection = streamstore.get_connection(cid)
    if connection is None:
        return {"statusCode": 410}
    if connection.token_expires_at is not None and time.time() >= connection.token_expires_at:
        _close(cid, connection, "token expired")
        return {"statusCode": 200}
    streamstore.touch_connection(cid, connection.device)
    _on_message(cid, connection, event.get("body"))
    return {"statusCode": 200}


def _connect(cid: str, headers: dict[str, str]) -> dict[str, Any]:
    try:
        user = streamauth.authenticate(streamauth.token_from_headers(headers))
    except ApiError as exc:
        return {"statusCode": exc.status, "body": exc.detail}
    streamstore.add_connection(cid, user.user_id, user.expires_at)
    offered = ",".join(v for k, v in headers.items() if k.lower() == "sec-websocket-protocol")
    out: dict[str, Any] = {"statusCode": 200}
    if streamauth.SUBPROTOCOL in [p.strip() for p in offered.split(",")]:
        out["headers"] = {"Sec-WebSocket-Protocol": streamauth.SUBPROTOCOL}
    return out


def _on_message(cid: str, connection: streamstore.StreamItem, body: Any) -> None:
    try:
        msg = json.loads(body or "")
    except (TypeError, ValueError):
        msg = None
    action = msg.get("action") if isinstance(msg, dict) else None
    if action == "ping":
        current = streamstore.get_stream(connection.device) if connection.device else None
        if current is not None and current.stream_id and \
                time.time() - float(current.renewed_at or 0) >= streams.LEASE_SECONDS:
            # no frame renewed the lease (the agent restarted?): ask for the loop again
            streamstore.renew_stream(current.device or "", current.stream_id)
            _command(current.device or "", streams.make_open_command(
                current.stream_id, current.instrument or "", current.settings_dict()))
        send(cid, {"kind": "pong"})
    elif action == "close":
        _leave(cid, connection)
        send(cid, {"kind": "stopped", "reason": "stopped by you"})
    elif action == "open":
        _open(cid, connection, msg)
    else:
        send(cid, {"kind": "error", "detail": "'action' must be open, close or ping",
                   "pointer": "/action"})


def _open(cid: str, connection: streamstore.StreamItem, msg: dict[str, Any]) -> None:
    device = msg.get("device")
    try:
        if not isinstance(device, str):
            raise protocol.ProtocolError("no device")
        protocol.check_device_id(device)
        settings = streams.check_settings(msg.get("instrument"), msg.get("settings"))
    except protocol.ProtocolError:
        send(cid, {"kind": "error", "detail": "'device' must be a device id",
                   "pointer": "/device"})
        return
    except streams.SettingsError as exc:
        send(cid, {"kind": "error", "detail": exc.detail, "pointer": exc.pointer})
        return
    instrument = msg["instrument"]
    if store.pick_device(device) is None:
        send(cid, {"kind": "device", "device": device, "online": False,
                   "detail": f"The device {device} is offline"})
        return
    if connection.device and connection.device != device:
        _leave(cid, connection)
    key = streams.settings_key(instrument, settings)
    current = streamstore.get_stream(device)
    if current is None:
        stream_id = store.new_id()
        if streamstore.create_stream(device, stream_id, instrument, settings, key):
            _join(device, connection, stream_id, instrument, settings)
            _command(device, streams.make_open_command(stream_id, instrument, settings))
            return
        current = streamstore.get_stream(device)  # another viewer won the race
        if current is None:
            send(cid, {"kind": "busy", "detail": "The device is being set up; try again"})
            return
    assert current.stream_id is not None and current.instrument is not None
    if current.key == key:
        _join(device, connection, current.stream_id, instrument, settings)
        return
    others = [v for v in streamstore.viewers(device)
              if v.user_id != connection.user_id]
    if not others and streamstore.change_stream(device, current.stream_id, instrument,
                                                settings, key):
        _join(device, connection, current.stream_id, instrument, settings)
        _command(device, streams.make_open_command(current.stream_id, instrument, settings))
        return
    current_settings = current.settings_dict()
    send(cid, {"kind": "busy", "device": device, "viewers": len(others),
               "current": {"instrument": current.instrument, "settings": current_settings},
               "detail": (f"The device is in use by another stream "
                          f"({streams.describe(current.instrument, current_settings)}; "
                          f"{len(others)} watching). Join it to watch the same trace, or try "
                          f"again when it ends.")})


def _join(device: str, connection: streamstore.StreamItem, stream_id: str, instrument: str,
          settings: dict[str, Any]) -> None:
    streamstore.add_viewer(device, connection)
    viewers = streamstore.viewers(device)
    opened = {"kind": "opened", "stream": stream_id, "device": device,
              "instrument": instrument, "settings": settings, "viewers": len(viewers)}
    for v in viewers:
        send(v.connection_id, opened)


def _leave(cid: str, connection: streamstore.StreamItem | None) -> None:
    device = connection.device if connection is not None else None
    if not device:
        return
    streamstore.remove_viewer(device, cid)
    remaining = streamstore.viewers(device)
    current = streamstore.get_stream(device)
    if remaining or current is None or current.stream_id is None:
        return
    if streamstore.delete_stream(device, current.stream_id):
        _command(device, streams.make_close_command(current.stream_id))


def _forget(cid: str) -> None:
    connection = streamstore.get_connection(cid)
    _leave(cid, connection)
    streamstore.remove_connection(cid)


def _close(cid: str, connection: streamstore.StreamItem | None, reason: str) -> None:
    send(cid, {"kind": "closed", "reason": reason})
    _leave(cid, connection)
    try:
        management().delete_connection(ConnectionId=cid)
    except Exception:  # already gone
        log.debug("delete_connection %s failed", cid, exc_info=True)
    streamstore.remove_connection(cid)


# ------------------------------------------------------------------ frames (IoT rule)


def frames_handler(event: dict[str, Any], context: Any = None) -> str:
    """Fan one frames-topic message out to the device's viewers (IoT rule event:
    exactly ``payload`` (base64 of the device's bytes) and ``topic``)."""
    if not isinstance(event, dict) or set(event) != {"payload", "topic"} \
            or not isinstance(event["payload"], str):
        return "dropped"
    try:
        raw = base64.b64decode(event["payload"], validate=True)
        device, msg = streams.decode_frames_message(event["topic"], raw)
    except (binascii.Error, ValueError, protocol.ProtocolError):
        return "dropped"
    current = streamstore.get_stream(device)
    if current is None or current.stream_id != msg["stream"]:
        return "no viewers"
    now = time.time()
    idle = float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_SECONDS))
    delivered = 0
    for viewer in streamstore.viewers(device):
        cid = viewer.connection_id
        if viewer.token_expires_at is not None and now >= viewer.token_expires_at:
            _close(cid, streamstore.get_connection(cid), "token expired")
        elif viewer.last_active is not None and now - viewer.last_active >= idle:
            _close(cid, streamstore.get_connection(cid), "idle")
        elif msg["kind"] == "frame":
            delivered += send(cid, raw)
        elif msg.get("state") == "refused":
            send(cid, {"kind": "busy", "device": device, "detail": "The device is in use by "
                       "another stream; try again when it ends."})
        elif msg.get("state") == "closed" and str(msg.get("reason")).startswith("device"):
            send(cid, {"kind": "stopped", "reason": msg.get("reason")})
    if msg["kind"] == "frame" and delivered and \
            now - float(current.renewed_at or 0) >= streams.LEASE_RENEW:
        streamstore.renew_stream(device, current.stream_id)
        _command(device, streams.make_open_command(current.stream_id, current.instrument or "",
                                                   current.settings_dict()))
    return f"sent to {delivered}"
