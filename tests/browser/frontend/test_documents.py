"""The order page's three downloads in the real web app, before and after the renderer has
run (issue 22, item 2): "All Tickets" (`/v1/tickets/<order>`), "Download Order
Confirmation" (`/v1/orders/invoices/<order>`) and an attendee's "Download Ticket"
(`/v1/orders/attendees/<id>.pdf`).

The API functions never render: before the renderer has produced the PDFs, a download
answers a PDF saying the tickets are being prepared (202, saved by the app like any
download) and queues the order for the renderer; once it has run, the same click saves the
tickets. "Before rendering" is made by deleting the order's rendered PDFs from the embedded
AWS's documents bucket, which is the state a download finds while the render is queued.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import expect

from tests.browser.frontend.conftest import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RENDER_WAIT_SECONDS = 10  # openevent.documents.pipeline: a manifest is queued again after


def _s3(web):
    found = re.search(r"moto at (http://127\.0\.0\.1:\d+)", web.log.read_text())
    assert found, "the runtime's banner names no embedded AWS"
    return boto3.client("s3", endpoint_url=found.group(1), region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


def _documents(s3, identifier: str) -> tuple[str, list[str]]:
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        keys = [o["Key"] for o in s3.list_objects_v2(
            Bucket=bucket, Prefix=f"tickets/{identifier}/").get("Contents", [])]
        if keys:
            return bucket, keys
    return "", []


def _wait_rendered(s3, identifier: str, count: int) -> tuple[str, list[str]]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        bucket, keys = _documents(s3, identifier)
        if len(keys) >= count:
            return bucket, keys
        time.sleep(0.5)
    raise AssertionError(f"the renderer did not render order {identifier}")


def _text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "download.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _free_order(web, new_account) -> tuple[str, str, tuple[str, str, str]]:
    _, _, organizer = new_account()
    event = web.api("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Docs Day", "starts-at": "2031-06-01T09:00:00+00:00",
        "ends-at": "2031-06-02T17:00:00+00:00", "timezone": "UTC", "state": "published",
        "location-name": "Town Hall"}}}, token=organizer)
    assert event.status_code == 201, event.text
    event_id = event.json()["data"]["id"]
    ticket = web.api("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Entry", "type": "free", "price": 0, "quantity": 20,
        "sales-starts-at": "2020-01-01T00:00:00+00:00",
        "sales-ends-at": "2031-05-31T00:00:00+00:00"},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}},
        token=organizer)
    assert ticket.status_code == 201, ticket.text
    buyer = new_account()
    attendee = web.api("POST", "/v1/attendees", {"data": {"type": "attendee", "attributes": {
        "firstname": "Ada", "lastname": "Lovelace", "email": buyer[0]}, "relationships": {
        "event": {"data": {"type": "event", "id": event_id}},
        "ticket": {"data": {"type": "ticket", "id": ticket.json()["data"]["id"]}}}}},
        token=buyer[2])
    assert attendee.status_code == 201, attendee.text
    order = web.api("POST", "/v1/orders", {"data": {"type": "order", "attributes": {},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}},
                          "attendees": {"data": [{"type": "attendee",
                                                  "id": attendee.json()["data"]["id"]}]}}}},
        token=buyer[2])
    assert order.status_code == 201, order.text
    assert order.json()["data"]["attributes"]["status"] == "completed"
    return order.json()["data"]["attributes"]["identifier"], attendee.json()["data"]["id"], buyer


def _download(browser, button) -> bytes:
    with browser.page.expect_download(timeout=TIMEOUT_MS) as download:
        button.click()
    path = download.value.path()
    assert path is not None
    return Path(path).read_bytes()


def test_each_document_downloads_before_and_after_rendering(browser, web, new_account,
                                                           tmp_path):
    identifier, attendee, buyer = _free_order(web, new_account)
    s3 = _s3(web)
    bucket, keys = _wait_rendered(s3, identifier, 2)  # the order's and the attendee's PDF
    browser.log_in(buyer[0], buyer[1])
    browser.goto(f"/orders/{identifier}/view")
    browser.settle()
    page = browser.page
    expect(page.get_by_text("Docs Day").first).to_be_visible(timeout=TIMEOUT_MS)
    buttons = {"All Tickets": page.get_by_role("button", name="All Tickets"),
               "Download Order Confirmation": page.get_by_role(
                   "button", name="Download Order Confirmation"),
               "Download Ticket": page.get_by_role("button", name="Download Ticket").first}
    for name, button in buttons.items():
        expect(button).to_be_visible(timeout=TIMEOUT_MS)
        time.sleep(RENDER_WAIT_SECONDS + 1)  # the manifest's last write is old enough
        for key in keys:  # not rendered yet, as while the render is queued
            s3.delete_object(Bucket=bucket, Key=key)
        before = _download(browser, button)
        assert before.startswith(b"%PDF-"), name
        assert "Your tickets are being prepared" in _text(before, tmp_path), name
        _wait_rendered(s3, identifier, len(keys))  # the download queued the renderer
        after = _download(browser, button)
        text = _text(after, tmp_path)
        assert after.startswith(b"%PDF-") and "being prepared" not in text, name
        assert "Ada" in text and "Docs Day" in text, (name, text[:300])
    browser.assert_no_api_errors()
