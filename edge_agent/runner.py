"""Run an agent in this process (local runtime, tests, benchmarks): simulated by default."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from openevent.lab.mqtt5 import Mqtt5Session

from edge_agent.agent import Agent, SessionPublisher, heartbeat
from edge_agent.devices import Device, SimulatedDevice
from edge_agent.mqtt import agent_session
from edge_agent.sandbox import SandboxLimits


@dataclass
class RunningAgent:
    agent: Agent
    session: Mqtt5Session
    _stop: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Publish offline, stop the workers (device outputs reset) and disconnect."""
        self._stop.set()
        try:
            self.agent.publish_status(False).result(2)
        except Exception:  # noqa: S110 - best effort; the broker's will covers it
            pass
        self.agent.stop()
        self.session.stop()


def start_agent(device_id: str, host: str, port: int, *, device: Device | None = None,
                limits: SandboxLimits | None = None, timeout: float | None = 10.0
                ) -> RunningAgent:
    """Connect an agent for ``device_id`` to the plain-TCP broker ``host:port``.

    With ``timeout`` it waits until subscribed (TimeoutError otherwise); with None it returns
    at once and keeps connecting in the background.
    """
    holder: dict[str, Agent] = {}
    session = agent_session(device_id, lambda m: holder["agent"].handle_message(m),
                            lambda: holder["agent"].publish_status(True), host=host, port=port)
    agent = Agent(device_id, device or SimulatedDevice(), SessionPublisher(session),
                  limits=limits)
    holder["agent"] = agent
    agent.start()
    session.start(timeout=timeout)
    running = RunningAgent(agent, session)
    heartbeat(agent, running._stop)
    return running
