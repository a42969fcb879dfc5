"""The admin's sales pages in the real web app (issue 23, item 1): the Orders summary shows
an event's completed tickets and sales, the Revenue page the fee on them, the Invoices tab
opens — every figure from the API's maintained order figures."""

from __future__ import annotations

import base64
import json
import re
import secrets

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.frontend.conftest import ADMIN, TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _completed_order(web, organizer: str, buyer: str, name: str, location: str = "Town Hall",
                     code: dict | None = None) -> str:
    """A published event whose buyer's two-seat 30.00 order the organizer completed (with
    `code`, a discount code's attributes and relationships, applied to it)."""
    ev = web.api("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": name, "starts-at": "2031-06-01T09:00:00+00:00",
        "ends-at": "2031-06-02T17:00:00+00:00", "timezone": "UTC", "state": "published",
        "can-pay-onsite": True, "payment-currency": "USD", "location-name": location}}},
        token=organizer).json()["data"]["attributes"]["identifier"]
    ticket = web.api("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Standard", "type": "paid", "price": 30, "quantity": 20,
        "sales-starts-at": "2020-01-01T00:00:00+00:00",
        "sales-ends-at": "2031-05-31T00:00:00+00:00"},
        "relationships": {"event": {"data": {"type": "event", "id": ev}}}}},
        token=organizer).json()["data"]
    body: dict = {"tickets": [{"id": ticket["id"], "quantity": 2}]}
    if code is not None:
        made = web.api("POST", "/v1/discount-codes", {"data": {
            "type": "discount-code", "attributes": code["attributes"],
            "relationships": {"event": {"data": {"type": "event", "id": ev}},
                              "tickets": {"data": [{"type": "ticket", "id": ticket["id"]}]},
                              **code.get("relationships", {})}}}, token=organizer)
        assert made.status_code == 201, made.text
        body["discount-code"] = code["attributes"]["code"]
    made = requests.post(web.base + "/v1/orders/create-order", json=body,
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


def test_admin_sales_by_organizer_location_marketer_and_code(browser, web, new_account):
    """The Organizer, Location, Marketer and Discounted tabs: a completed two-seat order at
    30.00 less a 5.00 code (50.00) shows in its organizer's, place's, marketer's and code's
    rows, from the roll-ups the order transactions keep."""
    email, _, organizer = new_account()
    _, _, buyer = new_account()
    tag = secrets.token_hex(3)
    claims = organizer.split(".")[1]
    me = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["identity"]
    place, code = f"Aula {tag}", f"MKT{tag}".upper()
    name = f"Group Fair {tag}"
    _completed_order(web, organizer, buyer, name, location=place, code={
        "attributes": {"code": code, "type": "amount", "value": 5, "used-for": "ticket",
                       "tickets-number": 10},
        "relationships": {"marketer": {"data": {"type": "user", "id": str(me)}}}})
    page = browser.page
    browser.log_in(*ADMIN)

    browser.goto("/admin/sales/organizers")
    browser.settle()
    row = page.locator("tr", has_text=email).first
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row).to_contain_text("Ada Lovelace")
    expect(row).to_contain_text("50")  # completed sales, US$
    browser.screenshot("admin-sales-organizers.png")
    browser.assert_no_api_errors()

    browser.goto("/admin/sales/locations")
    browser.settle()
    row = page.locator("tr", has_text=place).first
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row.locator("td").nth(1)).to_have_text("2")  # completed tickets
    expect(row.locator("td").nth(2)).to_contain_text("50")
    browser.assert_no_api_errors()

    browser.goto("/admin/sales/discounted-events")
    browser.settle()
    row = page.locator("tr", has_text=code).first
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(row).to_contain_text(name)
    expect(row).to_contain_text(email)  # the code's marketer
    expect(row.locator("td").nth(3)).to_have_text("2")
    expect(row.locator("td").nth(4)).to_contain_text("50")
    browser.assert_no_api_errors()

    browser.goto("/admin/sales/marketer")
    browser.settle()
    # the newest marketer first: this one (the page shows the marketer's name only)
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Ada Lovelace", timeout=TIMEOUT_MS)
    expect(row.locator("td").nth(2)).to_have_text("2")
    expect(row.locator("td").nth(3)).to_contain_text("50")
    browser.screenshot("admin-sales-marketer.png")
    browser.assert_no_api_errors()
