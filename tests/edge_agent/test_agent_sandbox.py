"""Scripts run in a sandbox: no network, no keys, bounded time/memory/output; widgets in order."""

import os
import socket

import pytest

from edge_agent.agent import Agent
from edge_agent.devices import SimulatedDevice
from edge_agent.sandbox import SandboxLimits, run_script


def _run(code, limits=None, agent=None):
    agent = agent or Agent("lab-1", SimulatedDevice(), publish=lambda *a, **k: None)
    widgets = []
    outcome = run_script(code, call_device=agent.execute, emit=widgets.append,
                         limits=limits or SandboxLimits(wall_seconds=10),
                         check_button=lambda f: __import__(
                             "openevent.lab.grammar", fromlist=["x"]).parse_call(f))
    return outcome, widgets


@pytest.fixture
def open_port():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        yield srv.getsockname()[1]


def test_widgets_come_back_in_order():
    outcome, widgets = _run(
        "print('a', 1)\nlabel('b')\nbutton('go', \"get_voltage('CH1')\", 'number', 't')\n"
        "plot([1, 2], [3, 4])\nprint('c')")
    assert (outcome.status, outcome.widgets) == ("done", 5)
    assert widgets == [
        {"type": "text", "text": "a 1"},
        {"type": "label", "text": "b"},
        {"type": "button", "label": "go", "function": "get_voltage('CH1')",
         "display": "number", "target": "t"},
        {"type": "plot", "x": [1.0, 2.0], "y": [3.0, 4.0], "title": None},
        {"type": "text", "text": "c"}]


def test_device_calls_go_through_the_allow_list():
    outcome, widgets = _run("set_pv1(2)\nprint(get_pv1())")
    assert (outcome.status, widgets) == ("done", [{"type": "text", "text": "2.0"}])


def test_out_of_range_device_call_fails_the_script():
    outcome, _ = _run("set_pv1(50)")
    assert (outcome.status, outcome.reason) == (
        "failed", "LabError: set_pv1() argument 'voltage' must be at most 5 (line 1)")


def test_button_with_a_hostile_function_string_is_refused():
    outcome, widgets = _run("button('x', \"__import__('os').system('id')\")")
    assert outcome.status == "failed"
    assert outcome.reason.startswith("LabError: button: only a bare allow-listed function")
    assert widgets == []


def test_script_has_no_network(open_port):
    outcome, _ = _run(f"import socket\nsocket.create_connection(('127.0.0.1', {open_port}), 2)")
    assert outcome.status == "failed"
    assert outcome.reason.split(":")[0] in ("ConnectionRefusedError", "OSError")


def test_script_cannot_read_the_agents_key(tmp_path):
    keydir = tmp_path / "agent"
    keydir.mkdir()
    key = keydir / "private.key"
    key.write_text("-----BEGIN PRIVATE KEY-----secret")
    os.chmod(key, 0o600)
    outcome, widgets = _run(f"print(open({str(key)!r}).read())")
    assert outcome.status == "failed"
    assert outcome.reason.split(":")[0] in ("FileNotFoundError", "PermissionError")
    assert widgets == []


def test_cpu_bound_script_ends_as_timeout():
    outcome, _ = _run("while True:\n    pass",
                      SandboxLimits(cpu_seconds=1, wall_seconds=10))
    assert (outcome.status, outcome.reason) == ("timeout", "CPU time limit of 1 s")


def test_sleeping_script_is_killed_at_the_wall_clock_limit():
    outcome, _ = _run("import time\ntime.sleep(30)", SandboxLimits(wall_seconds=1))
    assert (outcome.status, outcome.reason) == ("timeout", "wall-clock limit of 1 s")


def test_memory_hog_fails_with_memory_limit():
    outcome, _ = _run("x = bytearray(2 * 1024 ** 3)",
                      SandboxLimits(memory_bytes=256 * 1024 ** 2, wall_seconds=10))
    assert outcome.status == "failed"
    assert outcome.reason.startswith("memory limit exceeded (MemoryError")


def test_chatty_script_is_stopped_at_the_output_limit():
    outcome, widgets = _run("while True:\n    print('x' * 1000)",
                            SandboxLimits(output_bytes=20_000, wall_seconds=10))
    assert (outcome.status, outcome.reason) == (
        "failed", "output limit of 20000 bytes exceeded")
    assert len(widgets) == 19


def test_script_cannot_fork_bomb():
    outcome, _ = _run("import os\nfor _ in range(200):\n    os.fork() or os._exit(0)",
                      SandboxLimits(processes=20, wall_seconds=10))
    assert outcome.status == "failed"
    assert outcome.reason.startswith("BlockingIOError")
