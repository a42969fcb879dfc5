"""The agent's MQTT 5 connection: a local plain-TCP broker or AWS IoT with mutual TLS.

Both subscribe to ``lab/v1/<device>/cmd`` (again after every reconnect), publish a retained
``online`` status on every connection, and leave a retained ``offline`` status as their last
will. Messages are handed to a worker thread, never handled inside awscrt's callbacks.
"""

from __future__ import annotations

from collections.abc import Callable

from openevent.lab import protocol
from openevent.lab.mqtt5 import Message, Mqtt5Session, TlsFiles, Will

AWS_IOT_PORT = 8883


def agent_session(device_id: str, on_command: Callable[[Message], None],
                  on_connect: Callable[[], None], *, host: str, port: int,
                  tls: TlsFiles | None = None) -> Mqtt5Session:
    """A session for the agent of ``device_id``; ``tls`` selects AWS IoT (mTLS).

    ``on_connect`` runs after each connection success once the command topic is subscribed
    (the agent publishes its ``online`` status there). Call ``start()`` on the result.
    """
    will = Will(protocol.status_topic(device_id),
                protocol.encode(protocol.make_status(device_id, False)), retain=True)
    return Mqtt5Session(
        host, port,
        # AWS IoT policies usually tie the client id to the thing name: use the device id.
        client_id=device_id if tls is not None else f"{device_id}-agent",
        subscriptions=[protocol.cmd_topic(device_id)],
        on_message=on_command, on_connect=on_connect, will=will, tls=tls,
        max_reconnect_delay_ms=5000 if tls is not None else 1000,
        manual_ack=True,  # PUBACK a command once handled: faster replies, see Mqtt5Session
    )
