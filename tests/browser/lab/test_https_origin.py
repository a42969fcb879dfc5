"""The lab console on the runtime's https origin (`make run` serves both origins): the page
logs in, and its live stream connects over wss on that same origin (the console derives
ws/wss from its page) and shows frames; no API answer >= 400, no script error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.lab.conftest import log_in, sign_up_via_api
from tests.browser.lab.test_instruments import open_scope, wait_frames

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_console_streams_over_wss_on_the_https_origin(browser: Browser, system) -> None:  # noqa: ANN001
    assert system.https_base is not None
    # the runtime's own certificate: accepted as a person accepts the browser's warning
    context = browser.new_context(base_url=system.https_base, ignore_https_errors=True,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    failures: list[str] = []
    sockets: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    page.on("pageerror", lambda exc: failures.append(f"script error: {exc}"))
    page.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        log_in(page, sign_up_via_api(system))
        assert page.url.startswith(system.https_base + "/lab/")
        open_scope(page)
        page.get_by_role("button", name="Run").click()
        wait_frames(page, 2)
        page.get_by_role("button", name="Stop").click()
        expect(page.locator("#scope-state")).to_have_text("Stopped")
        assert sockets == [system.https_base.replace("https://", "wss://") + "/v1/lab/stream"]
        assert failures == []
    finally:
        context.close()
