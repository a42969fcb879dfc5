"""The lab with its broker down: the contract's 503 (and 422 for a refused string) at once,
never a 500 or a wait for a broker connection that cannot come."""

import pytest
from openevent.lab import relay, store
from openevent.lab.localbroker import free_port

from tests.conftest import error_of


@pytest.fixture
def no_broker(aws, monkeypatch):
    monkeypatch.setenv("OPENEVENT_LAB_BROKER", f"127.0.0.1:{free_port()}")  # nothing listens
    monkeypatch.setattr(relay, "_publisher", None)
    yield
    assert relay._publisher is None  # never built: nothing was sent


@pytest.mark.parametrize("path,body", [("/v1/lab/calls", {"function": "get_voltage('CH1')"}),
                                       ("/v1/lab/examples/multimeter.py/runs", {})])
def test_no_device_and_no_broker_is_503(api, make_user, no_broker, path, body):
    me = make_user()
    resp = api.post_json(path, body, token=me.token)
    assert resp.status == 503
    assert error_of(resp)["source"]["pointer"] == "/device"


def test_a_refused_string_is_422_without_a_broker(api, make_user, no_broker):
    me = make_user()
    resp = api.post_json("/v1/lab/calls", {"function": "get_voltage('CH9')"}, token=me.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/function"


def test_a_device_marked_online_but_an_unreachable_broker_is_503(api, make_user, aws,
                                                                 monkeypatch):
    class Down:
        def publish(self, *args, **kwargs):
            raise TimeoutError("no MQTT connection")

    monkeypatch.setattr(relay, "_publisher", Down())
    store.record_device_status("lab-1", True)
    me = make_user()
    resp = api.post_json("/v1/lab/calls", {"function": "get_resistance()"}, token=me.token)
    assert resp.status == 503
    assert "relay" in error_of(resp)["detail"]
