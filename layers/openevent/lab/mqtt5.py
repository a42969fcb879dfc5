"""A small MQTT 5 session on top of ``awscrt.mqtt5`` (imported only when a session is built).

Used by the edge agent and by the local runtime (publishing commands, receiving results).
What it adds to the raw client:

- plain TCP for a local broker (the client is built directly, without ``tls_ctx``: the
  awsiotsdk builders always make a TLS context) or mutual TLS for AWS IoT via
  ``awsiot.mqtt5_client_builder.mtls_from_path``;
- resubscribes on *every* connection success (after a broker restart the clean session,
  and so the subscription, is gone);
- never blocks inside the client's callbacks: received messages and connection events go to
  a queue, and one worker thread hands them to ``on_message``/``on_connect``.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A received publish, as handed to ``on_message``."""

    topic: str
    payload: bytes
    correlation_data: bytes | None = None
    response_topic: str | None = None
    message_expiry: int | None = None
    #: With ``manual_ack`` sessions, QoS 1 messages are acknowledged only when this is called.
    ack: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)


@dataclass(frozen=True)
class TlsFiles:
    """mTLS material for AWS IoT (paths; the files themselves are never read here)."""

    cert: str
    key: str
    ca: str | None = None


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True


def _no_ack() -> None:
    return None


_CONNECTED = object()
_STOP = object()
# Stopped clients stay referenced: awscrt may still finish native callbacks on them, and a
# freed client under a late callback crashes the process. Sessions are few and long-lived.
_RETIRED: list[Any] = []


class Mqtt5Session:
    """One MQTT 5 connection with subscriptions that survive reconnects."""

    def __init__(self, host: str, port: int, *, client_id: str | None = None,
                 subscriptions: Sequence[str] = (),
                 on_message: Callable[[Message], None] | None = None,
                 on_connect: Callable[[], None] | None = None,
                 will: Will | None = None, tls: TlsFiles | None = None,
                 keep_alive: int = 30, max_reconnect_delay_ms: int = 2000,
                 manual_ack: bool = False) -> None:
        self.host, self.port = host, port
        self.client_id = client_id or f"openevent-{uuid.uuid4().hex[:12]}"
        self.subscriptions = list(subscriptions)
        self._on_message = on_message
        self._on_connect = on_connect
        self._will = will
        self._tls = tls
        self._keep_alive = keep_alive
        self._max_reconnect_delay_ms = max_reconnect_delay_ms
        self._manual_ack = manual_ack
        self._events: queue.Queue[Any] = queue.Queue()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._stopped = threading.Event()
        self.connections = 0  # connection successes so far (for tests and logs)
        self._client: Any = None
        self._worker: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout: float | None = 10.0) -> None:
        """Connect; with ``timeout``, wait until connected and subscribed (else TimeoutError)."""
        from awscrt import mqtt5

        options = mqtt5.ClientOptions(
            host_name=self.host,
            port=self.port,
            connect_options=mqtt5.ConnectPacket(
                client_id=self.client_id,
                keep_alive_interval_sec=self._keep_alive,
                will=None if self._will is None else mqtt5.PublishPacket(
                    topic=self._will.topic, payload=self._will.payload,
                    qos=mqtt5.QoS.AT_LEAST_ONCE, retain=self._will.retain),
            ),
            session_behavior=mqtt5.ClientSessionBehaviorType.CLEAN,
            min_reconnect_delay_ms=100,
            max_reconnect_delay_ms=self._max_reconnect_delay_ms,
            on_publish_callback_fn=self._cb_publish,
            on_lifecycle_event_connection_success_fn=self._cb_connected,
            on_lifecycle_event_disconnection_fn=self._cb_disconnected,
            on_lifecycle_event_connection_failure_fn=self._cb_failure,
            on_lifecycle_event_stopped_fn=self._cb_stopped,
        )
        self._stopped.clear()
        if self._tls is None:
            self._client = mqtt5.Client(options)
        else:
            from awsiot import mqtt5_client_builder

            self._client = mqtt5_client_builder.mtls_from_path(
                cert_filepath=self._tls.cert, pri_key_filepath=self._tls.key,
                ca_filepath=self._tls.ca, client_options=options)
        self._worker = threading.Thread(target=self._work, name=f"mqtt5-{self.client_id}",
                                        daemon=True)
        self._worker.start()
        self._client.start()
        if timeout is not None and not self._subscribed.wait(timeout):
            raise TimeoutError(f"no MQTT connection to {self.host}:{self.port}")

    def stop(self, disconnect: bool = True) -> None:
        """Disconnect (normally: the broker then discards the will) and stop the worker.

        ``disconnect=False`` sends a DISCONNECT with a will (reason 0x04), as a crash would.
        """
        if self._client is not None:
            from awscrt import mqtt5

            reason = (mqtt5.DisconnectReasonCode.NORMAL_DISCONNECTION if disconnect
                      else mqtt5.DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE)
            client, self._client = self._client, None
            try:
                client.stop(mqtt5.DisconnectPacket(reason_code=reason))
                # awscrt calls back from its own threads until the client has stopped; freeing
                # the Python client before then crashed the process (seen in tests).
                self._stopped.wait(5)
            except Exception:  # already stopped
                log.debug("mqtt5 stop failed", exc_info=True)
            _RETIRED.append(client)
        self._connected.clear()
        self._events.put(_STOP)
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=5)
        self._worker = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Wait until connected and (re)subscribed."""
        return self._subscribed.wait(timeout)

    # -- publishing --------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False,
                correlation_data: bytes | None = None, response_topic: str | None = None,
                message_expiry: int | None = None,
                content_type: str | None = "application/json") -> Future[Any]:
        """Queue a publish; the returned future completes on PUBACK (QoS 1)."""
        from awscrt import mqtt5

        if self._client is None:
            raise RuntimeError("session not started")
        packet = mqtt5.PublishPacket(
            topic=topic, payload=payload, qos=mqtt5.QoS(qos), retain=retain,
            correlation_data_bytes=correlation_data, response_topic=response_topic,
            message_expiry_interval_sec=message_expiry, content_type=content_type,
            payload_format_indicator=mqtt5.PayloadFormatIndicator.AWS_MQTT5_PFI_UTF8)
        return self._client.publish(packet)

    # -- callbacks: never block here -------------------------------------------------

    def _cb_publish(self, data: Any) -> None:
        p = data.publish_packet
        corr = p.correlation_data_bytes
        ack: Callable[[], None] = _no_ack
        if self._manual_ack and data.acquire_publish_acknowledgement_control is not None:
            ack = self._acker(data.acquire_publish_acknowledgement_control())
        self._events.put(Message(
            topic=p.topic, payload=bytes(p.payload or b""),
            correlation_data=bytes(corr) if corr is not None else None,
            response_topic=p.response_topic, message_expiry=p.message_expiry_interval_sec,
            ack=ack))

    def _acker(self, handle: Any) -> Callable[[], None]:
        done = threading.Event()

        def ack() -> None:
            # Acking after the reply is published lets the reply leave first: awscrt has no
            # TCP_NODELAY, and a lone PUBACK in flight would hold the reply back (Nagle +
            # the broker's delayed ACK, ~40 ms).
            client = self._client
            if client is None or done.is_set():
                return
            done.set()
            try:
                client.invoke_publish_acknowledgement(handle)
            except Exception:
                log.debug("late PUBACK failed (connection gone?)", exc_info=True)

        return ack

    def _cb_connected(self, data: Any) -> None:
        self._connected.set()
        self._events.put(_CONNECTED)

    def _cb_disconnected(self, data: Any) -> None:
        self._connected.clear()
        self._subscribed.clear()

    def _cb_stopped(self, data: Any) -> None:
        self._stopped.set()

    def _cb_failure(self, data: Any) -> None:
        log.debug("mqtt5 connection to %s:%s failed: %s", self.host, self.port,
                  getattr(data, "exception", None))

    # -- worker -----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._events.get()
            if item is _STOP:
                return
            try:
                if item is _CONNECTED:
                    self._after_connect()
                elif self._on_message is not None:
                    self._on_message(item)
            except Exception:
                log.exception("mqtt5 handler failed")

    def _after_connect(self) -> None:
        from awscrt import mqtt5

        self.connections += 1
        client = self._client
        if client is None:
            return
        if self.subscriptions:
            future = client.subscribe(mqtt5.SubscribePacket(subscriptions=[
                mqtt5.Subscription(topic_filter=t, qos=mqtt5.QoS.AT_LEAST_ONCE)
                for t in self.subscriptions]))
            try:
                future.result(timeout=10)
            except Exception:
                log.warning("subscribe after connect failed", exc_info=True)
                return
        self._subscribed.set()
        if self._on_connect is not None:
            self._on_connect()
