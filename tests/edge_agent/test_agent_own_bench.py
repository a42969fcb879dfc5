"""A bench of one's own: runs start from reset outputs, numpy works in the sandbox with its
limits still in force, a run can be stopped, and the examples give their documented results
in any order."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
from openevent.lab import protocol
from openevent.lab.examples import get_example
from openevent.lab.mqtt5 import Message

from edge_agent.agent import Agent
from edge_agent.devices import SimulatedDevice
from edge_agent.sandbox import STOPPED_REASON, SandboxLimits


class Sent:
    def __init__(self):
        self.messages = []

    def __call__(self, topic, payload, **_kw):
        self.messages.append(json.loads(payload))

    def run(self, run_id):
        updates = [m for m in self.messages if m.get("kind") == "run" and m["id"] == run_id]
        widgets = [w for u in sorted(updates, key=lambda u: u["seq"]) for w in u["widgets"]]
        final = next((u for u in updates if u.get("final")), None)
        return widgets, final


def run(agent, sent, code, run_id=None):
    run_id = run_id or f"r{time.time_ns()}"
    cmd = protocol.Command("run", run_id, time.time() + 60, code=code)
    agent._run_script(cmd, run_id.encode())
    return sent.run(run_id)


@pytest.fixture
def bench():
    sent = Sent()
    agent = Agent("lab-1", SimulatedDevice(), sent, limits=SandboxLimits(wall_seconds=20))
    return agent, sent


def texts(widgets):
    return [w["text"] for w in widgets if w["type"] == "text"]


def test_a_run_starts_with_every_output_off(bench):
    agent, sent = bench
    agent.execute("set_sine1(1000)")  # left on by a call (or an earlier run, or another user)
    agent.execute("set_pv2(1.5)")
    assert agent.execute("get_outputs()")["SI1"] == 1000.0
    widgets, final = run(agent, sent, get_example("power_sweep.py")["code"])
    assert final["status"] == "done"
    # the documented result: CH1 follows PV1, not the sine left on before
    assert texts(widgets) == [f"PV1 = {v:+.1f} V → CH1 = {v:+.3f} V" for v in (-4, -2, 0, 2, 4)]
    outputs = agent.execute("get_outputs()")
    assert outputs["SI1"] is None and outputs["PV2"] == 0.0


@pytest.mark.parametrize("order", list(itertools.permutations(
    ["multimeter.py", "plot_sine.py", "power_sweep.py"])))
def test_examples_give_their_documented_result_in_any_order(bench, order):
    agent, sent = bench
    for name in order:
        widgets, final = run(agent, sent, get_example(name)["code"])
        assert (final["status"], final["reason"]) == ("done", None), name
        if name == "power_sweep.py":
            assert texts(widgets)[0] == "PV1 = -4.0 V → CH1 = -4.000 V"
        elif name == "plot_sine.py":
            shown = next(w for w in widgets if w["type"] == "plot")
            assert max(shown["y"]) > 3.0 and min(shown["y"]) < -3.0  # the 1 kHz sine, ±3.3 V
            assert (shown["xlabel"], shown["ylabel"]) == ("t (µs)", "CH1 (V)")  # axis units
        else:
            assert texts(widgets)[:4] == ["CH1 = 0.0 V", "CH2 = 0.0 V", "CH3 = 0.0 V",
                                          "VOL = 0.0 V"]


def test_reset_outputs_is_allow_listed_and_reports_the_state(bench):
    agent, _ = bench
    agent.execute("set_sqr1(500, 25)")
    assert agent.execute("get_outputs()")["SQ1"] == [500.0, 25.0]
    after = agent.execute("reset_outputs()")
    assert after["SQ1"] is None and after["PV1"] == 0.0 and after["ranges"]["CH1"] == 16.0


def test_numpy_imports_in_the_sandbox_and_only_numpy(bench):
    agent, sent = bench
    widgets, final = run(agent, sent, (
        "import numpy as np\n"
        "set_sine1(1000)\n"
        "d = capture1('CH1', 1000, 2)\n"
        "y = np.array(d['CH1'])\n"
        "spectrum = np.abs(np.fft.rfft(y))\n"
        "peak = np.fft.rfftfreq(len(y), 2e-6)[int(spectrum[1:].argmax()) + 1]\n"
        "print(f'{peak:.0f} Hz', round(float(y.max()), 2))\n"
        "plot(np.array(d['t']), y)\n"
        "try:\n    import boto3\nexcept ImportError:\n    print('no boto3')\n"))
    assert (final["status"], final["reason"]) == ("done", None)
    assert texts(widgets) == ["1000 Hz 3.3", "no boto3"]
    assert next(w for w in widgets if w["type"] == "plot")["x"][:2] == [0.0, 2.0]


def test_numpy_cannot_pass_the_memory_and_time_limits(bench):
    agent, sent = bench
    agent.limits = SandboxLimits(wall_seconds=4, cpu_seconds=2)
    _, final = run(agent, sent, "import numpy as np\nx = np.ones((400, 1000, 1000))\n")
    assert final["status"] == "failed" and "memory limit" in final["reason"]
    _, final = run(agent, sent, "import numpy as np\na = np.ones((400, 400))\n"
                                "while True:\n    a = a @ a / 400\n")
    assert final["status"] == "timeout"


def test_stop_kills_a_running_script(bench):
    agent, sent = bench
    run_id = "r-stop-me"
    done = threading.Event()

    def go():
        run(agent, sent, "import time\nprint('started')\nwhile True:\n    time.sleep(0.05)\n",
            run_id)
        done.set()

    threading.Thread(target=go, daemon=True).start()
    deadline = time.monotonic() + 10
    while not any(m.get("id") == run_id for m in sent.messages) and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    agent.handle_message(Message("lab/v1/lab-1/cmd", protocol.encode(
        protocol.make_cancel_command("c-1", run_id))))
    assert done.wait(5)
    assert time.monotonic() - started < 3
    _, final = sent.run(run_id)
    assert (final["status"], final["reason"]) == ("failed", STOPPED_REASON)


def test_output_shows_while_a_script_keeps_running(bench):
    """A print followed by a long computation is published within the flush interval, not
    only when the next widget (or the end) comes."""
    agent, sent = bench
    run_id = "r-slow"
    threading.Thread(target=run, args=(agent, sent, "import time\nprint('first')\n"
                                       "time.sleep(3)\nprint('second')\n", run_id),
                     daemon=True).start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        widgets, final = sent.run(run_id)
        if texts(widgets) == ["first"]:
            break
        time.sleep(0.05)
    widgets, final = sent.run(run_id)
    assert texts(widgets) == ["first"] and final is None  # shown while the script still runs
