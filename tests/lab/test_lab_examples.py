"""Example scripts: listed, readable, and they run in the sandbox on the simulated device."""

import pytest
from openevent.lab.examples import get_example, list_examples


def test_examples_are_listed_with_titles():
    assert list_examples() == [
        {"name": "multimeter.py",
         "title": "Multimeter: read every analog input, with buttons to measure again"},
        {"name": "plot_sine.py", "title": "Plotting: a 1 kHz sine from SI1, captured on CH1"},
        {"name": "power_sweep.py",
         "title": "Power supply sweep: set PV1 in steps and read it back on CH1"}]


@pytest.mark.parametrize("name", ["../store.py", "__init__.py", "nope.py", "multimeter"])
def test_unknown_or_unsafe_example_name_is_none(name):
    assert get_example(name) is None


@pytest.mark.parametrize("name,kinds", [
    ("multimeter.py", ["label", "text", "text", "text", "text", "text", "text",
                       "button", "button", "button"]),
    ("plot_sine.py", ["label", "plot", "button"]),
    ("power_sweep.py", ["label", "text", "text", "text", "text", "text", "plot"]),
])
def test_example_runs_on_the_simulated_device(name, kinds):
    from edge_agent.agent import Agent
    from edge_agent.devices import SimulatedDevice
    from edge_agent.sandbox import run_script

    agent = Agent("lab-1", SimulatedDevice(), publish=lambda *a, **k: None)
    widgets = []
    outcome = run_script(get_example(name)["code"], call_device=agent.execute,
                         emit=widgets.append)
    assert (outcome.status, outcome.reason) == ("done", None)
    assert [w["type"] for w in widgets] == kinds
