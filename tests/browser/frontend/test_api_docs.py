"""The API reference page (issue 23, item 7): `/v1/docs` renders the OpenAPI document with
the vendored ReDoc in Chromium, on the API's own origin (nothing fetched from elsewhere), and
is linked from the lab console."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.frontend.conftest import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_api_docs_render_the_routes(browser, web):
    page = browser.page
    outside: list[str] = []
    # (ReDoc's sidebar asks cdn.redoc.ly for its logo: the page's CSP blocks it, so no
    # answer from elsewhere ever reaches the page)
    page.on("response", lambda r: None if r.url.startswith(web.base) or r.url.startswith(
        ("data:", "blob:")) else outside.append(r.url))
    browser.goto("/v1/docs")
    # ReDoc lists every operation by its path in the side menu; find one by name and open it
    expect(page.get_by_text("Open Event API reference").first).to_be_visible(timeout=TIMEOUT_MS)
    # ReDoc renders the whole 570 kB document at once: slow on a busy 2-core machine
    expect(page.get_by_role("heading", level=1).first).to_contain_text(
        "Open Event serverless API", timeout=4 * TIMEOUT_MS)
    for method, path in (("post", "/v1/orders/create-order"),
                         ("get", "/v1/access-codes/{item_id}/tickets")):
        expect(page.get_by_role("button", name=f"{method} {path}", exact=True)).to_be_attached(
            timeout=TIMEOUT_MS)
    page.get_by_role("menuitem", name="orders").first.click()
    page.wait_for_url("**#tag/orders*", timeout=TIMEOUT_MS)
    browser.screenshot("api-docs.png")
    assert outside == [], outside
    browser.assert_no_api_errors()
    licence = requests.get(web.base + "/v1/docs/LICENSE", timeout=10)
    assert licence.status_code == 200 and "MIT" in licence.text
    assert requests.get(web.base + "/v1/docs/../openapi.json", timeout=10).status_code in (
        200, 404)
    assert requests.get(web.base + "/v1/docs/secret.py", timeout=10).status_code == 404


def test_the_lab_console_links_the_api_docs(browser, web):
    browser.goto("/lab/")
    link = browser.page.get_by_role("link", name="API reference")
    # relative, like every link of the console (it is served under /lab/ on the API origin)
    expect(link).to_have_attribute("href", "../v1/docs", timeout=TIMEOUT_MS)
