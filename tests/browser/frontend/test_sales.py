"""The admin's sales pages in the real web app (issue 23, item 1): the Orders summary shows
an event's completed tickets and sales, the Revenue page the fee on them, the Invoices tab
opens — every figure from the API's maintained order figures."""

from __future__ import annotations

import re
import secrets

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.frontend.conftest import ADMIN, TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _completed_order(web, organizer: str, buyer: str, name: str) -> str:
    """A published event whose buyer's two-seat 30.00 order the organizer completed."""
    ev = web.api("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": name, "starts-at": "2031-06-01T09:00:00+00:00",
        "ends-at": "2031-06-02T17:00:00+00:00", "timezone": "UTC", "state": "published",
        "can-pay-onsite": True, "payment-currency": "USD", "location-name": "Town Hall"}}},
        token=organizer).json()["data"]["attributes"]["identifier"]
    ticket = web.api("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Standard", "type": "paid", "price": 30, "quantity": 20,
        "sales-starts-at": "2020-01-01T00:00:00+00:00",
        "sales-ends-at": "2031-05-31T00:00:00+00:00"},
        "relationships": {"event": {"data": {"type": "event", "id": ev}}}}},
        token=organizer).json()["data"]
    made = requests.post(web.base + "/v1/orders/create-order", json={
        "tickets": [{"id": ticket["id"], "quantity": 2}]},
        headers={"Authorization": f"JWT {buyer}"}, timeout=60)
    assert made.status_code == 201, made.text
    order = made.json()["data"]
    for att in order["relationships"]["attendees"]["data"]:
        assert web.api("PATCH", f"/v1/attendees/{att['id']}", {"data": {
            "type": "attendee", "id": att["id"], "attributes": {
                "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"}}},
            token=buyer).status_code == 200
    ident = order["attributes"]["identifier"]
    for token, attrs in ((buyer, {"status": "pending"}),
                         (buyer, {"status": "placed", "payment-mode": "onsite"}),
                         (organizer, {"status": "completed"})):
        resp = web.api("PATCH", f"/v1/orders/{ident}", {"data": {
            "type": "order", "id": order["id"], "attributes": attrs}}, token=token)
        assert resp.status_code == 200, resp.text
    return ev


def test_admin_sales_pages_show_the_figures(browser, web, new_account):
    _, _, organizer = new_account()
    _, _, buyer = new_account()
    name = f"Sales Fair {secrets.token_hex(3)}"
    _completed_order(web, organizer, buyer, name)
    admin = web.login(*ADMIN)
    fee = web.api("POST", "/v1/ticket-fees", {"data": {"type": "ticket-fee", "attributes": {
        "currency": "USD", "service-fee": 10, "maximum-fee": 100, "country": "US"}}},
        token=admin)
    assert fee.status_code == 201, fee.text
    page = browser.page
    browser.log_in(*ADMIN)

    browser.goto(f"/admin/sales/all?search={name.replace(' ', '+')}")
    browser.settle()
    row = page.locator("tr", has_text=name).first
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row).to_contain_text("60")  # completed sales, US$
    expect(row).to_contain_text("Venue")
    browser.screenshot("admin-sales.png")
    browser.assert_no_api_errors()

    browser.goto("/admin/sales/revenue")
    browser.settle()
    row = page.locator("tr", has_text=name).first
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row).to_contain_text("54")  # 60 less the 10 % fee
    browser.assert_no_api_errors()

    browser.goto("/admin/sales/invoices")
    browser.settle()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible(timeout=TIMEOUT_MS)
    browser.assert_no_api_errors()
    assert re.search(r"/admin/sales/invoices", page.url)
