"""The admin's pages in the real web app: dashboard statistics, users, settings, ticket fees,
system roles."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.frontend.conftest import ADMIN, TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_admin_dashboard_users_and_settings(browser, web, new_account):
    someone, _, _ = new_account()
    page = browser.page
    browser.log_in(*ADMIN)

    browser.goto("/admin")
    browser.settle()
    expect(page.get_by_text("Users").first).to_be_visible(timeout=TIMEOUT_MS)
    browser.assert_no_api_errors()

    for status in ("all", "active"):
        # searched for: other tests of this worker may have made more than a page of users
        browser.goto(f"/admin/users/{status}?search={someone.split('@')[0]}")
        browser.settle()
        expect(page.get_by_text(someone).first).to_be_visible(timeout=TIMEOUT_MS)
        browser.assert_no_api_errors()

    browser.goto("/admin/settings")
    browser.settle()
    page.get_by_role("button", name="Save").first.click()
    browser.settle()
    browser.assert_no_api_errors()

    for path in ("/admin/settings/ticket-fees", "/admin/permissions/system-roles",
                 "/admin/permissions/event-roles", "/admin/sales"):
        browser.goto(path)
        browser.settle()
        browser.assert_no_api_errors()
