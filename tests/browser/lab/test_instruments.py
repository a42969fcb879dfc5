"""Live instruments and a bench of one's own, in a real browser against the real local runtime
(API + mosquitto + the simulated device + the stream WebSocket), issue 25.

Traces are checked by what the page drew (canvas pixels and uPlot's data) and by what the
agent published on the broker; nothing here is a mock.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import time
from collections.abc import Iterator

import pytest
from openevent.lab.mqtt5 import Mqtt5Session
from playwright.sync_api import Browser, Page, expect

from tests.browser.lab.conftest import (
    ARTIFACTS,
    ROOT,
    ApiErrors,
    _context_page,
    log_in,
    plot_ink,
    sign_up_via_api,
)
from tests.browser.lab.test_console import editor_text, execute, wait_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def frames(page: Page) -> int:
    return int(page.locator("#scope-plot").get_attribute("data-frames") or 0)


def wait_frames(page: Page, more_than: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = frames(page)
        if n > more_than:
            return n
        page.wait_for_timeout(50)
    raise AssertionError(f"no new frame after {more_than} (state: "
                         f"{page.locator('#scope-state').text_content()})")


def canvas(page: Page) -> str:
    return page.locator("#scope-plot canvas").evaluate("c => c.toDataURL()")


def open_scope(page: Page) -> None:
    page.get_by_role("link", name="Oscilloscope").click()
    expect(page.get_by_role("heading", level=1, name="Oscilloscope")).to_be_focused()


@pytest.fixture
def second_page(browser: Browser, system) -> Iterator[Page]:  # noqa: ANN001
    errors = ApiErrors()
    page = _context_page(browser, system, errors, {"width": 1200, "height": 900})
    log_in(page, sign_up_via_api(system, "Second User"))
    yield page
    page.context.close()
    assert not errors.page_errors and not errors.unexpected()


def broker_address(system) -> tuple[str, int]:  # noqa: ANN001
    found = re.search(r"MQTT 5 broker 127\.0\.0\.1:(\d+)", system.log.read_text())
    assert found, "the banner names the broker"
    return "127.0.0.1", int(found.group(1))


# ------------------------------------------------------------------------ the scope


def test_oscilloscope_trace_moves_timebase_changes_the_period_and_stop_stops(
        logged_in: Page) -> None:
    page = logged_in
    execute(page, "set_sine1(1000)")
    expect(page.locator("#outputs-text")).to_contain_text("SI1 sine 1000 Hz")
    open_scope(page)
    page.get_by_label("Timebase (screen width)").select_option("2000")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#scope-state")).to_contain_text("Running")
    expect(page.get_by_role("button", name="Stop")).to_have_attribute("aria-pressed", "true")
    n = wait_frames(page, 1)
    first = canvas(page)
    ink = plot_ink(page, "#scope-plot")
    assert ink["ink"] > 300 and ink["rows"] > ink["height"] * 0.4  # a sine, not a flat line
    n = wait_frames(page, n)
    n = wait_frames(page, n)
    assert canvas(page) != first  # free running: the trace moves between frames
    expect(page.locator("#scope-measure")).to_have_attribute("data-periods", "2.0")
    expect(page.locator("#scope-measure")).to_contain_text("1000 Hz")

    page.get_by_label("Timebase (screen width)").select_option("5000")
    expect(page.locator("#scope-measure")).to_have_attribute("data-periods", "5.0")
    expect(page.locator("#scope-plot")).to_have_attribute("data-points", "1000")

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#scope-state")).to_have_text("Stopped")
    page.wait_for_timeout(400)
    stopped_at, picture = frames(page), canvas(page)
    page.wait_for_timeout(1000)
    assert frames(page) == stopped_at and canvas(page) == picture


def test_without_a_configured_url_the_stream_is_on_the_pages_own_origin(
        logged_in: Page, system) -> None:  # noqa: ANN001
    """No `OPENEVENT_LAB_STREAM_URL` (as `make run`): the page keeps its relative default
    and the console connects beside itself (the configured case: test_stream_url.py)."""
    page = logged_in
    expect(page.locator('meta[name="openevent-lab-stream"]')).to_have_attribute(
        "content", "../v1/lab/stream")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_scope(page)
    page.get_by_role("button", name="Run").click()
    wait_frames(page, 1)
    assert sockets == [system.base.replace("http://", "ws://") + "/v1/lab/stream"]
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#scope-state")).to_have_text("Stopped")


def test_single_shot_cursor_readout_and_csv_export(logged_in: Page) -> None:
    page = logged_in
    execute(page, "set_sine1(1000)")
    open_scope(page)
    page.get_by_role("button", name="Single shot").click()
    expect(page.locator("#scope-state")).to_contain_text("Single shot taken")
    taken = frames(page)
    assert taken == 1
    page.wait_for_timeout(800)
    assert frames(page) == taken  # one frame, then the stream stopped
    # cursor by keyboard alone
    page.locator("#scope-plot").focus()
    page.keyboard.press("Home")
    expect(page.locator("#scope-readout")).to_contain_text("t = 0 µs")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#scope-readout")).to_contain_text("t = 2 µs · CH1 = ")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export frame as CSV").click()
    path = download.value.path()
    lines = open(path, encoding="utf-8").read().splitlines()  # noqa: SIM115
    assert download.value.suggested_filename.startswith("oscilloscope-frame-")
    assert lines[0] == "t_us,CH1_V" and len(lines) == 1001
    values = [float(line.split(",")[1]) for line in lines[1:]]
    assert max(values) > 3.0 and min(values) < -3.0


def test_multimeter_view_updates(logged_in: Page) -> None:
    page = logged_in
    execute(page, "set_sine1(333)")  # readings 1 ms apart see a changing voltage
    page.get_by_role("link", name="Multimeter").click()
    page.get_by_label("Readings per second").select_option("10")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#meter-state")).to_contain_text("Running — 10 readings/s")
    value = page.locator("#meter-value")
    expect(value).to_have_text(re.compile(r"^-?[\d.e+-]+ V$"))
    seen = set()
    deadline = time.monotonic() + 10
    while len(seen) < 3 and time.monotonic() < deadline:
        seen.add(value.text_content())
        page.wait_for_timeout(60)
    assert len(seen) >= 3, seen
    assert int(value.get_attribute("data-readings")) >= 3
    expect(page.locator("#meter-stats")).to_contain_text("voltage on CH1")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#meter-state")).to_have_text("Stopped")


def test_two_browsers_view_one_device_and_other_settings_get_busy(
        logged_in: Page, second_page: Page, browser: Browser, system) -> None:  # noqa: ANN001
    a, b = logged_in, second_page
    execute(a, "set_sine1(1000)")
    for page in (a, b):
        open_scope(page)
        page.get_by_label("Timebase (screen width)").select_option("5000")
    a.get_by_role("button", name="Run").click()
    wait_frames(a, 0)
    b.get_by_role("button", name="Run").click()
    wait_frames(b, 0)
    expect(a.locator("#scope-state")).to_contain_text("2 viewer")
    expect(b.locator("#scope-state")).to_contain_text("2 viewers")
    # a third user asks for other settings: told busy, the others' trace does not change
    errors = ApiErrors()
    c = _context_page(browser, system, errors, {"width": 1200, "height": 900})
    try:
        log_in(c, sign_up_via_api(system, "Third User"))
        open_scope(c)
        c.get_by_label("CH2").check()
        c.get_by_role("button", name="Run").click()
        alert = c.locator("#scope-busy")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text("in use by another stream")
        expect(c.locator("#scope-state")).to_contain_text("Busy")
        before = frames(a)
        wait_frames(a, before)
        expect(a.locator("#scope-plot")).to_have_attribute("data-points", "1000")
        assert a.locator("#scope-plot .u-legend").text_content().count("CH2") == 0
        # joining shows the same trace
        c.get_by_role("button", name="Join the running stream").click()
        wait_frames(c, 0)
        expect(c.locator("#scope-state")).to_contain_text("3 viewers")
        assert errors.unexpected() == [] and errors.page_errors == []
    finally:
        c.context.close()


def test_closing_the_tab_ends_the_capture_loop_on_the_agent(browser: Browser, system) -> None:  # noqa: ANN001
    host, port = broker_address(system)
    seen: queue.Queue = queue.Queue()
    watcher = Mqtt5Session(host, port, subscriptions=["lab/v1/lab-1/frames"],
                           on_message=lambda m: seen.put(json.loads(m.payload)))
    watcher.start()
    errors = ApiErrors()
    page = _context_page(browser, system, errors, {"width": 1200, "height": 900})
    try:
        log_in(page, sign_up_via_api(system, "Closing User"))
        open_scope(page)
        page.get_by_role("button", name="Run").click()
        wait_frames(page, 1)
        stream = None
        deadline = time.monotonic() + 10
        while stream is None and time.monotonic() < deadline:
            msg = seen.get(timeout=10)
            if msg["kind"] == "frame":
                stream = msg["stream"]
        assert stream, "the agent publishes frames while the tab is open"
        page.context.close()  # the tab (and its WebSocket) goes away
        closed = None
        deadline = time.monotonic() + 10
        while closed is None and time.monotonic() < deadline:
            msg = seen.get(timeout=10)
            if msg["kind"] == "stream-state" and msg["state"] == "closed" \
                    and msg["stream"] == stream:
                closed = msg
        assert closed and closed["reason"] == "closed by the cloud"
        time.sleep(0.5)
        while not seen.empty():
            late = seen.get()
            assert not (late["kind"] == "frame" and late["stream"] == stream), late
        time.sleep(1.0)
        assert all(m["kind"] != "frame" for m in list(seen.queue)), "the loop still captures"
    finally:
        watcher.stop()


# ----------------------------------------------------------- a bench of one's own


def test_outputs_are_shown_and_reset_and_runs_start_from_them_off(logged_in: Page) -> None:
    page = logged_in
    page.get_by_role("button", name="Reset outputs").click()  # earlier tests share the device
    expect(page.locator("#outputs-text")).to_have_text("All outputs are off.")
    execute(page, "set_pv1(2.5)")
    expect(page.locator("#outputs-text")).to_have_text("The device is driving: PV1 2.5 V.")
    page.get_by_role("button", name="Reset outputs").click()
    expect(page.locator("#outputs-text")).to_have_text("All outputs are off.")
    execute(page, "set_sine1(1000)")
    expect(page.locator("#outputs-text")).to_contain_text("SI1 sine 1000 Hz")
    # the guide's pitfall: after a sine, power_sweep.py must still read PV1 on CH1
    page.get_by_role("button", name="Run power_sweep.py").click()
    wait_run(page)
    expect(page.locator("#run-output")).to_contain_text("PV1 = +4.0 V → CH1 = +4.000 V")
    expect(page.locator("#view-run")).to_contain_text("starts with every device output off")


def test_a_run_page_reloads_to_the_same_result_and_exports_csv(logged_in: Page) -> None:
    page = logged_in
    page.get_by_role("button", name="Run plot_sine.py").click()
    wait_run(page)
    expect(page).to_have_url(re.compile(r"#/run/[0-9a-f]+$"))
    url = page.url
    expect(page.locator("#run-output .w-plot")).to_have_attribute("data-points", "500")
    page.reload()
    expect(page).to_have_url(url)
    wait_run(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Run: plot_sine.py")
    expect(page.locator("#run-output .w-plot")).to_have_attribute("data-points", "500")
    expect(page.locator("#run-output")).to_contain_text("SI1 (1 kHz sine)")
    # axis names with units, and the value under the cursor in the legend
    legend = page.locator("#run-output .w-plot .u-legend")
    expect(legend).to_contain_text("t (µs)")
    expect(legend).to_contain_text("CH1 (V)")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export output as CSV").click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()  # noqa: SIM115
    assert lines[0] == "widget,index,x,y,text"
    assert sum(1 for line in lines if line.startswith("plot ")) == 500


def test_a_numpy_script_runs_and_stop_stops_a_running_one(logged_in: Page) -> None:
    page = logged_in
    page.get_by_role("button", name="New Python Script").click()
    page.get_by_label("Title").fill("numpy spectrum")
    editor_text(page, "import numpy as np\nset_sine1(2000)\nd = capture1('CH1', 1000, 2)\n"
                      "y = np.array(d['CH1'])\n"
                      "f = np.fft.rfftfreq(len(y), 2e-6)[np.abs(np.fft.rfft(y))[1:].argmax() + 1]\n"
                      "print(f'peak at {f:.0f} Hz')\nplot(np.array(d['t']), y)\n")
    page.get_by_role("button", name="Save and run").click()
    wait_run(page)
    expect(page.locator("#run-output")).to_contain_text("peak at 2000 Hz")
    page.get_by_role("link", name="Back").last.click()
    page.get_by_role("button", name="New Python Script").click()
    page.get_by_label("Title").fill("forever")
    editor_text(page, "import time\nprint('working')\nwhile True:\n    time.sleep(0.1)\n")
    page.get_by_role("button", name="Save and run").click()
    expect(page.locator("#run-output")).to_contain_text("working", timeout=20_000)
    page.get_by_role("button", name="Stop").click()
    wait_run(page, "stopped")
    expect(page.locator("#run-error")).to_have_text("You stopped the script.")


def test_screenshot_of_the_live_oscilloscope_for_the_readme(logged_in: Page) -> None:
    """docs/images/lab-oscilloscope.png: written when missing or with
    OPENEVENT_UPDATE_SCREENSHOTS=1; always kept in the test artifacts."""
    page = logged_in
    page.set_viewport_size({"width": 1100, "height": 820})
    execute(page, "set_sine1(1000)")
    execute(page, "set_sine2(250)")
    open_scope(page)
    page.get_by_label("CH2").check()
    page.get_by_label("Timebase (screen width)").select_option("10000")
    page.get_by_label("Trigger", exact=True).select_option("CH1")
    page.get_by_role("button", name="Run").click()
    wait_frames(page, 3)
    page.locator("#scope-plot").focus()
    for _ in range(3):
        page.keyboard.press("Shift+ArrowRight")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "lab-oscilloscope.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    image = ROOT / "docs" / "images" / "lab-oscilloscope.png"
    if os.environ.get("OPENEVENT_UPDATE_SCREENSHOTS") == "1" or not image.exists():
        image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, image)


def test_stream_socket_checks_the_token_at_connect(system) -> None:  # noqa: ANN001
    """No token, a forged one or a token in the wrong place: refused before the WebSocket
    exists (HTTP 401). A valid one, offered as the subprotocol or as Authorization, opens it;
    the server selects `openevent-lab.v1` and never echoes the token."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from tests.browser.lab.conftest import api_token

    url = system.base.replace("http://", "ws://") + "/v1/lab/stream"
    for offered in (["openevent-lab.v1"], ["openevent-lab.v1", "jwt.e30.e30.AAAA"]):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, subprotocols=offered, open_timeout=10)
        assert refused.value.response.status_code == 401
    token = api_token(system, sign_up_via_api(system, "Socket User"))
    with pytest.raises(InvalidStatus):
        connect(f"{url}?token={token}", subprotocols=["openevent-lab.v1"], open_timeout=10)
    with connect(url, subprotocols=["openevent-lab.v1", f"jwt.{token}"], open_timeout=10) as ws:
        assert ws.subprotocol == "openevent-lab.v1"
        assert token not in str(ws.response.headers)
        assert json.loads(ws.recv(timeout=10))["kind"] == "hello"
    with connect(url, additional_headers={"Authorization": f"JWT {token}"},
                 open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["kind"] == "hello" and hello["limits"]["max_fps"] == 20
