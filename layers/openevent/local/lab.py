"""Start the lab's local parts: a mosquitto broker, the result relay, a simulated agent, and
the live-stream hub behind the gateway's WebSocket (``/v1/lab/stream``).

The API publishes commands to the broker (`OPENEVENT_LAB_BROKER`); the agent answers on the
result topics; `LocalResultSubscriber` stores results through the same handler that the IoT
topic rule invokes in AWS. Frames from the agent's frames topic go to the stream hub, which
fans them out to the browsers. The device is the simulated one — a real PSLab is never built
here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("openevent.lab.local")
DEVICE_ID = "lab-1"
#: Seconds a stream viewer may stay silent before the stream stops for them.
IDLE_ENV = "OPENEVENT_LAB_STREAM_IDLE"


def start_lab(runtime: Any) -> str:
    """Start broker, relay, agent and stream hub; returns a one-line status for the banner."""
    from openevent.lab.localbroker import LocalBroker, mosquitto_path

    if mosquitto_path() is None:
        return "off (mosquitto is not installed; `make run` installs it)"
    from edge_agent.runner import start_agent
    from openevent.lab.relay import LocalResultSubscriber

    broker = LocalBroker(port=runtime.broker_port, data_dir=runtime.data_dir / "mosquitto")
    broker.start()
    runtime.broker = broker  # supervised (openevent.local.supervisor)
    runtime.on_stop.append(broker.stop)
    subscriber = LocalResultSubscriber(broker.host, broker.port)
    subscriber.start()
    runtime.on_stop.insert(0, subscriber.stop)
    start_stream_hub(runtime, broker.host, broker.port)
    agent = start_agent(DEVICE_ID, broker.host, broker.port)
    runtime.on_stop.insert(0, agent.stop)
    return f"simulated device '{DEVICE_ID}' on MQTT 5 broker {broker.address}"


def start_stream_hub(runtime: Any, host: str, port: int) -> Any:
    """The hub with its own MQTT session (frames and status in, stream commands out), wired
    into the gateway's WebSocket hook and stopped before the gateway drains."""
    from openevent.lab import protocol, streams
    from openevent.lab.mqtt5 import Message, Mqtt5Session
    from openevent.lab.streamhub import DEFAULT_IDLE_SECONDS, StreamHub
    from openevent.local import streams as ws

    holder: dict[str, Any] = {}

    def on_message(message: Message) -> None:
        if message.topic.endswith("/frames"):
            holder["hub"].on_frames_message(message.topic, message.payload)
            return
        try:
            device, _kind = protocol.parse_topic(message.topic)
            online = protocol.decode(message.payload).get("online")
        except protocol.ProtocolError:
            return
        if isinstance(online, bool):
            holder["hub"].on_device_status(device, online)

    session = Mqtt5Session(host, port, client_id=f"openevent-streams-{os.getpid()}",
                           subscriptions=[streams.FRAMES_FILTER, protocol.STATUS_FILTER],
                           on_message=on_message)

    def send_command(device: str, message: dict[str, Any]) -> None:
        session.publish(protocol.cmd_topic(device), protocol.encode(message),
                        correlation_data=message["id"].encode())

    hub = StreamHub(send_command, idle_seconds=float(os.environ.get(
        IDLE_ENV, DEFAULT_IDLE_SECONDS)))
    holder["hub"] = hub
    session.start()
    runtime.stream_hub = hub

    def websocket(handler: Any) -> bool:
        if not ws.is_stream_request(handler.path, handler.headers):
            return False
        ws.serve_websocket(hub, handler)
        return True

    runtime.gateway.websocket = websocket
    if runtime.server is not None:
        runtime.server.before_drain.append(hub.stop)
    runtime.on_stop.insert(0, session.stop)
    runtime.on_stop.insert(0, hub.stop)
    return hub
