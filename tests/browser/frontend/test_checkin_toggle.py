"""The organizer's check-in toggle in the web app's attendee tab (issue #23 item 5): it saves
`checkin-times`, and the attendee's `is-checked-in` follows, so the buyer's My Tickets says
"Checked In"; checking out turns it back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.frontend.conftest import TIMEOUT_MS
from tests.browser.frontend.test_events import _published_event_with_tickets

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _own_free_order(web, token: str, address: str, ticket_id: str) -> tuple[str, str]:
    """A completed free order whose attendee is the buyer (My Tickets matches by e-mail)."""
    created = web.api("POST", "/v1/orders/create-order",
                      {"tickets": [{"id": int(ticket_id), "quantity": 1}]}, token=token,
                      jsonapi=False)
    assert created.status_code == 201, created.text
    order = created.json()["data"]
    attendee = order["relationships"]["attendees"]["data"][0]["id"]
    resp = web.api("PATCH", f"/v1/attendees/{attendee}", {"data": {
        "type": "attendee", "id": attendee, "attributes": {
            "firstname": "Ada", "lastname": "Lovelace", "email": address}}}, token=token)
    assert resp.status_code == 200, resp.text
    done = web.api("PATCH", f"/v1/orders/{order['attributes']['identifier']}", {"data": {
        "type": "order", "id": order["id"], "attributes": {"status": "completed"}}},
        token=token)
    assert done.status_code == 200, done.text
    return str(order["attributes"]["identifier"]), str(attendee)


def _toggle(browser, date: str) -> None:
    page = browser.page
    row = page.locator("tr", has_text="Lovelace").first
    row.locator(".ui.dropdown", has_text="Checkin").click()
    row.locator(".ui.checkbox", has_text=date).click()


def test_check_in_toggle_sets_is_checked_in(browser, other_browser, web, new_account):
    address, password, organizer = new_account()
    identifier, tickets = _published_event_with_tickets(web, organizer, "Door Day")
    buyer_address, buyer_password, buyer = new_account()
    _, attendee = _own_free_order(web, buyer, buyer_address, tickets["Community"]["id"])
    page = browser.page
    browser.log_in(address, password)
    with browser.expect_errors(403, r"^/v1/users/\d+$"):  # the buyer's own document
        browser.goto(f"/events/{identifier}/tickets/attendees/completed")
        browser.settle()
        expect(page.get_by_text("Lovelace").first).to_be_visible(timeout=TIMEOUT_MS)
        _toggle(browser, "06-01-2031")
        expect(page.get_by_text("Attendee Checked-In Successfully")).to_be_visible(
            timeout=TIMEOUT_MS)
        browser.settle()
    stored = web.api("GET", f"/v1/attendees/{attendee}", token=organizer).json()["data"]
    assert stored["attributes"]["is-checked-in"] is True
    assert stored["attributes"]["checkin-times"] == "2031-06-01T13:00:00.000Z"
    figures = web.api("GET", f"/v1/checkin/events/{stored['relationships']['event']['data']['id']}"
                      "/figures", token=organizer, jsonapi=False).json()
    assert figures == {"checked-in": 1, "sold": 1}
    browser.assert_no_api_errors()

    # the app's own "Checked In" tab lists the attendee (filter is-checked-in eq true)
    with browser.expect_errors(403, r"^/v1/users/\d+$"):
        browser.goto(f"/events/{identifier}/tickets/attendees/checkedIn")
        browser.settle()
        expect(page.get_by_text("Lovelace").first).to_be_visible(timeout=TIMEOUT_MS)

    # the buyer's My Tickets says so
    other_browser.log_in(buyer_address, buyer_password)
    other_browser.goto("/my-tickets")
    other_browser.settle()
    expect(other_browser.page.locator(".ui.green.label", has_text="Checked In").first) \
        .to_be_visible(timeout=TIMEOUT_MS)

    # checking out from the same toggle turns the flag back
    with browser.expect_errors(403, r"^/v1/users/\d+$"):
        browser.goto(f"/events/{identifier}/tickets/attendees/completed")
        browser.settle()
        _toggle(browser, "06-01-2031")
        expect(page.get_by_text("Attendee Checked-Out Successfully")).to_be_visible(
            timeout=TIMEOUT_MS)
        browser.settle()
    stored = web.api("GET", f"/v1/attendees/{attendee}", token=organizer).json()["data"]
    assert stored["attributes"]["is-checked-in"] is False
    assert stored["attributes"]["is-checked-out"] is True
