"""What a newcomer does after `make run`, over HTTP only: accounts, events and tickets, an
order whose PDFs arrive through the real S3 event path, the lab, and a restart."""

from __future__ import annotations

import email as email_lib
import re
import time
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
import requests

from tests.e2e.conftest import start_system, stop_system

pytestmark = pytest.mark.slow
ADMIN = {"email": "admin@openevent.local", "password": "open-event-admin"}
TOKEN = re.compile(r"token=([A-Za-z0-9._~-]+)")


def last_mail_to(system, address, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for path in sorted((system.data_dir / "outbox").glob("*.eml")):
            msg = email_lib.message_from_bytes(path.read_bytes(), policy=policy.default)
            if msg["To"] == address:
                found.append(msg)
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
