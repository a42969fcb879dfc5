"""With no lab host online (`OPENEVENT_LAB=0`: no broker, no device) the console says so
clearly where a person acts — it never leaves a spinner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openevent.lab.localbroker import free_port
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LocalSystem, start_system, stop_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NO_HOST = "No lab host online"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    data_dir = tmp_path_factory.mktemp("no-lab") / "data"
    running = start_system(data_dir, free_port(), extra_env={"OPENEVENT_LAB": "0"})
    yield running
    if running.process.poll() is None:
        stop_system(running)


def test_no_lab_host_is_a_clear_message(logged_in: Page, page_errors, system) -> None:
    page = logged_in
    page_errors.expect(503, "/v1/lab/calls")
    page_errors.expect(503, "/v1/lab/examples/multimeter.py/runs")
    expect(page.locator("#device-status")).to_have_text(NO_HOST)

    page.get_by_role("combobox", name="Function string").fill("get_voltage('CH1')")
    page.get_by_role("button", name="Execute").click()
    expect(page.locator("#exec-error")).to_contain_text(NO_HOST)
    expect(page.get_by_role("button", name="Execute")).to_be_enabled()
    expect(page.locator("#exec-result")).to_be_empty()

    page.get_by_role("button", name="Run multimeter.py").click()
    expect(page.locator("#run-error")).to_contain_text(NO_HOST)
    expect(page.locator("#run-status")).to_have_text("not started")
    # the API's answer was the contract's 503, not a hang
    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    response = system.send("POST", "/v1/lab/calls", {"function": "get_resistance()"}, token,
                           jsonapi=False)
    assert response.status_code == 503
    assert response.json()["errors"][0]["source"]["pointer"] == "/device"


def test_live_instruments_say_the_device_is_offline(logged_in: Page, page_errors) -> None:
    page = logged_in
    page_errors.expect(503, "/v1/lab/calls")  # the home page reads the device's outputs
    page.get_by_role("link", name="Oscilloscope").click()
    expect(page.get_by_role("heading", level=1, name="Oscilloscope")).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#scope-state")).to_contain_text("No lab device is online")
    expect(page.get_by_role("button", name="Run")).to_have_attribute("aria-pressed", "false")
    page.get_by_role("link", name="Back").first.click()
    page.get_by_role("link", name="Multimeter").click()
    expect(page.get_by_role("heading", level=1, name="Multimeter")).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#meter-state")).to_contain_text("No lab device is online")
