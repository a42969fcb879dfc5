"""Live streams: settings, frames within the IoT limit, the agent's loop, the hub's fan-out."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest
from openevent.lab import protocol, streams
from openevent.lab.streamhub import CLOSE_IDLE, CLOSE_TOKEN_EXPIRED, StreamHub

from edge_agent.devices import SimulatedDevice
from edge_agent.streaming import StreamRunner, find_trigger, scope_frame

SCOPE = {"channels": ["CH1"], "samples": 1000, "timegap": 2.0, "fps": 10, "trigger": None}


def wait_for(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


# ------------------------------------------------------------------ settings


def test_settings_get_defaults_and_a_canonical_key():
    a = streams.check_settings("scope", {"channels": ["CH2", "CH1"]})
    b = streams.check_settings("scope", {"channels": ["CH1", "CH2"], "samples": 1000})
    assert a["channels"] == ["CH1", "CH2"]
    assert streams.settings_key("scope", a) == streams.settings_key("scope", b)
    assert streams.check_settings("meter", {"quantity": "resistance"})["channel"] is None


@pytest.mark.parametrize(("instrument", "settings", "pointer"), [
    ("scope", {"samples": 5}, "/settings/samples"),
    ("scope", {"samples": 1500, "channels": ["CH1", "CH3"]}, "/settings/samples"),
    ("scope", {"timegap": 0.1}, "/settings/timegap"),
    ("scope", {"fps": 50}, "/settings/fps"),
    ("scope", {"samples": 2000, "timegap": 1000, "fps": 1}, "/settings/fps"),
    ("scope", {"channels": ["CH9"]}, "/settings/channels"),
    ("scope", {"channels": []}, "/settings/channels"),
    ("scope", {"trigger": {"channel": "CH2"}}, "/settings/trigger/channel"),
    ("scope", {"trigger": {"edge": "up"}}, "/settings/trigger/edge"),
    ("scope", {"samples": True}, "/settings/samples"),
    ("scope", {"evil": 1}, "/settings/evil"),
    ("meter", {"quantity": "power"}, "/settings/quantity"),
    ("meter", {"channel": "LA9"}, "/settings/channel"),
    ("meter", {"rate": 100}, "/settings/rate"),
    ("laser", {}, "/instrument"),
])
def test_bad_settings_name_their_field(instrument, settings, pointer):
    with pytest.raises(streams.SettingsError) as info:
        streams.check_settings(instrument, settings)
    assert info.value.pointer == pointer


def test_every_allowed_frame_fits_one_iot_message():
    # The biggest frames the settings allow: 4 channels x 1000 and 2 x 2000 samples.
    for channels, samples in ((["CH1", "CH2", "CH3", "MIC"], 1000), (["CH1", "CH2"], 2000)):
        settings = streams.check_settings("scope", {"channels": channels, "samples": samples,
                                                    "timegap": 0.5, "fps": 20})
        dev = SimulatedDevice()
        dev.call("set_sine1", {"frequency": 333.3})
        data, _ = scope_frame(lambda f: _exec(dev, f), settings)
        frame = streams.make_frame("s1", "lab-1", 1, "scope", settings, data, time.time())
        raw = streams.encode_frame(frame)
        assert len(raw) <= protocol.MAX_PAYLOAD_BYTES < protocol.IOT_MESSAGE_LIMIT
        assert json.loads(raw).get("downsampled", 1) == 1  # they fit without thinning


def test_an_oversized_frame_is_thinned_not_refused():
    data = {"t": [i * 0.123456789 for i in range(20000)],
            "CH1": [i * 1.987654321 for i in range(20000)]}
    raw = streams.encode_frame(streams.make_frame("s", "lab-1", 0, "scope", SCOPE, data, 1.0))
    assert len(raw) <= protocol.MAX_PAYLOAD_BYTES
    assert json.loads(raw)["downsampled"] > 1


def _exec(device, function):
    from openevent.lab.grammar import parse_call

    call = parse_call(function)
    return device.call(call.name, call.args)


def test_trigger_aligns_the_window_on_the_edge():
    dev = SimulatedDevice()
    dev.call("set_sine1", {"frequency": 1000})
    settings = streams.check_settings("scope", {"samples": 500, "timegap": 2, "trigger": {
        "channel": "CH1", "level": 0.0, "edge": "rising"}})
    first, trig1 = scope_frame(lambda f: _exec(dev, f), settings)
    second, trig2 = scope_frame(lambda f: _exec(dev, f), settings)
    assert trig1 and trig2
    assert first["CH1"][0] >= 0 > first["CH1"][-2] or first["CH1"][1] > first["CH1"][0]
    # a triggered periodic trace stands still; free running it moves (re-arm time)
    assert first["CH1"][:50] == pytest.approx(second["CH1"][:50], abs=0.05)
    free = streams.check_settings("scope", {"samples": 500, "timegap": 2})
    a, _ = scope_frame(lambda f: _exec(dev, f), free)
    b, _ = scope_frame(lambda f: _exec(dev, f), free)
    assert a["CH1"] != b["CH1"]
    assert find_trigger([1.0, 1.0, 1.0], 0.0, "rising", 2) is None


# ------------------------------------------------------------- the agent's loop


class Published:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    def __call__(self, topic, payload):
        with self.lock:
            self.messages.append((topic, json.loads(payload)))

    def of(self, kind):
        with self.lock:
            return [m for _, m in self.messages if m["kind"] == kind]


def runner(clock=time.time):
    dev = SimulatedDevice()
    dev.call("set_sine1", {"frequency": 1000})
    pub = Published()
    calls = []

    def execute(function):
        calls.append(function)
        return _exec(dev, function)

    return StreamRunner("lab-1", execute, pub, clock=clock), pub, calls


def test_agent_runs_one_loop_per_stream_and_refuses_another():
    r, pub, calls = runner()
    settings = streams.check_settings("scope", {"fps": 20, "samples": 200})
    r.handle(streams.make_open_command("s-one", "scope", settings))
    assert wait_for(lambda: len(pub.of("frame")) >= 3)
    r.handle(streams.make_open_command("s-one", "scope", settings))  # lease renewal: same loop
    r.handle(streams.make_open_command("s-two", "scope", settings))
    assert wait_for(lambda: any(m["state"] == "refused" for m in pub.of("stream-state")))
    assert r.loops_started == 1 and r.active["id"] == "s-one"
    frames = pub.of("frame")
    assert {f["stream"] for f in frames} == {"s-one"}
    assert [f["seq"] for f in frames[:3]] == [0, 1, 2]
    assert all(c.startswith("capture1(channel='CH1', samples=200") for c in calls)
    r.handle(streams.make_close_command("s-one"))
    assert wait_for(lambda: r.active is None)
    assert wait_for(lambda: [m for m in pub.of("stream-state") if m["state"] == "closed"])
    closed = [m for m in pub.of("stream-state") if m["state"] == "closed"]
    assert closed[-1]["reason"] == "closed by the cloud"
    count = len(pub.of("frame"))
    time.sleep(0.3)
    assert len(pub.of("frame")) == count  # the capture loop has really ended


def test_agent_loop_ends_when_its_lease_is_not_renewed():
    r, pub, _ = runner()
    cmd = streams.make_open_command("s-lease", "scope", streams.check_settings(
        "scope", {"fps": 20, "samples": 100}), lease=0.4)
    r.handle(cmd)
    assert wait_for(lambda: r.active is not None)
    assert wait_for(lambda: r.active is None, timeout=3)
    assert wait_for(lambda: pub.of("stream-state")[-1]["state"] == "closed")
    assert pub.of("stream-state")[-1]["reason"] == "lease expired"


def test_agent_refuses_malformed_and_stale_stream_commands():
    r, pub, _ = runner()
    with pytest.raises(protocol.ProtocolError):
        r.handle({"v": 1, "kind": "stream", "id": "x", "action": "open", "instrument": "scope",
                  "settings": {"samples": 10**6}, "lease_until": time.time() + 5})
    with pytest.raises(protocol.ProtocolError):
        r.handle({"v": 1, "kind": "stream", "id": "x/y", "action": "close"})
    stale = streams.make_open_command("s-old", "scope", SCOPE, now=time.time() - 60)
    r.handle(stale)
    time.sleep(0.1)
    assert r.loops_started == 0


def test_meter_frames_carry_value_and_unit():
    r, pub, calls = runner()
    r.handle(streams.make_open_command("s-m", "meter", streams.check_settings(
        "meter", {"quantity": "voltage", "channel": "CH1", "rate": 10})))
    assert wait_for(lambda: len(pub.of("frame")) >= 2)
    r.stop()
    data = pub.of("frame")[0]["data"]
    assert data["unit"] == "V" and data["channel"] == "CH1" and isinstance(data["value"], float)
    assert calls[0] == "get_voltage(channel='CH1')"


# --------------------------------------------------------------------- the hub


class FakeConnection:
    """A WebSocket as the hub sees it: iterate incoming messages; send; close."""

    def __init__(self, slow: float = 0.0):
        self.incoming: queue.Queue = queue.Queue()
        self.sent: list[dict] = []
        self.closed_with = None
        self.slow = slow
        self.lock = threading.Lock()

    def __iter__(self):
        while True:
            item = self.incoming.get()
            if item is None:
                return
            yield item

    def send(self, text):
        if self.slow:
            time.sleep(self.slow)
        with self.lock:
            self.sent.append(json.loads(text))

    def close(self, code, reason):
        self.closed_with = (code, reason)
        self.incoming.put(None)

    def say(self, **message):
        self.incoming.put(json.dumps(message))

    def kinds(self, kind):
        with self.lock:
            return [m for m in self.sent if m["kind"] == kind]


class Hub:
    def __init__(self, **kw):
        self.commands = []
        self.hub = StreamHub(lambda d, m: self.commands.append((d, m)),
                             device_online=lambda d: d == "lab-1", **kw)

    def connect(self, user="u1", expires=None, slow=0.0):
        conn = FakeConnection(slow)
        t = threading.Thread(target=self.hub.serve, args=(
            conn, user, expires or time.time() + 3600), daemon=True)
        t.start()
        assert wait_for(lambda: conn.kinds("hello"))
        return conn, t

    def opens(self):
        return [m for _, m in self.commands if m["action"] == "open"]

    def closes(self):
        return [m for _, m in self.commands if m["action"] == "close"]

    def frame(self, stream_id, seq):
        payload = streams.encode_frame(streams.make_frame(
            stream_id, "lab-1", seq, "scope", SCOPE, {"t": [0.0], "CH1": [seq * 1.0]},
            time.time()))
        self.hub.on_frames_message("lab/v1/lab-1/frames", payload)


def test_hub_fans_one_loop_out_to_viewers_with_equal_settings():
    h = Hub()
    a, _ = h.connect("alice")
    b, _ = h.connect("bob")
    a.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: a.kinds("opened"))
    b.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: b.kinds("opened"))
    assert len({m["id"] for m in h.opens()}) == 1  # one stream, one loop on the agent
    stream_id = h.opens()[0]["id"]
    h.frame(stream_id, 0)
    h.frame("another-stream", 1)  # not this device's stream: never shown
    assert wait_for(lambda: a.kinds("frame") and b.kinds("frame"))
    time.sleep(0.05)
    assert [f["seq"] for f in a.kinds("frame")] == [0] == [f["seq"] for f in b.kinds("frame")]
    # the first viewer leaves: the loop goes on for the second
    a.incoming.put(None)
    time.sleep(0.1)
    assert h.closes() == []
    b.say(action="close")
    assert wait_for(lambda: h.closes())
    assert h.closes()[0]["id"] == stream_id


def test_second_user_with_other_settings_is_told_busy_and_may_join():
    h = Hub()
    a, _ = h.connect("alice")
    b, _ = h.connect("bob")
    a.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: a.kinds("opened"))
    b.say(action="open", device="lab-1", instrument="scope",
          settings=dict(SCOPE, channels=["CH2"]))
    assert wait_for(lambda: b.kinds("busy"))
    busy = b.kinds("busy")[0]
    assert "in use by another stream" in busy["detail"]
    assert busy["current"]["settings"]["channels"] == ["CH1"]
    assert len(h.opens()) == 1 and h.opens()[0]["settings"]["channels"] == ["CH1"]
    # alice's trace did not change; bob joins her stream instead
    b.say(action="open", device="lab-1", instrument="scope", settings=busy["current"]["settings"])
    assert wait_for(lambda: b.kinds("opened"))
    assert wait_for(lambda: a.kinds("opened")[-1]["viewers"] == 2)


def test_the_only_viewer_may_change_their_own_settings():
    h = Hub()
    a, _ = h.connect("alice")
    a.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: a.kinds("opened"))
    a.say(action="open", device="lab-1", instrument="scope", settings=dict(SCOPE, fps=5))
    assert wait_for(lambda: len(a.kinds("opened")) == 2)
    assert a.kinds("opened")[-1]["settings"]["fps"] == 5
    assert len({m["id"] for m in h.opens()}) == 1  # same loop, new settings


def test_bad_settings_and_offline_devices_are_answered_clearly():
    h = Hub()
    a, _ = h.connect()
    a.say(action="open", device="lab-1", instrument="scope", settings={"samples": 1})
    assert wait_for(lambda: a.kinds("error"))
    assert a.kinds("error")[0]["pointer"] == "/settings/samples"
    a.say(action="open", device="lab-9", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: a.kinds("device"))
    assert a.kinds("device")[0]["online"] is False
    a.incoming.put("not json")
    a.say(action="explode")
    assert wait_for(lambda: len(a.kinds("error")) == 3)
    assert h.opens() == []


def test_a_slow_viewer_drops_frames_and_does_not_slow_the_others():
    h = Hub()
    fast, _ = h.connect("alice")
    slow, _ = h.connect("bob", slow=0.2)
    for c in (fast, slow):
        c.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: fast.kinds("opened") and slow.kinds("opened"))
    stream_id = h.opens()[0]["id"]
    started = time.monotonic()
    for seq in range(30):
        h.frame(stream_id, seq)
        time.sleep(0.01)
    assert time.monotonic() - started < 1.0  # fan-out never waited for the slow one
    assert wait_for(lambda: fast.kinds("frame") and fast.kinds("frame")[-1]["seq"] == 29)
    assert len(fast.kinds("frame")) >= 25
    assert wait_for(lambda: slow.kinds("frame") and slow.kinds("frame")[-1]["seq"] == 29, 5)
    assert len(slow.kinds("frame")) < 10  # latest wins: the rest were dropped, never queued
    viewer = next(v for v in h.hub.viewers if v.connection is slow)
    assert viewer.dropped >= 20


def test_token_expiry_and_idle_limit_end_the_stream():
    h = Hub(idle_seconds=0.6)
    a, _ = h.connect("alice", expires=time.time() + 0.5)
    a.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: a.kinds("opened"))
    assert wait_for(lambda: a.closed_with is not None, timeout=3)
    assert a.closed_with[0] == CLOSE_TOKEN_EXPIRED
    assert a.kinds("closed")[0]["reason"] == "token expired"
    assert wait_for(lambda: h.closes())
    b, _ = h.connect("bob")
    b.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: b.closed_with is not None, timeout=3)
    assert b.closed_with[0] == CLOSE_IDLE
    assert wait_for(lambda: len(h.closes()) == 2)


def test_leases_are_renewed_while_viewers_remain():
    h = Hub()
    a, _ = h.connect()
    a.say(action="open", device="lab-1", instrument="scope", settings=SCOPE)
    assert wait_for(lambda: a.kinds("opened"))
    assert wait_for(lambda: len(h.opens()) >= 2, timeout=streams.LEASE_RENEW + 2)
    first, second = h.opens()[:2]
    assert second["id"] == first["id"] and second["lease_until"] > first["lease_until"]
    h.hub.stop()
    assert wait_for(lambda: a.closed_with is not None)
    assert h.closes()
