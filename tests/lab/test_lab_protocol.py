"""Topics, message shapes and the 128 KB cap."""

import json

import pytest
from openevent.lab import protocol


def test_topics_are_versioned_per_device():
    assert protocol.cmd_topic("lab-1") == "lab/v1/lab-1/cmd"
    assert protocol.res_topic("lab-1") == "lab/v1/lab-1/res"
    assert protocol.status_topic("lab-1") == "lab/v1/lab-1/status"
    assert protocol.parse_topic("lab/v1/lab-1/res") == ("lab-1", "res")


@pytest.mark.parametrize("device", ["lab/1", "+", "#", "", "a" * 65])
def test_device_id_with_topic_characters_is_refused(device):
    with pytest.raises(protocol.ProtocolError):
        protocol.cmd_topic(device)


def test_call_command_round_trips():
    msg = protocol.make_call_command("c1", "get_voltage(channel='CH1')", ttl=30, now=1000.0)
    cmd = protocol.parse_command(protocol.encode(msg))
    assert cmd == protocol.Command("call", "c1", 1030.0, function="get_voltage(channel='CH1')",
                                   issued_at=1000.0)
    assert cmd.expired(now=1030.5) is True
    assert cmd.expired(now=1029.0) is False


@pytest.mark.parametrize("payload", [b"not json", b"[]", b'{"v": 2}',
                                     b'{"v":1,"kind":"call","id":"x"}',
                                     b'{"v":1,"kind":"shell","id":"x","expires_at":1}',
                                     b'{"v":1,"kind":"call","id":"a/b","expires_at":1,'
                                     b'"function":"get_pv1()"}'])
def test_malformed_command_is_refused(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_command(payload)


def test_big_capture_result_is_downsampled_under_the_limit():
    n = 10_000
    result = {"t": [i * 0.123456789 for i in range(n)],
              "CH1": [1.23456789 + i for i in range(n)], "CH2": [-3.3] * n}
    data = protocol.encode(protocol.make_call_result("c1", "lab-1", "done", result))
    msg = json.loads(data)
    assert len(data) <= protocol.MAX_PAYLOAD_BYTES
    k = msg["downsampled"]
    assert k >= 2
    assert len(msg["result"]["t"]) == len(msg["result"]["CH1"]) == len(range(0, n, k))
    assert msg["result"]["CH1"][1] == float(f"{1.23456789 + k:.6g}")


def test_small_result_is_sent_whole_and_rounded():
    msg = json.loads(protocol.encode(protocol.make_call_result(
        "c1", "lab-1", "done", {"t": [0.1234567891], "v": [float("inf")]})))
    assert msg["result"] == {"t": [0.123457], "v": [None]}
    assert "downsampled" not in msg


def test_widgets_are_chunked_in_order_under_the_limit():
    widgets = [{"type": "text", "text": f"{i}:" + "x" * 1000} for i in range(300)]
    chunks = list(protocol.chunk_widgets(widgets))
    assert len(chunks) == 3
    assert [w for c in chunks for w in c] == widgets
    assert all(len(_update(c)) <= protocol.MAX_PAYLOAD_BYTES for c in chunks)


def test_oversized_plot_widget_is_downsampled():
    plot = {"type": "plot", "x": list(range(40_000)), "y": list(range(40_000))}
    (chunk,) = protocol.chunk_widgets([plot])
    assert chunk[0]["downsampled"] >= 2
    assert len(_update(chunk)) <= protocol.MAX_PAYLOAD_BYTES


def _update(widgets):
    return protocol.encode(protocol.make_run_update("r1", "lab-1", "running", 0, widgets))
