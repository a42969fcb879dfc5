"""What a newcomer does after `make run`, over HTTP only: accounts, events and tickets, an
order whose PDFs arrive through the real S3 event path, the lab, and a restart."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import mails_to
from tests.e2e.conftest import start_system, stop_system

pytestmark = pytest.mark.slow
ADMIN = {"email": "admin@openevent.local", "password": "open-event-admin"}
TOKEN = re.compile(r"token=([A-Za-z0-9._~-]+)")


def last_mail_to(system, address, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        found = mails_to(system.data_dir / "outbox", address)
        if found or time.monotonic() > deadline:
            assert found, f"no mail to {address}"
            return found[-1]
        time.sleep(0.1)


def login(system, email, password):
    return system.send("POST", "/auth/session", {"email": email, "password": password},
                       jsonapi=False)


def test_banner_says_where_everything_is(system):
    text = system.log.read_text()
    assert f"{system.base}/v1" in text
    assert "admin@openevent.local" in text
    assert str(system.data_dir / "outbox") in text


def test_account_flow_signup_verify_login_reset(system):
    created = system.send("POST", "/v1/users", {"data": {"type": "user", "attributes": {
        "email": "newcomer@example.com", "password": "first-password"}}})
    assert created.status_code == 201, created.text
    token = TOKEN.search(last_mail_to(system, "newcomer@example.com")
                         .get_body(("plain",)).get_content()).group(1)
    verified = system.send("POST", "/v1/auth/verify-email", {"data": {"token": token}},
                           jsonapi=False)
    assert verified.json() == {"message": "Email Verified"}
    first = login(system, "newcomer@example.com", "first-password")
    assert first.status_code == 200
    old_jwt = first.json()["access_token"]
    assert system.send("POST", "/v1/auth/reset-password",
                       {"data": {"email": "newcomer@example.com"}},
                       jsonapi=False).status_code == 200
    reset_mail = last_mail_to(system, "newcomer@example.com")
    reset_token = TOKEN.search(reset_mail.get_body(("plain",)).get_content()).group(1)
    assert reset_token != token
    changed = system.send("PATCH", "/v1/auth/reset-password",
                          {"data": {"token": reset_token, "password": "second-password"}},
                          jsonapi=False)
    assert changed.status_code == 200
    assert login(system, "newcomer@example.com", "second-password").status_code == 200
    assert login(system, "newcomer@example.com", "first-password").status_code == 401
    uid = created.json()["data"]["id"]
    assert system.get(f"/v1/users/{uid}", token=old_jwt).status_code == 401
    again = system.send("PATCH", "/v1/auth/reset-password",
                        {"data": {"token": reset_token, "password": "third-password"}},
                        jsonapi=False)
    assert again.status_code == 404


def test_order_produces_pdfs_and_mails_through_s3_events(system):
    admin = login(system, **ADMIN).json()["access_token"]
    modules = system.send("PATCH", "/v1/modules", {"data": {"type": "module", "id": "1",
                          "attributes": {"ticket-include": True}}}, token=admin)
    assert modules.status_code == 200
    start = datetime.now(UTC) + timedelta(days=20)
    event = system.send("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Local Conf", "starts-at": start.isoformat(),
        "ends-at": (start + timedelta(hours=8)).isoformat(), "timezone": "Europe/Berlin",
        "state": "published", "location-name": "Berlin"}}}, token=admin)
    assert event.status_code == 201, event.text
    event_id = event.json()["data"]["id"]
    ticket = system.send("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Community", "type": "free", "quantity": 10,
        "sales-starts-at": datetime.now(UTC).isoformat(),
        "sales-ends-at": (start - timedelta(days=1)).isoformat()},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}},
        token=admin)
    assert ticket.status_code == 201, ticket.text
    attendee = system.send("POST", "/v1/attendees", {"data": {"type": "attendee", "attributes": {
        "firstname": "Lin", "lastname": "Local", "email": "lin@example.com"},
        "relationships": {
            "event": {"data": {"type": "event", "id": event_id}},
            "ticket": {"data": {"type": "ticket", "id": ticket.json()["data"]["id"]}}}}},
        token=admin)
    assert attendee.status_code == 201, attendee.text
    attendee_id = attendee.json()["data"]["id"]
    order = system.send("POST", "/v1/orders", {"data": {"type": "order", "attributes": {},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}},
                          "attendees": {"data": [{"type": "attendee", "id": attendee_id}]}}}},
        token=admin)
    assert order.status_code == 201, order.text
    assert order.json()["data"]["attributes"]["status"] == "completed"
    deadline = time.monotonic() + 60
    while True:
        pdf_url = system.get(f"/v1/attendees/{attendee_id}", token=admin).json()[
            "data"]["attributes"]["pdf-url"]
        if pdf_url or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert pdf_url, "the S3 event never rendered the ticket"
    download = requests.get(pdf_url, headers={"Authorization": f"JWT {admin}"}, timeout=30)
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    mail = last_mail_to(system, "lin@example.com", timeout=30)
    assert "/ticket-pdf?token=" in mail.get_body(("plain",)).get_content()


def test_lab_call_reaches_the_simulated_device(system):
    admin = login(system, **ADMIN).json()["access_token"]
    deadline = time.monotonic() + 20
    while not any(d["online"] for d in system.get("/v1/lab/devices", token=admin).json()):
        assert time.monotonic() < deadline, "no lab device came online"
        time.sleep(0.2)
    resp = system.send("POST", "/v1/lab/calls", {"function": "get_voltage('CH1')"},
                       token=admin, jsonapi=False)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "done"


def test_paid_order_through_the_stripe_sandbox(system):
    """Organizer connects Stripe, a buyer pays on the (fake) hosted checkout page, the signed
    webhook completes the order and its tickets are rendered."""
    admin = login(system, **ADMIN).json()["access_token"]
    stripe_base = re.search(r"Stripe (http://127\.0\.0\.1:\d+)", system.log.read_text()).group(1)
    system.send("PATCH", "/v1/modules", {"data": {"type": "module", "id": "1", "attributes": {
        "ticket-include": True, "payment-include": True}}}, token=admin)
    start = datetime.now(UTC) + timedelta(days=30)
    event = system.send("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Paid Conf", "starts-at": start.isoformat(),
        "ends-at": (start + timedelta(hours=8)).isoformat(), "timezone": "UTC",
        "state": "published", "can-pay-by-stripe": True, "payment-currency": "USD"}}},
        token=admin)
    assert event.status_code == 201, event.text
    event_id = event.json()["data"]["id"]
    connect = requests.get(f"{stripe_base}/oauth/authorize", params={
        "response_type": "code", "state": "s", "redirect_uri": "http://127.0.0.1/cb"},
        allow_redirects=False, timeout=10)
    code = re.search(r"code=([^&]+)", connect.headers["Location"]).group(1)
    authorization = system.send("POST", "/v1/stripe-authorization", {"data": {
        "type": "stripe-authorization", "attributes": {"stripe-auth-code": code},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}}, token=admin)
    assert authorization.status_code == 201, authorization.text
    assert "access" not in authorization.text.lower().replace("access-", "")
    ticket = system.send("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Standard", "type": "paid", "price": 12.5, "quantity": 3},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}}, token=admin)
    assert ticket.status_code == 201, ticket.text
    buyer_doc = {"data": {"type": "user", "attributes": {"email": "payer@example.com",
                                                         "password": "payer-password"}}}
    assert system.send("POST", "/v1/users", buyer_doc).status_code == 201
    buyer = login(system, "payer@example.com", "payer-password").json()["access_token"]
    attendee = system.send("POST", "/v1/attendees", {"data": {"type": "attendee", "attributes": {
        "firstname": "Pat", "lastname": "Payer", "email": "payer@example.com"},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}},
                          "ticket": {"data": {"type": "ticket",
                                              "id": ticket.json()["data"]["id"]}}}}}, token=buyer)
    assert attendee.status_code == 201, attendee.text
    order = system.send("POST", "/v1/orders", {"data": {"type": "order", "attributes": {
        "payment-mode": "stripe"}, "relationships": {
            "event": {"data": {"type": "event", "id": event_id}},
            "attendees": {"data": [{"type": "attendee", "id": attendee.json()["data"]["id"]}]}}}},
        token=buyer)
    assert order.status_code == 201, order.text
    attrs = order.json()["data"]["attributes"]
    assert attrs["status"] == "pending" and attrs["amount"] == 12.5
    assert attrs["payment-url"].startswith(stripe_base)
    paid = requests.post(attrs["payment-url"], allow_redirects=False, timeout=30)
    assert paid.status_code in (302, 303)
    identifier = attrs["identifier"]
    deadline = time.monotonic() + 30
    while True:
        current = system.get(f"/v1/orders/{identifier}", token=buyer).json()["data"]["attributes"]
        if current["status"] == "completed" and current["tickets-pdf-url"] or \
                time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert current["status"] == "completed"
    assert current["paid-via"] == "stripe"
    assert current["tickets-pdf-url"]


def test_concurrent_buyers_never_oversell_over_http(system):
    """Twenty buyers at once, over HTTP against the running system, for five seats."""
    from concurrent.futures import ThreadPoolExecutor

    admin = login(system, **ADMIN).json()["access_token"]
    system.send("PATCH", "/v1/modules", {"data": {"type": "module", "id": "1", "attributes": {
        "ticket-include": True}}}, token=admin)
    # The buyers below sign up without verifying: free seats for them need the admin's
    # consent (issue 20, item 12) — this test is about the race, not about that rule.
    allowed = system.send("PATCH", "/v1/settings", {"data": {"type": "setting", "id": "1",
                          "attributes": {"allow-unverified-free-orders": True}}}, token=admin)
    assert allowed.status_code == 200, allowed.text
    start = datetime.now(UTC) + timedelta(days=40)
    event = system.send("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Tiny Conf", "starts-at": start.isoformat(),
        "ends-at": (start + timedelta(hours=3)).isoformat(), "timezone": "UTC",
        "state": "published"}}}, token=admin).json()["data"]["id"]
    ticket = system.send("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Seat", "type": "free", "quantity": 5},
        "relationships": {"event": {"data": {"type": "event", "id": event}}}}},
        token=admin).json()["data"]["id"]
    tokens = []
    for i in range(20):
        email = f"rush{i}@example.com"
        system.send("POST", "/v1/users", {"data": {"type": "user", "attributes": {
            "email": email, "password": "rush-password"}}})
        tokens.append(login(system, email, "rush-password").json()["access_token"])

    def buy(token):
        return system.send("POST", "/v1/orders/create-order",
                           {"tickets": [{"id": ticket, "quantity": 1}]}, token=token,
                           jsonapi=False).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(buy, tokens))
    assert statuses.count(201) == 5, statuses
    assert set(statuses) <= {201, 409}, statuses
    available = system.get(f"/v1/events/{event}/tickets/availability").json()
    assert available[0]["available"] == 0


# Last: it stops the shared system.
def test_restart_keeps_users_and_modules(system):
    admin = login(system, **ADMIN).json()["access_token"]
    system.send("PATCH", "/v1/modules", {"data": {"type": "module", "id": "1",
                "attributes": {"donation-include": True}}}, token=admin)
    system.send("POST", "/v1/users", {"data": {"type": "user", "attributes": {
        "email": "stays@example.com", "password": "persisted-pw"}}})
    port = int(system.base.rsplit(":", 1)[1])
    log = stop_system(system)
    assert "stopped; data kept in" in log
    restarted = start_system(system.data_dir, port)
    try:
        assert login(restarted, "stays@example.com", "persisted-pw").status_code == 200
        attrs = restarted.get("/v1/modules").json()["data"]["attributes"]
        assert attrs["donation-include"] is True and attrs["ticket-include"] is True
    finally:
        stop_system(restarted)
