"""Saving forms in the real web app shows the app's confirmation (issue 23, items 2 and 6):
the admin's system settings save as they load, and a person's profile save says "Your
profile has been updated"."""

from __future__ import annotations

import base64
import json

import pytest
from playwright.sync_api import expect

from tests.browser.frontend.conftest import ADMIN, TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_admin_settings_save_as_they_load(https_browser, web_https):
    """On the runtime's https origin, as `make run` prints it for the web app, with the
    frontend URL the runtime serves by default (that origin): the app's URL fields (fixed
    `https://` prefix) show it stripped, Save passes the app's own check, and the API stores
    what it served."""
    browser, web = https_browser, web_https
    page = browser.page
    admin = web.login(*ADMIN)
    assert web.base.startswith("https://127.0.0.1:")
    served = web.api("GET", "/v1/settings", token=admin).json()["data"]["attributes"]
    assert (served["frontend-url"], served["static-domain"]) == (web.base, web.base)
    browser.log_in(*ADMIN)
    browser.goto("/admin/settings")
    browser.settle()
    shown = web.base.removeprefix("https://")
    expect(page.locator("#frontend_url")).to_have_value(shown, timeout=TIMEOUT_MS)
    patches = []
    page.on("request", lambda r: patches.append(r.url)
            if r.method == "PATCH" and "/v1/settings" in r.url else None)
    # (a click before the form wires its validation is lost: `submit` clicks again then)
    saved = page.get_by_text("Settings have been saved successfully.").first
    browser.submit(page.get_by_role("button", name="Save").first, saved)
    expect(saved).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("Please enter")).to_have_count(0)
    browser.settle()
    assert patches and set(patches) == {web.base + "/v1/settings/1"}, patches  # its origin
    browser.assert_no_api_errors()
    # ... and what it saved is what the API served
    settings = web.api("GET", "/v1/settings", token=admin).json()["data"]["attributes"]
    assert (settings["frontend-url"], settings["static-domain"]) == (web.base, web.base)


def test_profile_save_shows_the_confirmation(browser, web, new_account):
    address, password, _ = new_account()
    page = browser.page
    browser.log_in(address, password)
    browser.goto("/account/profile")
    browser.settle()
    first_name = page.locator("input#name")
    expect(first_name).to_be_visible(timeout=TIMEOUT_MS)
    first_name.fill("Grace")
    page.get_by_role("button", name="Update Changes").click()
    expect(page.get_by_text("Your profile has been updated").first).to_be_visible(
        timeout=TIMEOUT_MS)
    browser.assert_no_api_errors()
    token = web.login(address, password)
    payload = token.split(".")[1]
    user_id = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))[
        "identity"]
    me = web.api("GET", f"/v1/users/{user_id}", token=token).json()["data"]["attributes"]
    assert (me["first-name"], me["language-prefrence"]) == ("Grace", "en")


def test_admin_settings_on_the_local_http_origin_refuse_for_the_documented_reason(browser, web):
    """The limit of docs/frontend-compat.md row 25, pinned on the http-only runtime
    (`OPENEVENT_HTTPS_PORT=off`): with its own http URL served (an absolute URL the app
    itself uses as Stripe's return URL), the Frontend URL field shows it unstripped and the
    app's own pattern refuses it before any request — if the app or the served value ever
    changes this, the doc must change too."""
    page = browser.page
    admin = web.login(*ADMIN)
    served = web.api("GET", "/v1/settings", token=admin).json()["data"]["attributes"]
    assert served["frontend-url"] == web.base and web.base.startswith("http://")
    browser.log_in(*ADMIN)
    browser.goto("/admin/settings")
    browser.settle()
    expect(page.locator("#frontend_url")).to_have_value(web.base, timeout=TIMEOUT_MS)
    patches = []
    page.on("request", lambda r: patches.append(r.url)
            if r.method == "PATCH" and "/v1/settings" in r.url else None)
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Please enter a valid URL for Frontend").first).to_be_visible(
        timeout=TIMEOUT_MS)
    browser.settle()
    assert patches == []
    browser.assert_no_api_errors()
