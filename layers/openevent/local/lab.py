"""Start the lab's local parts: a mosquitto broker, the result relay, a simulated agent.

The API publishes commands to the broker (`OPENEVENT_LAB_BROKER`); the agent answers on the
result topics; `LocalResultSubscriber` stores results through the same handler that the IoT
topic rule invokes in AWS. The device is the simulated one — a real PSLab is never built here.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("openevent.lab.local")
DEVICE_ID = "lab-1"


def start_lab(runtime: Any) -> str:
    """Start broker, relay and agent; returns a one-line status for the banner."""
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
    agent = start_agent(DEVICE_ID, broker.host, broker.port)
    runtime.on_stop.insert(0, agent.stop)
    return f"simulated device '{DEVICE_ID}' on MQTT 5 broker {broker.address}"
