"""Relay: submitting calls and runs, and the single path that stores what agents send back."""

import json
import time

import pytest
from openevent.lab import protocol, relay
from openevent.lab.grammar import FunctionStringError


class FakePublisher:
    def __init__(self):
        self.sent = []

    def publish(self, topic, payload, *, correlation_id, response_topic, expiry_seconds):
        self.sent.append((topic, json.loads(payload), correlation_id, response_topic,
                          expiry_seconds))


@pytest.fixture
def online(lab_tables):
    lab_tables.record_device_status("lab-1", True, time.time())
    return lab_tables


def test_submitted_call_is_stored_and_published(online):
    pub = FakePublisher()
    rec = relay.submit_call("u1", "get_voltage('SEN')", pub, ttl=20)
    ((topic, msg, corr, response_topic, expiry),) = pub.sent
    assert (topic, corr, response_topic, expiry) == (
        "lab/v1/lab-1/cmd", rec.id, "lab/v1/lab-1/res", 20)
    assert (msg["kind"], msg["id"], msg["function"]) == ("call", rec.id,
                                                          "get_voltage(channel='RES')")
    assert online.get_call(rec.id).status == "pending"


def test_refused_string_is_neither_stored_nor_sent(online):
    pub = FakePublisher()
    with pytest.raises(FunctionStringError):
        relay.submit_call("u1", "__import__('os').system('id')", pub)
    assert pub.sent == []


def test_call_without_online_device_is_refused(lab_tables):
    with pytest.raises(relay.NoDeviceOnline):
        relay.submit_call("u1", "get_pv1()", FakePublisher())


def test_call_for_unknown_device_is_refused(online):
    with pytest.raises(relay.NoDeviceOnline):
        relay.submit_call("u1", "get_pv1()", FakePublisher(), device_id="lab-2")


def _result(rec_id, device="lab-1", **kw):
    return protocol.encode(protocol.make_call_result(rec_id, device, **kw))


def test_result_message_completes_the_call(online):
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    assert relay.handle_result_message("lab/v1/lab-1/res",
                                       _result(rec.id, status="done", result=1.5)) == "call-done"
    assert online.get_call(rec.id).result == 1.5


def test_redelivered_result_is_a_duplicate(online):
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    relay.handle_result_message("lab/v1/lab-1/res", _result(rec.id, status="done", result=1.5))
    assert relay.handle_result_message(
        "lab/v1/lab-1/res", _result(rec.id, status="done", result=9.9)) == "duplicate"
    assert online.get_call(rec.id).result == 1.5


def test_result_from_another_device_is_dropped(online):
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    assert relay.handle_result_message(
        "lab/v1/lab-2/res", _result(rec.id, "lab-2", status="done", result=1.0)) == "dropped"
    assert online.get_call(rec.id).status == "pending"


@pytest.mark.parametrize("payload", [b"garbage", b'{"v":1,"kind":"call"}', b"{}"])
def test_malformed_result_is_dropped(online, payload):
    assert relay.handle_result_message("lab/v1/lab-1/res", payload) == "dropped"


def test_failed_result_keeps_error(online):
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    relay.handle_result_message("lab/v1/lab-1/res",
                                _result(rec.id, status="failed", error="device error: x"))
    assert online.get_call(rec.id).to_json()["error"] == "device error: x"


def test_run_updates_store_widgets_and_final_status(online):
    pub = FakePublisher()
    run = relay.submit_run("u1", "print(1)", "script:s1", pub)
    assert pub.sent[0][1]["kind"] == "run"
    topic = "lab/v1/lab-1/res"
    w = [{"type": "text", "text": "1"}]
    relay.handle_result_message(topic, protocol.encode(
        protocol.make_run_update(run.id, "lab-1", "running", 0, [])))
    assert online.get_run(run.id).status == "running"
    relay.handle_result_message(topic, protocol.encode(
        protocol.make_run_update(run.id, "lab-1", "done", 1, w, final=True)))
    assert online.run_to_json(online.get_run(run.id)) == {
        "id": run.id, "status": "done", "reason": None, "device": "lab-1",
        "source": run.source, "output": w}


def test_status_message_marks_device_offline(online):
    payload = protocol.encode(protocol.make_status("lab-1", False))
    assert relay.handle_status_message("lab/v1/lab-1/status", payload) == "offline"
    assert online.pick_device() is None


def _rule_event(topic, msg):
    """What the IoT rule hands the Lambda: `SELECT encode(*, 'base64') AS payload,
    topic() AS topic` — the device's bytes wrapped, the topic from the broker."""
    import base64

    raw = msg if isinstance(msg, bytes) else json.dumps(msg).encode()
    return {"payload": base64.b64encode(raw).decode(), "topic": topic}


def test_rule_event_is_routed_by_topic(online):
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    event = _rule_event("lab/v1/lab-1/res", protocol.make_call_result(rec.id, "lab-1", "done",
                                                                      2.0))
    assert relay.handle_rule_event(event) == "call-done"
    assert online.get_call(rec.id).result == 2.0


# --- a lab host answering for another (issue 9, item 18, the relay's half) --------------------

def test_payload_cannot_name_the_topic_it_came_from(online):
    """lab-2 publishes on its own topic a payload that carries `"topic"` naming lab-1's: the
    relay reads the topic the broker saw, never one from the payload."""
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    forged = dict(protocol.make_call_result(rec.id, "lab-1", "done", 666.0),
                  topic="lab/v1/lab-1/res")
    assert relay.handle_rule_event(_rule_event("lab/v1/lab-2/res", forged)) == "dropped"
    assert online.get_call(rec.id).status == "pending"


def test_rule_event_with_payload_fields_spliced_in_is_refused(online):
    """The old rule shape (`SELECT *, topic() AS topic`) merges the device's JSON keys with
    the topic, so a payload key could stand in for the topic: that shape is not accepted."""
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    spliced = dict(protocol.make_call_result(rec.id, "lab-1", "done", 666.0),
                   topic="lab/v1/lab-1/res")
    assert relay.handle_rule_event(spliced) == "dropped"
    assert online.get_call(rec.id).status == "pending"


def test_result_naming_another_device_in_its_payload_is_dropped(online):
    rec = relay.submit_call("u1", "get_pv1()", FakePublisher())
    assert relay.handle_result_message(
        "lab/v1/lab-1/res", _result(rec.id, "lab-2", status="done", result=1.0)) == "dropped"
    assert online.get_call(rec.id).status == "pending"


def test_run_update_from_another_device_is_dropped(online):
    run = relay.submit_run("u1", "print(1)", "script:s1", FakePublisher())
    w = [{"type": "text", "text": "forged"}]
    assert relay.handle_result_message("lab/v1/lab-2/res", protocol.encode(
        protocol.make_run_update(run.id, "lab-2", "done", 0, w, final=True))) == "dropped"
    assert online.run_to_json(online.get_run(run.id))["output"] == []
    assert online.get_run(run.id).status == "queued"


def test_status_rule_event_is_routed_by_topic(online):
    event = _rule_event("lab/v1/lab-1/status", protocol.make_status("lab-1", False))
    assert relay.handle_rule_event(event) == "offline"


def test_iot_data_publisher_publishes_with_mqtt5_properties(lab_tables):
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iotdata.models import iotdata_backends

    pub = relay.IotDataPublisher(client=boto3.client("iot-data", region_name="us-east-1"))
    pub.publish("lab/v1/lab-1/cmd", b'{"v":1}', correlation_id="c1",
                response_topic="lab/v1/lab-1/res", expiry_seconds=30)
    backend = iotdata_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    assert backend.published_payloads[-1] == ("lab/v1/lab-1/cmd", b'{"v":1}')


@pytest.mark.slow
def test_local_runtime_round_trip_through_broker(lab_tables, broker):
    from edge_agent.runner import start_agent

    seen = []
    subscriber = relay.LocalResultSubscriber(broker.host, broker.port,
                                             on_message=lambda t, o: seen.append(o))
    subscriber.start()
    agent = start_agent("lab-1", broker.host, broker.port)
    publisher = relay.MqttPublisher(broker.host, broker.port)
    try:
        deadline = time.monotonic() + 5
        while lab_tables.pick_device() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        rec = relay.submit_call("u1", "set_pv1(1.25)", publisher)
        assert lab_tables.wait_for_call(rec.id, timeout=5).to_json()["result"] == 1.25
        rec = relay.submit_call("u1", "get_pv1()", publisher)
        assert lab_tables.wait_for_call(rec.id, timeout=5).result == 1.25
        assert seen[0] == "online"
    finally:
        publisher.close()
        agent.stop()
        subscriber.stop()


def test_status_naming_another_device_is_dropped(online):
    payload = protocol.encode(protocol.make_status("lab-1", False))
    assert relay.handle_status_message("lab/v1/lab-2/status", payload) == "dropped"
    assert online.pick_device() == "lab-1"
