"""The agent validates every command again, runs it once, and answers on its res topic."""

import json
import queue
import time

import pytest
from openevent.lab import protocol
from openevent.lab.mqtt5 import Message

from edge_agent.agent import Agent
from edge_agent.devices import SimulatedDevice
from tests.lab.hostile import HOSTILE_FUNCTION_STRINGS as HOSTILE


class CountingDevice(SimulatedDevice):
    def __init__(self):
        super().__init__()
        self.calls = []

    def call(self, name, args):
        self.calls.append(name)
        return super().call(name, args)


class Sent:
    def __init__(self):
        self.q = queue.Queue()

    def __call__(self, topic, payload, *, correlation_data=None, retain=False):
        self.q.put((topic, json.loads(payload), correlation_data))

    def next(self, timeout=5):
        return self.q.get(timeout=timeout)


@pytest.fixture
def agent():
    sent = Sent()
    a = Agent("lab-1", CountingDevice(), sent)
    a.start()
    yield a, sent
    a.stop()


def _cmd(cid, function, ttl=30):
    return Message("lab/v1/lab-1/cmd",
                   protocol.encode(protocol.make_call_command(cid, function, ttl)),
                   correlation_data=cid.encode())


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_string_sent_to_the_agent_is_refused(agent, text):
    a, sent = agent
    a.handle_message(_cmd("c1", text))
    topic, msg, corr = sent.next()
    assert (topic, msg["id"], msg["status"], corr) == ("lab/v1/lab-1/res", "c1", "failed",
                                                       b"c1")
    assert a.device.calls == []


def test_valid_call_is_executed_and_answered(agent):
    a, sent = agent
    a.handle_message(_cmd("c1", "set_pv2(1.5)"))
    _, msg, corr = sent.next()
    assert (msg["status"], msg["result"], corr) == ("done", 1.5, b"c1")


def test_duplicate_command_id_runs_once(agent):
    a, sent = agent
    a.handle_message(_cmd("c1", "get_pv1()"))
    a.handle_message(_cmd("c1", "get_pv1()"))
    sent.next()
    a.handle_message(_cmd("c2", "get_pv2()"))  # a fence: answered after any duplicate
    _, msg, _ = sent.next()
    assert msg["id"] == "c2"
    assert a.device.calls == ["get_pv1", "get_pv2"]


def test_expired_command_is_refused(agent):
    a, sent = agent
    a.handle_message(_cmd("c1", "set_pv1(1)", ttl=-1))
    _, msg, _ = sent.next()
    assert (msg["status"], msg["error"]) == ("failed", "the command expired before it ran")
    assert a.device.calls == []


def test_malformed_command_with_an_id_gets_an_error(agent):
    a, sent = agent
    bad = json.dumps({"v": 1, "kind": "call", "id": "c9", "function": "get_pv1()"}).encode()
    a.handle_message(Message("lab/v1/lab-1/cmd", bad))
    _, msg, _ = sent.next()
    assert (msg["id"], msg["status"], msg["error"]) == (
        "c9", "failed", "malformed command: command has no expires_at")


def test_outputs_are_reset_on_start_and_stop():
    device = SimulatedDevice()
    device.call("set_pv1", {"voltage": 3})
    a = Agent("lab-1", device, Sent())
    a.start()
    assert device.pv["pv1"] == 0.0
    device.call("set_pv1", {"voltage": 3})
    a.stop()
    assert device.pv["pv1"] == 0.0


def test_run_command_streams_widgets_then_final_status(agent):
    a, sent = agent
    msg = protocol.make_run_command("r1", "print('a')\nlabel(get_pv1())")
    a.handle_message(Message("lab/v1/lab-1/cmd", protocol.encode(msg)))
    updates = [sent.next(timeout=10)[1]]
    while updates[-1]["status"] == "running":
        updates.append(sent.next(timeout=10)[1])
    # widgets may be flushed in more than one batch on a slow machine (time-based flushes)
    assert [u["seq"] for u in updates] == list(range(len(updates)))
    assert updates[0]["status"] == "running" and updates[-1]["status"] == "done"
    assert [w for u in updates for w in u.get("widgets", [])] == [
        {"type": "text", "text": "a"}, {"type": "label", "text": "0.0"}]


def _round_trip(publisher, results, cid, function):
    cmd = protocol.make_call_command(cid, function)
    publisher.publish(protocol.cmd_topic("lab-1"), protocol.encode(cmd),
                      correlation_data=cid.encode()).result(5)
    while True:
        m = results.get(timeout=5)
        if m.topic.endswith("/res"):
            return m


@pytest.mark.slow
def test_round_trip_through_mosquitto_keeps_correlation(broker):
    from openevent.lab.mqtt5 import Mqtt5Session

    from edge_agent.runner import start_agent

    running = start_agent("lab-1", broker.host, broker.port)
    results = queue.Queue()
    sub = Mqtt5Session(broker.host, broker.port, subscriptions=["lab/v1/lab-1/res"],
                       on_message=results.put)
    sub.start()
    try:
        m = _round_trip(sub, results, "corr-42", "get_voltage('CH1')")
        assert (json.loads(m.payload)["id"], m.correlation_data) == ("corr-42", b"corr-42")
        m = _round_trip(sub, results, "corr-43", "__import__('os').system('id')")
        assert json.loads(m.payload)["status"] == "failed"
    finally:
        sub.stop()
        running.stop()


@pytest.mark.slow
def test_agent_resubscribes_after_broker_restart(broker):
    from openevent.lab.mqtt5 import Mqtt5Session

    from edge_agent.runner import start_agent

    running = start_agent("lab-1", broker.host, broker.port)
    results = queue.Queue()
    sub = Mqtt5Session(broker.host, broker.port, subscriptions=["lab/v1/lab-1/res"],
                       on_message=results.put)
    sub.start()
    try:
        broker.restart()
        deadline = time.monotonic() + 10
        while min(running.session.connections, sub.connections) < 2 \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (running.session.connections, sub.connections) == (2, 2)
        assert running.session.wait_connected(5) and sub.wait_connected(5)
        m = _round_trip(sub, results, "after-restart", "get_pv1()")
        assert json.loads(m.payload)["result"] == 0.0
    finally:
        sub.stop()
        running.stop()


@pytest.mark.slow
def test_last_will_marks_the_device_offline(broker):
    from openevent.lab.mqtt5 import Mqtt5Session

    from edge_agent.runner import start_agent

    running = start_agent("lab-1", broker.host, broker.port)
    status = queue.Queue()
    sub = Mqtt5Session(broker.host, broker.port, subscriptions=["lab/v1/lab-1/status"],
                       on_message=status.put)
    sub.start()
    try:
        assert json.loads(status.get(timeout=5).payload)["online"] is True
        running.agent.stop()
        running.session.stop(disconnect=False)  # as if the agent crashed
        assert json.loads(status.get(timeout=5).payload)["online"] is False
    finally:
        sub.stop()
