"""Home page and account flows in the real web app: anonymous home page, sign up with the
automatic log-in, verify by the mailed link, log in, forgot password."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.frontend.conftest import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_home_page_anonymous_lists_published_events(browser, web, new_account):
    _, _, token = new_account()
    resp = web.api("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Browser Conf", "starts-at": "2031-05-01T09:00:00+00:00",
        "ends-at": "2031-05-02T17:00:00+00:00", "timezone": "UTC", "state": "published",
        "is-featured": True, "location-name": "Online"}}}, token=token)
    assert resp.status_code == 201, resp.text
    browser.goto("/")
    expect(browser.page.get_by_text("Browser Conf").first).to_be_visible(timeout=TIMEOUT_MS)
    browser.settle()
    browser.screenshot("home-page.png")
    browser.assert_no_api_errors()


def test_sign_up_logs_in_then_verify_and_log_in_again(browser, other_browser, web):
    address, password = "newcomer@example.com", "correct-horse-1"
    page = browser.page
    browser.goto("/register")
    page.fill("input[name=email]", address)
    page.fill("input[name=password]", password)
    page.fill("input[name=password_repeat]", password)
    browser.settle()
    # The app thanks the person, then logs them in with the new account.
    browser.submit(page.locator("button.register"), page.get_by_role("button", name="OK"))
    page.get_by_role("button", name="OK").click()
    page.wait_for_url(re.compile(r"/$"), timeout=TIMEOUT_MS)
    browser.settle()
    expect(page.locator(".ui.menu").get_by_text(address).first).to_be_attached()
    expect(page.get_by_role("link", name="Login")).to_have_count(0)
    browser.assert_no_api_errors()

    # The verification mail's link, opened in another (logged-out) browser.
    text = web.wait_for_mail(address, "verif")
    link = re.search(r"(http://\S+/verify\?token=\S+)", text)
    assert link, text
    assert link.group(1).startswith(web.base), link.group(1)
    other_browser.page.goto(link.group(1))
    expect(other_browser.page.get_by_text("your email has been verified successfully")) \
        .to_be_visible(timeout=TIMEOUT_MS)
    other_browser.assert_no_api_errors()

    # ... and logging in there with the new account.
    other_browser.log_in(address, password)
    expect(other_browser.page.get_by_role("link", name="Login")).to_have_count(0)


def test_log_in_and_forgot_password(browser, other_browser, web, new_account):
    address, password, _ = new_account()
    page = browser.page
    browser.log_in(address, password)
    # Logged in: the menu shows the person's public name instead of the Login link.
    expect(page.get_by_role("link", name="Login")).to_have_count(0)
    expect(page.locator(".ui.menu").get_by_text("Ada").first).to_be_attached()
    browser.assert_no_api_errors()

    anon = other_browser.page
    other_browser.goto("/reset-password")
    other_browser.settle()
    anon.fill("input[name=email]", address)
    other_browser.submit(anon.locator("button.reset-password"), re.compile(r"/login$"))
    expect(anon.get_by_text("Please go to the link sent to your email")).to_be_visible(
        timeout=TIMEOUT_MS)
    text = web.wait_for_mail(address, "password")
    link = re.search(r"(http://\S+/reset-password\?token=\S+)", text)
    assert link, text
    anon.goto(link.group(1))
    other_browser.settle()
    anon.fill("input[name=password]", "brand-new-pass-9")
    anon.fill("input[name=password_repeat]", "brand-new-pass-9")
    other_browser.submit(anon.locator("button.reset-password"), re.compile(r"/login$"))
    expect(anon.get_by_text("Your password has been reset successfully")).to_be_visible(
        timeout=TIMEOUT_MS)
    other_browser.assert_no_api_errors()
    assert web.login(address, "brand-new-pass-9")
