"""The scanner page (/checkin/) in Debian's Chromium with a fake camera: Chromium plays a Y4M
file made from a real ticket PDF's QR code (`--use-fake-device-for-media-stream
--use-file-for-fake-video-capture=<y4m>`), against the real local runtime (`system`).

The door is set up over HTTP as people would: the admin creates and publishes an event with a
free ticket and orders seats; a registrar signs up, verifies their address and accepts the
admin's registrar invite from the mail. Tickets are downloaded as the PDFs the renderer made.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LocalSystem, system  # noqa: F401 - the shared fixture

CHROMIUM = "/usr/bin/chromium"
ADMIN = ("admin@openevent.local", "open-event-admin")
PASSWORD = "registrar-pw-1"
# where the renderer draws the QR code (openevent.documents.render.GEOMETRY), in mm
QR_LEFT, QR_TOP, QR_SIZE, MARGIN = 140, 80, 44, 8
FRAME_W, FRAME_H = 640, 480

expect.set_options(timeout=30_000)


def _login(system: LocalSystem, address: str, password: str) -> str:  # noqa: F811
    resp = system.send("POST", "/v1/auth/login", {"email": address, "password": password},
                       jsonapi=False)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def _mail_token(system: LocalSystem, address: str, subject_word: str) -> str:  # noqa: F811
    """The `token=` of the newest mail to `address` whose subject has `subject_word`."""
    import email
    from email import policy
    from urllib.parse import unquote

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in sorted((system.data_dir / "outbox").glob("*.eml"),
                           key=lambda p: p.stat().st_mtime, reverse=True):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(msg["To"]) and subject_word.lower() in str(msg["Subject"]).lower():
                body = msg.get_body(preferencelist=("plain", "html"))
                found = re.search(r"token=([A-Za-z0-9_\-.~%]+)",
                                  str(body.get_content()) if body else "")
                if found:
                    return unquote(found.group(1))
        time.sleep(0.2)
    raise AssertionError(f"no '{subject_word}' mail with a token to {address}")


@dataclass
class Door:
    system: Any
    admin: str
    event_id: str
    ticket_id: str
    registrar: str  # e-mail
    registrar_token: str

    def order(self, *names: str) -> dict[str, Any]:
        """A completed free order of one seat per name: {"id", "attendees"}."""
        ids = []
        for name in names:
            resp = self.system.send("POST", "/v1/attendees", {"data": {
                "type": "attendee",
                "attributes": {"firstname": name, "lastname": "Tester",
                               "email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"},
                "relationships": {
                    "event": {"data": {"type": "event", "id": self.event_id}},
                    "ticket": {"data": {"type": "ticket", "id": self.ticket_id}}}}},
                token=self.admin)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["data"]["id"])
        resp = self.system.send("POST", "/v1/orders", {"data": {
            "type": "order", "attributes": {}, "relationships": {
                "event": {"data": {"type": "event", "id": self.event_id}},
                "attendees": {"data": [{"type": "attendee", "id": i} for i in ids]}}}},
            token=self.admin)
        assert resp.status_code == 201, resp.text
        assert resp.json()["data"]["attributes"]["status"] == "completed"
        return {"id": resp.json()["data"]["id"], "attendees": ids}

    def cancel(self, order: dict[str, Any]) -> None:
        resp = self.system.send("DELETE", f"/v1/orders/{order['id']}", None, token=self.admin)
        assert resp.status_code == 200, resp.text

    def ticket_pdf(self, attendee_id: str) -> bytes:
        """The attendee's ticket PDF as the renderer made it (the API redirects to S3)."""
        deadline = time.monotonic() + 60
        while True:
            resp = requests.get(f"{self.system.base}/v1/attendees/{attendee_id}/ticket-pdf",
                                headers={"Authorization": f"JWT {self.admin}"}, timeout=60)
            if resp.status_code == 200 and resp.content.startswith(b"%PDF"):
                return resp.content
            assert time.monotonic() < deadline, resp.text[:300]
            time.sleep(0.5)

    def attendee(self, attendee_id: str) -> dict[str, Any]:
        resp = self.system.get(f"/v1/attendees/{attendee_id}", token=self.admin)
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["data"]["attributes"])

    def scan_via_api(self, code: str, device: str) -> dict[str, Any]:
        resp = self.system.send("POST", f"/v1/checkin/events/{self.event_id}/scans",
                                {"code": code, "scan-id": uuid.uuid4().hex, "device": device},
                                token=self.registrar_token, jsonapi=False)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())


@pytest.fixture(scope="module")
def door(system: LocalSystem) -> Door:  # noqa: F811
    admin = _login(system, *ADMIN)
    start = datetime.now(UTC) + timedelta(hours=2)
    for body in ({"data": {"type": "module", "id": "1", "attributes": {"ticket-include": True}}},):
        assert system.send("PATCH", "/v1/modules", body, token=admin).status_code == 200
    event = system.send("POST", "/v1/events", {"data": {"type": "event", "attributes": {
        "name": "Door Conf", "starts-at": start.isoformat(),
        "ends-at": (start + timedelta(days=2)).isoformat(), "timezone": "UTC",
        "state": "published", "location-name": "Hall A"}}}, token=admin)
    assert event.status_code == 201, event.text
    event_id = event.json()["data"]["id"]
    ticket = system.send("POST", "/v1/tickets", {"data": {"type": "ticket", "attributes": {
        "name": "Community", "type": "free", "quantity": 100,
        "sales-starts-at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "sales-ends-at": start.isoformat()},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}}, token=admin)
    assert ticket.status_code == 201, ticket.text
    # the registrar: signs up, verifies, accepts the invite from the mail
    registrar = f"registrar-{uuid.uuid4().hex[:8]}@example.com"
    resp = system.send("POST", "/v1/users", {"data": {"type": "user", "attributes": {
        "email": registrar, "password": PASSWORD, "first-name": "Reg", "public-name": "Reg"}}})
    assert resp.status_code == 201, resp.text
    verify = _mail_token(system, registrar, "verif")
    assert system.send("POST", "/v1/auth/verify-email", {"data": {"token": verify}},
                       jsonapi=False).status_code == 200
    invite = system.send("POST", "/v1/role-invites", {"data": {
        "type": "role-invite", "attributes": {"email": registrar, "role-name": "registrar"},
        "relationships": {"event": {"data": {"type": "event", "id": event_id}}}}}, token=admin)
    assert invite.status_code == 201, invite.text
    token = _login(system, registrar, PASSWORD)
    invite_token = _mail_token(system, registrar, "Invitation")
    accepted = system.send("POST", "/v1/role_invites/accept-invite",
                           {"data": {"token": invite_token}}, token=token, jsonapi=False)
    assert accepted.status_code == 200, accepted.text
    return Door(system, admin, event_id, ticket.json()["data"]["id"], registrar, token)


# --- fake camera files ---------------------------------------------------------------------

def _pgm(data: bytes) -> tuple[int, int, bytes]:
    """A binary PGM (P5, 8-bit) as (width, height, pixels)."""
    fields: list[bytes] = []
    at = 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at) + 1
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    assert fields[0] == b"P5" and fields[3] == b"255", fields
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[at + 1:at + 1 + width * height]


def y4m_from_gray(width: int, height: int, pixels: bytes, path: Path, frames: int = 3) -> Path:
    """A Y4M video (FRAME_W x FRAME_H, 4:2:0) showing the gray image centred on white."""
    assert width <= FRAME_W and height <= FRAME_H
    luma = bytearray(b"\xff" * (FRAME_W * FRAME_H))
    left, top = (FRAME_W - width) // 2, (FRAME_H - height) // 2
    for row in range(height):
        start = (top + row) * FRAME_W + left
        luma[start:start + width] = pixels[row * width:(row + 1) * width]
    chroma = b"\x80" * (FRAME_W * FRAME_H // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{FRAME_W} H{FRAME_H} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + bytes(luma) + chroma)
    return path


def y4m_from_ticket_pdf(pdf: bytes, path: Path) -> Path:
    """The QR code of a real ticket PDF, rasterised by poppler (the QR slot plus a margin)."""
    side_mm = QR_SIZE + 2 * MARGIN
    dpi = int(440 / (side_mm / 25.4))
    px = lambda mm: int(round(mm / 25.4 * dpi))  # noqa: E731
    pdf_path = path.with_suffix(".pdf")
    pdf_path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1",
                    "-x", str(px(QR_LEFT - MARGIN)), "-y", str(px(QR_TOP - MARGIN)),
                    "-W", "440", "-H", "440", "-singlefile", str(pdf_path),
                    str(path.with_suffix(""))], check=True)
    width, height, pixels = _pgm(path.with_suffix(".pgm").read_bytes())
    return y4m_from_gray(width, height, pixels, path)


def y4m_from_text(text: str, path: Path) -> Path:
    """A QR code of `text` drawn as the renderer draws one (segno, level M), 8 px a module."""
    import segno

    matrix = segno.make(text, error="m", mask=0, micro=False).matrix
    scale, quiet = 8, 4
    side = (len(matrix) + 2 * quiet) * scale
    rows = []
    for y in range(side):
        my = y // scale - quiet
        line = bytearray(b"\xff" * side)
        if 0 <= my < len(matrix):
            for x in range(side):
                mx = x // scale - quiet
                if 0 <= mx < len(matrix) and matrix[my][mx]:
                    line[x] = 0
        rows.append(bytes(line))
    return y4m_from_gray(side, side, b"".join(rows), path)


def decode_pdf_qr(pdf: bytes, tmp: Path) -> str:
    """The QR text in a ticket PDF (zbar on poppler's rendering)."""
    pdf_path = tmp / "ticket.pdf"
    pdf_path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_path),
                    str(tmp / "ticket")], check=True)
    return subprocess.run(["zbarimg", "--raw", "-q", str(tmp / "ticket.png")],
                          capture_output=True, text=True, check=True).stdout.strip()


# --- the scanner in a browser with a fake camera ---------------------------------------------

@dataclass
class Scanner:
    page: Page
    errors: list[str]

    def results(self) -> list[str]:
        return self.page.locator("#history li").evaluate_all(
            "items => items.map(li => li.dataset.result).reverse()")


@pytest.fixture
def scanner(playwright: Any, door: Door) -> Iterator[Any]:
    """`scanner(y4m)`: a fresh Chromium whose camera plays `y4m`, on /checkin/, logged in as
    the registrar with the door's event open and its offline list downloaded; on the
    runtime's https origin with `https=True` (its certificate accepted, as a person does)."""
    browsers = []

    def open_scanner(y4m: Path, https: bool = False) -> Scanner:
        base = door.system.https_base if https else door.system.base
        assert base is not None
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}", "--no-sandbox"])
        browsers.append(browser)
        context = browser.new_context(base_url=base, viewport={"width": 1200, "height": 900},
                                      ignore_https_errors=https)
        context.grant_permissions(["camera"], origin=base)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/checkin/")
        page.get_by_label("Email").fill(door.registrar)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name=re.compile("Door Conf")).click()
        expect(page.get_by_role("heading", level=1, name="Door Conf")).to_be_visible()
        expect(page.locator("#prepared")).to_contain_text("Ready offline")
        return Scanner(page, errors)

    yield open_scanner
    for browser in browsers:
        browser.close()
