"""The lab API end to end: gateway → lab group → real mosquitto → simulated agent → results."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def lab_broker(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from openevent.lab import relay
    from openevent.lab.localbroker import LocalBroker
    from openevent.lab.relay import LocalResultSubscriber

    broker = LocalBroker().start()
    monkeypatch.setenv("OPENEVENT_LAB_BROKER", broker.address)
    monkeypatch.setattr(relay, "_publisher", None)
    subscriber = LocalResultSubscriber(broker.host, broker.port)
    subscriber.start()
    yield broker
    subscriber.stop()
    publisher = relay._publisher
    if publisher is not None and hasattr(publisher, "close"):
        publisher.close()
    broker.stop()


@pytest.fixture
def lab(lab_broker: Any) -> Iterator[Any]:
    """A broker with one simulated agent online (sandbox wall clock cut to 3 s)."""
    from openevent.lab import store

    from edge_agent.runner import start_agent
    from edge_agent.sandbox import SandboxLimits

    agent = start_agent("lab-1", lab_broker.host, lab_broker.port,
                        limits=SandboxLimits(wall_seconds=3.0, cpu_seconds=2))
    deadline = time.monotonic() + 5
    while not any(d.is_online() for d in store.list_devices()):
        assert time.monotonic() < deadline, "agent never came online"
        time.sleep(0.02)
    yield lab_broker
    agent.stop()


def wait_run(api: Any, token: str, run_id: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/v1/lab/runs/{run_id}", token=token).json()
        if body["status"] in ("done", "failed", "timeout") or time.monotonic() > deadline:
            return body  # type: ignore[no-any-return]
        time.sleep(0.1)
