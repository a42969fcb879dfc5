"""Relay between the lab API and edge agents: publish commands, store what comes back.

Sending (API side)::

    publisher = get_publisher()                       # IoT data plane, or local broker
    rec = submit_call(user_id, "get_voltage('CH1')", publisher)   # parse, store, publish
    rec = store.wait_for_call(rec.id, timeout=10)

Receiving: :func:`handle_result_message` and :func:`handle_status_message` are the single code
path that stores results and device status. In AWS an IoT topic rule invokes the lab Lambda
(:func:`handle_rule_event`) with (:data:`protocol.RULE_SQL`)::

    SELECT encode(*, 'base64') AS payload, topic() AS topic FROM 'lab/v1/+/res'
    SELECT encode(*, 'base64') AS payload, topic() AS topic FROM 'lab/v1/+/status'

The device's bytes arrive wrapped, so no key of its JSON can stand in for the topic: the
device a message speaks for is the one in the topic the broker saw (which the IoT policy lets
only that device publish to), and a result counts only for a call or run sent to that device.

Locally :class:`LocalResultSubscriber` subscribes to the broker and calls the same functions.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol

from openevent.lab import protocol, store
from openevent.lab.grammar import parse_call

log = logging.getLogger(__name__)

#: Env var naming a local MQTT broker ``host:port``; when set, commands go there, not to IoT.
BROKER_ENV = "OPENEVENT_LAB_BROKER"
#: Env var with the AWS IoT data endpoint URL (``https://<id>-ats.iot.<region>.amazonaws.com``).
IOT_ENDPOINT_ENV = "OPENEVENT_IOT_DATA_ENDPOINT"


class NoDeviceOnline(Exception):
    """No edge agent is online (for the requested device): the API answers 503."""


class RelayUnavailable(Exception):
    """The command could not be handed to the broker (or AWS IoT): the API answers 503."""


class Publisher(Protocol):
    """Publishes one command message to a device's command topic."""

    def publish(self, topic: str, payload: bytes, *, correlation_id: str,
                response_topic: str, expiry_seconds: int) -> None: ...


class IotDataPublisher:
    """Publishes through the AWS IoT data plane (boto3 ``iot-data`` Publish, MQTT 5 props)."""

    def __init__(self, client: Any = None, endpoint_url: str | None = None) -> None:
        self._client = client
        self._endpoint_url = endpoint_url or os.environ.get(IOT_ENDPOINT_ENV) or None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "iot-data", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                endpoint_url=self._endpoint_url)
        return self._client

    def publish(self, topic: str, payload: bytes, *, correlation_id: str,
                response_topic: str, expiry_seconds: int) -> None:
        self.client.publish(
            topic=topic, qos=1, payload=payload,
            contentType="application/json", payloadFormatIndicator="UTF8_DATA",
            responseTopic=response_topic,
            # The API wants base64 of the binary correlation data.
            correlationData=base64.b64encode(correlation_id.encode()).decode(),
            messageExpiry=int(expiry_seconds),
        )


class MqttPublisher:
    """Publishes to a local MQTT 5 broker over plain TCP (the local runtime)."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        from openevent.lab.mqtt5 import Mqtt5Session

        self._timeout = timeout
        self._session = Mqtt5Session(host, port, client_id=f"openevent-api-{os.getpid()}-"
                                     f"{store.new_id()[:6]}")
        self._session.start(timeout=timeout)

    def publish(self, topic: str, payload: bytes, *, correlation_id: str,
                response_topic: str, expiry_seconds: int) -> None:
        self._session.publish(topic, payload, correlation_data=correlation_id.encode(),
                              response_topic=response_topic,
                              message_expiry=int(expiry_seconds)).result(self._timeout)

    def close(self) -> None:
        self._session.stop()


_publisher: Publisher | None = None


def get_publisher() -> Publisher:
    """The process-wide publisher: :class:`MqttPublisher` if ``OPENEVENT_LAB_BROKER`` is set
    (``host:port``), else :class:`IotDataPublisher`. Built on first use."""
    global _publisher
    if _publisher is None:
        broker = os.environ.get(BROKER_ENV)
        if broker:
            host, _, port = broker.rpartition(":")
            _publisher = MqttPublisher(host or "127.0.0.1", int(port))
        else:
            _publisher = IotDataPublisher()
    return _publisher


class DeferredPublisher:
    """The process-wide publisher, built only when a command is really sent: a refused string
    or a lab without an online device never waits for (or fails on) a broker connection."""

    def publish(self, topic: str, payload: bytes, *, correlation_id: str,
                response_topic: str, expiry_seconds: int) -> None:
        get_publisher().publish(topic, payload, correlation_id=correlation_id,
                                response_topic=response_topic, expiry_seconds=expiry_seconds)


# ------------------------------------------------------------------ sending


def publish_command(publisher: Publisher, device_id: str, message: dict[str, Any]) -> None:
    """Publish a command built by :mod:`openevent.lab.protocol` to the device."""
    ttl = max(1, int(message["expires_at"] - message["issued_at"]))
    publisher.publish(protocol.cmd_topic(device_id), protocol.encode(message),
                      correlation_id=message["id"],
                      response_topic=protocol.res_topic(device_id), expiry_seconds=ttl)


def submit_call(user_id: str, function: str, publisher: Publisher,
                device_id: str | None = None,
                ttl: float = protocol.DEFAULT_TTL_SECONDS) -> store.CallRecord:
    """Parse ``function``, store a pending call and publish it to an online device.

    Raises FunctionStringError (→ 422, nothing stored or sent), NoDeviceOnline (→ 503), or
    RelayUnavailable (→ 503) when publishing fails; the call is then stored as failed.
    """
    call = parse_call(function)
    target = store.pick_device(device_id)
    if target is None:
        raise NoDeviceOnline(device_id or "any")
    text = call.to_text()
    rec = store.create_call(user_id, target, text, ttl)
    try:
        publish_command(publisher, target,
                        protocol.make_call_command(rec.id, text, ttl))
    except Exception as exc:
        store.complete_call(rec.id, "failed", error="could not relay the call to the device")
        raise RelayUnavailable(f"could not relay the call: {type(exc).__name__}") from exc
    return rec


def submit_run(user_id: str, code: str, source: str, publisher: Publisher,
               device_id: str | None = None,
               ttl: float = protocol.DEFAULT_TTL_SECONDS) -> store.Run:
    """Store a queued run of ``code`` (``source`` = ``script:<id>``/``example:<name>``) and
    publish it. Raises NoDeviceOnline, ProtocolError if the code is too long, or
    RelayUnavailable when publishing fails (the run is then stored as failed)."""
    target = store.pick_device(device_id)
    if target is None:
        raise NoDeviceOnline(device_id or "any")
    run_id = store.new_id()
    message = protocol.make_run_command(run_id, code, ttl)  # checks the size first
    run = store.create_run(user_id, target, source, ttl, run_id=run_id)
    try:
        publish_command(publisher, target, message)
    except Exception as exc:
        store.set_run_status(run.id, "failed", reason="could not relay the run to the device")
        raise RelayUnavailable(f"could not relay the run: {type(exc).__name__}") from exc
    return run


def stop_run(run: store.Run, publisher: Publisher) -> None:
    """Ask the run's device to stop it (the final status then comes back as usual).
    Raises RelayUnavailable when the command cannot be published."""
    message = protocol.make_cancel_command(store.new_id(), run.id)
    try:
        publish_command(publisher, run.device_id, message)
    except Exception as exc:
        raise RelayUnavailable(f"could not relay the stop: {type(exc).__name__}") from exc


# ---------------------------------------------------------------- receiving


def handle_result_message(topic: str, payload: bytes | str | dict[str, Any]) -> str:
    """Store one message from ``lab/v1/<device>/res``. Returns what was done (for logs).

    Idempotent: a redelivered result is ignored, a run chunk is stored once by seq.
    Malformed messages are logged and dropped (raising would only make IoT retry them).
    """
    try:
        device_id, kind = protocol.parse_topic(topic)
        if kind != "res":
            raise protocol.ProtocolError("not a result topic")
        msg = payload if isinstance(payload, dict) else protocol.decode(payload)
        return _apply_result(device_id, msg)
    except protocol.ProtocolError as exc:
        log.warning("dropped lab result on %s: %s", str(topic)[:80], exc)
        return "dropped"


def _apply_result(device_id: str, msg: dict[str, Any]) -> str:
    mid = msg.get("id")
    if not isinstance(mid, str):
        raise protocol.ProtocolError("result without id")
    if msg.get("device", device_id) != device_id:
        raise protocol.ProtocolError("result names another device than its topic")
    kind, status = msg.get("kind"), msg.get("status")
    if kind == "call":
        rec = store.get_call(mid)
        if rec is None or rec.device_id != device_id:
            # Only the device the call was sent to may answer it.
            raise protocol.ProtocolError("result for an unknown call")
        if status == "done":
            applied = store.complete_call(mid, "done", result=msg.get("result"),
                                          downsampled=msg.get("downsampled"))
        elif status == "failed":
            applied = store.complete_call(mid, "failed", error=str(msg.get("error")))
        else:
            raise protocol.ProtocolError("bad call status")
        store.touch_device(device_id)
        return "call-" + status if applied else "duplicate"
    if kind == "run":
        run = store.get_run(mid)
        if run is None or run.device_id != device_id:
            raise protocol.ProtocolError("update for an unknown run")
        seq, widgets = msg.get("seq"), msg.get("widgets") or []
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 \
                or not isinstance(widgets, list):
            raise protocol.ProtocolError("bad run update")
        if widgets:
            store.put_run_output(mid, seq, widgets)
        if status in protocol.RUN_FINAL_STATUSES and msg.get("final"):
            store.set_run_status(mid, str(status), reason=msg.get("reason"), last_seq=seq)
        elif status == "running":
            store.set_run_status(mid, "running")
        else:
            raise protocol.ProtocolError("bad run status")
        store.touch_device(device_id)
        return f"run-{status}"
    raise protocol.ProtocolError("unknown result kind")


def handle_status_message(topic: str, payload: bytes | str | dict[str, Any]) -> str:
    """Store one message from ``lab/v1/<device>/status`` (online/offline)."""
    try:
        device_id, kind = protocol.parse_topic(topic)
        if kind != "status":
            raise protocol.ProtocolError("not a status topic")
        msg = payload if isinstance(payload, dict) else protocol.decode(payload)
        online, at = msg.get("online"), msg.get("at")
        if not isinstance(online, bool):
            raise protocol.ProtocolError("bad status message")
        if msg.get("device", device_id) != device_id:
            raise protocol.ProtocolError("status names another device than its topic")
        agent_time = float(at) if isinstance(at, int | float) and not isinstance(at, bool) \
            else None
        store.record_device_status(device_id, online, agent_time)
        return "online" if online else "offline"
    except protocol.ProtocolError as exc:
        log.warning("dropped lab status on %s: %s", str(topic)[:80], exc)
        return "dropped"


def handle_message(topic: str, payload: bytes | str | dict[str, Any]) -> str:
    """Route a ``res`` or ``status`` message to its handler."""
    if topic.endswith("/status"):
        return handle_status_message(topic, payload)
    return handle_result_message(topic, payload)


def handle_rule_event(event: dict[str, Any]) -> str:
    """Entry point for the IoT topic rule Lambda (:data:`protocol.RULE_SQL`): exactly ``payload``
    (the device's bytes, base64) and ``topic``. Any other shape — e.g. the device's JSON keys
    spliced beside the topic, where a payload key could pose as the topic — is dropped."""
    import binascii

    if not isinstance(event, dict) or set(event) != {"payload", "topic"} \
            or not isinstance(event["topic"], str) or not isinstance(event["payload"], str):
        log.warning("dropped IoT rule event of an unexpected shape")
        return "dropped"
    try:
        raw = base64.b64decode(event["payload"], validate=True)
    except (binascii.Error, ValueError):
        log.warning("dropped IoT rule event with a bad payload on %s", event["topic"][:80])
        return "dropped"
    return handle_message(event["topic"], raw)


class LocalResultSubscriber:
    """Local runtime: subscribe to every device's ``res`` and ``status`` topics on the local
    broker and store what arrives, through the same handlers the IoT rule uses.

    ``on_message(topic, outcome)`` is called after each stored message (optional, for logs).
    """

    def __init__(self, broker_host: str, port: int,
                 on_message: Callable[[str, str], None] | None = None) -> None:
        from openevent.lab.mqtt5 import Mqtt5Session

        self._callback = on_message
        self._session = Mqtt5Session(
            broker_host, port, client_id=f"openevent-results-{store.new_id()[:8]}",
            subscriptions=[protocol.RES_FILTER, protocol.STATUS_FILTER],
            on_message=self._handle)

    def start(self, timeout: float = 10.0) -> None:
        self._session.start(timeout=timeout)

    def stop(self) -> None:
        self._session.stop()

    def _handle(self, message: Any) -> None:
        try:
            outcome = handle_message(message.topic, message.payload)
        except Exception:
            # A store error must not kill the subscriber; the message is lost (QoS 1 acked).
            log.exception("storing lab message from %s failed", message.topic)
            outcome = "error"
        if self._callback is not None:
            self._callback(message.topic, outcome)

