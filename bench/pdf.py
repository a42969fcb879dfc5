"""Ticket PDF benchmark: our WeasyPrint renderer vs xhtml2pdf (Open Event Server's renderer).

Run: ``.venv/bin/python bench/pdf.py`` (needs the benchmark-only ``xhtml2pdf``).

Both renderers do the same job for a 1-seat and a 100-seat order: one purchaser PDF with every
seat plus one PDF per attendee (what Open Event Server does: it renders each attendee's PDF and
the order's PDF separately). xhtml2pdf gets a plain table template with a PNG QR code as Open
Event's templates use. Timings are the best of ``--repeat`` warm runs (a warm Lambda renders many
orders); the first (cold) run of each is printed too. Prints ms per ticket and the ratio.
"""

from __future__ import annotations

import argparse
import base64
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from html import escape

from openevent.documents.formatting import format_event_dates, format_money, format_price
from openevent.documents.manifest import (
    ManifestAttendee,
    ManifestEvent,
    ManifestPurchaser,
    OrderManifest,
)
from openevent.documents.render import render_order


def sample_order(seats: int) -> OrderManifest:
    """An order of ``seats`` seats with varied, non-ASCII attendee names."""
    names = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Zoë", "O'Brien"), ("Δημήτρης", "Παπάς")]
    event = ManifestEvent(
        id="12",
        identifier="3fa9c1d2",
        name="FOSSASIA Summit 2026",
        starts_at=datetime(2026, 11, 14, 1, tzinfo=UTC),
        ends_at=datetime(2026, 11, 15, 10, tzinfo=UTC),
        timezone="Asia/Singapore",
        location_name="Lifelong Learning Institute, Singapore",
    )
    attendees = tuple(
        ManifestAttendee(
            id=str(1000 + i),
            firstname=names[i % 4][0],
            lastname=f"{names[i % 4][1]} {i}",
            email=f"a{i}@example.org",
            ticket_id="3",
            ticket_name="Early bird",
            ticket_price=Decimal("12.50"),
        )
        for i in range(seats)
    )
    return OrderManifest(
        identifier="0b6c1a7e-6f0e-4b8e-9a52-3c1d2e4f5a6b",
        status="completed",
        amount=Decimal("12.50") * seats,
        currency="SGD",
        payment_mode="stripe",
        event=event,
        purchaser=ManifestPurchaser(name="Ada Lovelace", email="ada@example.org"),
        attendees=attendees,
        completed_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
    )


_XHTML_PAGE = """
<div style="page-break-after: always">
<table style="width: 100%; border: 1px solid #1d2430; padding: 8px">
<tr><td colspan="2" style="background-color: #1d2430; color: #ffffff; padding: 12px">
<div style="font-size: 9px">TICKET {number} OF {count}</div>
<div style="font-size: 22px; font-weight: bold">{event}</div>
<div>{dates}</div><div>{venue}</div></td></tr>
<tr><td style="padding: 12px">
<div style="font-size: 8px; color: #5b6675">ATTENDEE</div>
<div style="font-size: 17px; font-weight: bold">{attendee}</div>
<div style="font-size: 8px; color: #5b6675">TICKET</div><div>{ticket}</div>
<div style="font-size: 8px; color: #5b6675">PRICE</div><div>{price}</div>
<div style="font-size: 8px; color: #5b6675">ORDER</div><div>{order}</div></td>
<td style="width: 170px; text-align: center"><img src="{qr}" width="160" height="160"><br>
<span style="font-size: 6px">{payload}</span></td></tr></table>
<p>Purchased by {purchaser} - order total {total}</p></div>
"""


def _xhtml_pages(manifest: OrderManifest, attendees: tuple[ManifestAttendee, ...]) -> str:
    import segno

    event = manifest.event
    pages = []
    for number, attendee in enumerate(attendees, 1):
        payload = manifest.qr_payload(attendee)
        png = io.BytesIO()
        segno.make(payload, error="m", micro=False).save(png, kind="png", scale=4)
        pages.append(
            _XHTML_PAGE.format(
                number=number,
                count=len(attendees),
                event=escape(event.name),
                dates=escape(format_event_dates(event.starts_at, event.ends_at, event.timezone)),
                venue=escape(event.location_name or ""),
                attendee=escape(attendee.name),
                ticket=escape(attendee.ticket_name),
                price=escape(format_price(attendee.ticket_price, manifest.currency)),
                order=manifest.identifier,
                qr="data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
                payload=payload,
                purchaser=escape(manifest.purchaser.name),
                total=escape(format_money(manifest.amount, manifest.currency)),
            )
        )
    return "<html><body>" + "".join(pages) + "</body></html>"


def _xhtml2pdf(html: str) -> bytes:
    from xhtml2pdf import pisa

    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out)
    if status.err:
        raise RuntimeError("xhtml2pdf failed")
    return out.getvalue()


def render_with_xhtml2pdf(manifest: OrderManifest) -> tuple[bytes, dict[str, bytes]]:
    """Open Event's way: the order PDF, then each attendee's PDF rendered on its own."""
    purchaser = _xhtml2pdf(_xhtml_pages(manifest, manifest.attendees))
    attendees = {a.id: _xhtml2pdf(_xhtml_pages(manifest, (a,))) for a in manifest.attendees}
    return purchaser, attendees


def render_order_document_with_xhtml2pdf(manifest: OrderManifest) -> bytes:
    """Only the all-seats document (the 'plain template' reference figure)."""
    return _xhtml2pdf(_xhtml_pages(manifest, manifest.attendees))


def _best_ms(job: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(cold ms, best warm ms) of ``job``."""
    timings = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        job()
        timings.append((time.perf_counter() - started) * 1000)
    return timings[0], min(timings[1:])


def main() -> None:
    import logging

    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)  # it warns per missing glyph
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'order':>9} {'renderer':<34} {'cold ms':>9} {'warm ms':>9} {'ms/ticket':>10}")
    for seats in (1, 100):
        manifest = sample_order(seats)
        repeat = args.repeat if seats == 1 else max(1, args.repeat - 1)
        ours_cold, ours = _best_ms(partial(render_order, manifest), repeat)
        theirs_cold, theirs = _best_ms(partial(render_with_xhtml2pdf, manifest), repeat)
        doc_cold, doc = _best_ms(
            partial(render_order_document_with_xhtml2pdf, manifest), repeat
        )
        rows = [
            ("weasyprint (ours, all PDFs)", ours_cold, ours),
            ("xhtml2pdf (all PDFs, Open Event)", theirs_cold, theirs),
            ("xhtml2pdf (order document only)", doc_cold, doc),
        ]
        for name, cold, warm in rows:
            print(f"{seats:>3} seats {name:<34} {cold:>9.1f} {warm:>9.1f} {warm / seats:>10.2f}")
        print(
            f"{seats:>3} seats ratio ours / xhtml2pdf per ticket: same job "
            f"{ours / theirs:.2f}, vs its order document only {ours / doc:.2f}"
        )


if __name__ == "__main__":
    main()
