"""The scanner page at the door, camera and all (issue #24 item 4): each test opens Chromium
with a fake camera playing a real ticket PDF's QR code (or a forged one) and checks what the
registrar sees, and what the API then holds."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.checkin.conftest import (
    decode_pdf_qr,
    y4m_from_text,
    y4m_from_ticket_pdf,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "images"


def _result(scanner, word: str) -> None:
    expect(scanner.page.locator("#result-word")).to_have_text(word)


def test_scan_admits_then_says_already_in_with_the_time(door, scanner, tmp_path):
    order = door.order("Ada")
    aid = order["attendees"][0]
    pdf = door.ticket_pdf(aid)
    one = scanner(y4m_from_ticket_pdf(pdf, tmp_path / "ada.y4m"))
    one.page.get_by_role("button", name="Start camera").click()
    expect(one.page.locator("#decoder")).to_contain_text("Scanning")
    _result(one, "Admitted")
    expect(one.page.locator("#result-name")).to_have_text("Ada Tester")
    expect(one.page.locator("#result-ticket")).to_have_text("Community")
    stored = door.attendee(aid)
    assert stored["is-checked-in"] is True
    # the camera keeps seeing the same ticket: the next answer is "already in", with the time
    _result(one, "Already in")
    detail = one.page.locator("#result-detail")
    expect(detail).to_contain_text("Checked in at")
    assert detail.get_attribute("data-at") == stored["checkin-times"]
    expect(one.page.locator("#figures")).to_contain_text("Checked in 1 of")
    SHOTS.mkdir(parents=True, exist_ok=True)
    one.page.screenshot(path=str(SHOTS / "checkin-scanner.png"))
    assert door.attendee(aid)["checkin-times"] == stored["checkin-times"]  # admitted once
    assert not one.errors


def test_scan_admits_on_the_https_origin(door, scanner, tmp_path):
    """The scanner page opened on the runtime's https origin (`make run` serves both): the
    camera, the offline list and the check-in call all work there."""
    order = door.order("Grace")
    aid = order["attendees"][0]
    one = scanner(y4m_from_ticket_pdf(door.ticket_pdf(aid), tmp_path / "grace.y4m"),
                  https=True)
    assert one.page.url.startswith(door.system.https_base + "/checkin/")
    one.page.get_by_role("button", name="Start camera").click()
    _result(one, "Admitted")
    expect(one.page.locator("#result-name")).to_have_text("Grace Tester")
    assert door.attendee(aid)["is-checked-in"] is True
    assert not one.errors


def test_cancelled_orders_ticket_is_refused(door, scanner, tmp_path):
    order = door.order("Carl")
    pdf = door.ticket_pdf(order["attendees"][0])
    door.cancel(order)
    one = scanner(y4m_from_ticket_pdf(pdf, tmp_path / "carl.y4m"))
    one.page.get_by_role("button", name="Start camera").click()
    _result(one, "Refused")
    expect(one.page.locator("#result-detail")).to_contain_text("cancelled")
    assert door.attendee(order["attendees"][0])["is-checked-in"] is False


def test_forged_code_is_refused(door, scanner, tmp_path):
    """A code of the right shape for a real attendee, signed with another key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from openevent.signing import codes

    order = door.order("Fay")
    real = decode_pdf_qr(door.ticket_pdf(order["attendees"][0]), tmp_path)
    claim, _, _ = codes.parse(real)
    forged = codes.sign(claim, Ed25519PrivateKey.generate())
    assert len(forged) == len(real) and forged != real
    one = scanner(y4m_from_text(forged, tmp_path / "forged.y4m"))
    one.page.get_by_role("button", name="Start camera").click()
    _result(one, "Refused")
    expect(one.page.locator("#result-detail")).to_contain_text("forged")
    assert door.attendee(order["attendees"][0])["is-checked-in"] is False


def test_offline_admits_locally_and_syncs_on_reconnect(door, scanner, tmp_path):
    order = door.order("Olga", "Otto")
    olga, otto = order["attendees"]
    pdf = door.ticket_pdf(olga)
    otto_code = decode_pdf_qr(door.ticket_pdf(otto), tmp_path)
    one = scanner(y4m_from_ticket_pdf(pdf, tmp_path / "olga.y4m"))
    page = one.page
    page.locator("#device").fill("Door Offline")
    page.locator("#device").dispatch_event("change")
    page.context.set_offline(True)
    page.get_by_role("button", name="Start camera").click()
    _result(one, "Admitted")
    expect(page.locator("#result-name")).to_have_text("Olga Tester")
    expect(page.locator("#result-detail")).to_contain_text("offline")
    expect(page.locator("#network")).to_have_text("Offline")
    page.get_by_role("button", name="Stop camera").click()
    # a second ticket typed in, offline too; meanwhile another device admits it online
    page.get_by_label("Code").fill(otto_code)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#result-name")).to_have_text("Otto Tester")
    expect(page.locator("#queue")).to_contain_text("2 check-in(s) waiting")
    assert door.attendee(olga)["is-checked-in"] is False  # nothing reached the server yet
    assert door.scan_via_api(otto_code, "Door B")["result"] == "admitted"
    page.context.set_offline(False)
    expect(page.locator("#queue")).to_have_text("")
    stored = door.attendee(olga)
    assert stored["is-checked-in"] is True and stored["device-name-checkin"] == "Door Offline"
    conflicts = page.locator("#conflict-list li")
    expect(conflicts).to_have_count(1)
    expect(conflicts.first).to_contain_text("Otto Tester")
    expect(conflicts.first).to_contain_text("Door B")
    assert not one.errors


def test_two_browsers_scanning_one_ticket_at_once_admit_one(door, scanner, tmp_path):
    order = door.order("Tess")
    y4m = y4m_from_ticket_pdf(door.ticket_pdf(order["attendees"][0]), tmp_path / "tess.y4m")
    first, second = scanner(y4m), scanner(y4m)
    # Playwright's sync pages belong to this thread: start both cameras back to back
    for s in (first, second):
        s.page.evaluate("setTimeout(() => document.getElementById('camera').click(), 0)")
    for s in (first, second):
        expect(s.page.locator("#history li")).not_to_have_count(0)
    firsts = sorted(s.results()[0] for s in (first, second))
    assert firsts == ["admitted", "already-in"]
    stored = door.attendee(order["attendees"][0])
    assert len(stored["checkin-times"].split(",")) == 1


def test_scanner_verifies_offline_without_the_server(door, scanner, tmp_path):
    """The page's own Ed25519 check (WebCrypto) accepts the real code and refuses a flipped
    bit, with no request made."""
    order = door.order("Vera")
    code = decode_pdf_qr(door.ticket_pdf(order["attendees"][0]), tmp_path)
    one = scanner(y4m_from_text(code, tmp_path / "vera.y4m"))
    raw = bytearray(base64.b32decode(code[2:] + "=" * (-len(code[2:]) % 8)))
    raw[-1] ^= 1
    flipped = "OE" + base64.b32encode(bytes(raw)).decode().rstrip("=")
    requests_seen: list[str] = []
    one.page.on("request", lambda r: requests_seen.append(r.url))
    verdicts = one.page.evaluate("""async ([good, bad]) => {
        const codes = await import('/checkin/js/codes.js');
        const store = JSON.parse(localStorage.getItem(Object.keys(localStorage)
            .find(k => k.startsWith('openevent.checkin.event.') && k.endsWith('.list'))));
        const keys = await codes.importKeys(store.keys);
        const out = [];
        for (const c of [good, bad]) {
            try { await codes.verify(c, keys); out.push('valid'); }
            catch (e) { out.push('invalid'); }
        }
        return out;
    }""", [code, flipped])
    assert verdicts == ["valid", "invalid"]
    assert not [u for u in requests_seen if "/v1/" in u]
