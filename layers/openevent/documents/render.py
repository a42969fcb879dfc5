"""Ticket PDFs: one order manifest in, the purchaser PDF (every seat) and one PDF per attendee out.

How it is fast enough (measured on the 2-core dev machine, bench/pdf.py, DejaVu Sans):

* A full ticket page laid out by WeasyPrint costs ~35 ms of layout + ~14 ms of painting (an
  inline SVG QR alone is ~13 ms: WeasyPrint parses SVG paths in Python), so 100 seats laid out
  naively take ~5 s. Font subsetting with fontTools added ~45 ms per PDF written; with
  HarfBuzz's subsetter (Debian ``libharfbuzz-subset0``, found by WeasyPrint at run time) it is
  ~1 ms, so writing one PDF per attendee from ``Document.copy()`` costs ~19 ms each.
* So the order is rendered as ONE WeasyPrint document: page 1 is the static layer (event header,
  dates, venue, labels, order summary), and each seat page holds only what differs (attendee,
  ticket, price, "Ticket i of N", QR caption) at fixed positions. A WeasyPrint ``finisher`` then
  rewrites the PDF page tree: every seat page's ``/Contents`` becomes ``[static, seat, QR]``, the
  static stream stored once, and page 1 leaves the tree. Seat pages cost ~8 ms of layout.
* The QR code is drawn as PDF path operators straight from segno's module matrix (vector,
  ~0.1 ms) instead of through WeasyPrint's SVG parser; segno runs with a fixed mask because
  choosing the best of 8 masks costs ~5 ms per code in pure Python.
* Per-attendee PDFs are pages split out of the purchaser PDF with pikepdf (~0.55 ms each; pypdf
  took ~2.3 ms). They share
  the order's font subset; WeasyPrint keeps one resource dictionary per document, and seat pages
  carry no images (the QR is in the page's own stream), so no other seat's data is copied in.
* One ``FontConfiguration`` and the compiled stylesheet are cached per process (a warm Lambda
  renders many orders); WeasyPrint's defaults are kept otherwise: ``full_fonts`` makes every PDF
  ~700 KB bigger for no speed gain, ``optimize_images``/``presentational_hints`` change nothing
  here.

Result (bench/pdf.py, warm, purchaser PDF + every attendee PDF): 1 seat 60 ms; 100 seats 14.3 ms
per ticket. xhtml2pdf on a comparable table template: 53 ms / 27 ms per ticket for the order
document alone, 110 ms / 71 ms for Open Event's job (order PDF + each attendee PDF rendered on
its own), and it draws non-Latin names (Greek here) as blank boxes. Cold first call ~0.9 s
(WeasyPrint import + fontconfig).

Only ``data:`` URLs are ever fetched by WeasyPrint (the logo is downloaded here first, with a
timeout and a size cap), so organizer text cannot make the renderer read files or the network.
"""

from __future__ import annotations

import base64
import io
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from openevent.documents.formatting import (
    format_event_dates,
    format_moment,
    format_money,
    format_price,
)
from openevent.documents.manifest import ManifestAttendee, OrderManifest

if TYPE_CHECKING:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

TEMPLATES = Path(__file__).parent / "templates"
MM_TO_PT = 72 / 25.4
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_TIMEOUT_S = 3.0

# Slot geometry in millimetres from the page's top-left corner, shared by the stylesheet and
# the QR drawing so the static and per-seat layers line up.
GEOMETRY: dict[str, float] = {
    "card_left": 16,
    "card_top": 16,
    "card_width": 178,
    "card_height": 140,
    "header_height": 54,
    "kicker_top": 23,
    "text_left": 24,
    "text_width": 106,
    "attendee_top": 82,
    "ticket_top": 105,
    "price_top": 124,
    "order_top": 141,
    "qr_left": 140,
    "qr_top": 80,
    "qr_size": 44,
}

_LOGO_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class RenderError(RuntimeError):
    """The renderer produced something other than one page per seat."""


@dataclass(frozen=True, slots=True)
class RenderedOrder:
    """The documents of one order."""

    purchaser_pdf: bytes  # every seat, one page each, in manifest order
    attendee_pdfs: dict[str, bytes]  # attendee id → that attendee's one-page PDF


def render_order(
    manifest: OrderManifest, *, logo: bytes | None = None, fetch_logo: bool = True
) -> RenderedOrder:
    """Render the purchaser PDF and one PDF per attendee for ``manifest``.

    ``logo``: the event logo's bytes if the caller already has them (e.g. from S3). Otherwise,
    when ``fetch_logo`` is true, ``manifest.event.logo_url`` (http, https or data) is fetched
    with a short timeout; a logo that cannot be had is left out rather than failing the order.
    """
    if not manifest.attendees:
        raise ValueError("an order without attendees has no tickets to render")
    import weasyprint  # heavy (~0.7 s cold): only the PDF function pays for it

    if logo is None and fetch_logo and manifest.event.logo_url:
        logo = download_logo(manifest.event.logo_url)
    html = _ticket_html(manifest, _logo_data_url(logo))
    font_config, stylesheet = _stylesheet()
    document = weasyprint.HTML(
        string=html, base_url=str(TEMPLATES), url_fetcher=_data_only_fetcher()
    ).render(stylesheets=[stylesheet], font_config=font_config)
    if len(document.pages) != len(manifest.attendees) + 1:
        raise RenderError(
            f"expected {len(manifest.attendees) + 1} pages, got {len(document.pages)}"
        )
    qr_streams = [_qr_operators(manifest.qr_payload(a)) for a in manifest.attendees]
    purchaser_pdf = document.write_pdf(finisher=_StaticLayerFinisher(qr_streams))
    return RenderedOrder(
        purchaser_pdf=purchaser_pdf,
        attendee_pdfs=_split_pages(purchaser_pdf, manifest),
    )


def download_logo(url: str) -> bytes | None:
    """Fetch a logo from an http(s) or data URL; ``None`` if that fails or it is too big."""
    if url.startswith("data:"):
        try:
            header, _, payload = url.partition(",")
            if header.endswith(";base64"):
                return base64.b64decode(payload, validate=False)
            return urllib.parse.unquote_to_bytes(payload)
        except ValueError:
            return None
    if not url.startswith(("http://", "https://")):
        return None  # never file:, ftp: or anything else the organizer may have typed
    try:
        # Scheme checked above: http(s) only.
        request = urllib.request.Request(url, headers={"User-Agent": "openevent-tickets"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=LOGO_TIMEOUT_S) as response:  # noqa: S310
            body: bytes = response.read(LOGO_MAX_BYTES + 1)
    except (OSError, ValueError):
        return None
    return body if len(body) <= LOGO_MAX_BYTES else None


def _logo_data_url(logo: bytes | None) -> str | None:
    if not logo:
        return None
    mime = next((kind for magic, kind in _LOGO_TYPES if logo.startswith(magic)), None)
    if mime is None:
        if logo[:4] == b"RIFF" and logo[8:12] == b"WEBP":
            mime = "image/webp"
        elif b"<svg" in logo[:2048]:
            mime = "image/svg+xml"  # its own references can only be data: URLs, see fetcher
        else:
            return None
    return f"data:{mime};base64,{base64.b64encode(logo).decode('ascii')}"


def _name_size(name: str) -> str:
    # The header has a fixed height (the seat layer is positioned against it), so long
    # event names get a smaller size instead of pushing the layout down.
    if len(name) <= 34:
        return "large"
    return "medium" if len(name) <= 70 else "small"


def _ticket_html(manifest: OrderManifest, logo_src: str | None) -> str:
    event = manifest.event
    seats = [
        {
            "attendee": attendee,
            "price": format_price(attendee.ticket_price, manifest.currency),
            "qr_payload": manifest.qr_payload(attendee),
        }
        for attendee in manifest.attendees
    ]
    return _jinja().get_template("tickets.html").render(
        order=manifest,
        event=event,
        seats=seats,
        g=GEOMETRY,
        logo_src=logo_src,
        name_size=_name_size(event.name),
        event_dates=format_event_dates(event.starts_at, event.ends_at, event.timezone),
        completed_at=None
        if manifest.completed_at is None
        else format_moment(manifest.completed_at, event.timezone),
        order_total=format_money(manifest.amount, manifest.currency),
    )


@lru_cache(maxsize=1)
def _jinja() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=1)
def _stylesheet() -> tuple[FontConfiguration, weasyprint.CSS]:
    """Font configuration and compiled CSS, built once per process (~20 ms saved per order)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    css_source = _jinja().get_template("tickets.css").render(g=GEOMETRY)
    return font_config, weasyprint.CSS(string=css_source, font_config=font_config)


@lru_cache(maxsize=1)
def _data_only_fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


def _qr_matrix(payload: str) -> tuple[bytearray, ...]:
    import segno

    # A fixed mask: any mask decodes; scoring all 8 costs ~5 ms per code in pure Python.
    code = segno.make(payload, error="m", mask=0, micro=False)
    return tuple(code.matrix)


def _qr_operators(payload: str) -> bytes:
    """PDF content-stream operators that paint the QR code of ``payload`` into its slot."""
    matrix = _qr_matrix(payload)
    modules = len(matrix)
    size = GEOMETRY["qr_size"] * MM_TO_PT
    left = GEOMETRY["qr_left"] * MM_TO_PT
    bottom = _A4_HEIGHT_PT - (GEOMETRY["qr_top"] + GEOMETRY["qr_size"]) * MM_TO_PT
    unit = size / modules
    rects: list[str] = []
    for row, line in enumerate(matrix):
        y = modules - 1 - row  # PDF y grows upwards
        column = 0
        while column < modules:
            if line[column]:
                start = column
                while column < modules and line[column]:
                    column += 1
                rects.append(f"{start} {y} {column - start} 1 re")
            else:
                column += 1
    # One path filled once, so no hairline seams between modules.
    ops = f"q 0 g {unit:.4f} 0 0 {unit:.4f} {left:.3f} {bottom:.3f} cm\n" + "\n".join(rects)
    return (ops + "\nf Q\n").encode("ascii")


_A4_HEIGHT_PT = 297 * MM_TO_PT


class _StaticLayerFinisher:
    """Rewrites WeasyPrint's page tree: static page 1 becomes every seat page's background."""

    def __init__(self, qr_streams: list[bytes]) -> None:
        self._qr_streams = qr_streams

    def __call__(self, document: Any, pdf: Any) -> None:
        import pydyf

        kids = list(pdf.pages["Kids"])
        # pydyf stores Kids as a flat [number, 0, "R", number, 0, "R", ...] array.
        page_numbers = kids[0::3]
        static_page = pdf.objects[page_numbers[0]]
        static_contents = static_page["Contents"]
        save = pydyf.Stream([b"q"])
        restore = pydyf.Stream([b"Q"])
        pdf.add_object(save)
        pdf.add_object(restore)
        for number, qr in zip(page_numbers[1:], self._qr_streams, strict=True):
            page = pdf.objects[number]
            qr_stream = pydyf.Stream([qr], compress=True)
            pdf.add_object(qr_stream)
            # Each layer in q/Q: WeasyPrint's streams start by flipping the y axis.
            page["Contents"] = pydyf.Array([
                save.reference, static_contents, restore.reference,
                save.reference, page["Contents"], restore.reference,
                qr_stream.reference,
            ])
        pdf.pages["Kids"] = pydyf.Array(kids[3:])
        pdf.pages["Count"] = len(page_numbers) - 1
        # The static page object stays in the file unreferenced; blank it so no reader
        # mistakes it for a page.
        static_page.clear()
        static_page["Type"] = "/Unused"


def _split_pages(purchaser_pdf: bytes, manifest: OrderManifest) -> dict[str, bytes]:
    """One single-page PDF per attendee, copied out of the purchaser PDF by qpdf (pikepdf)."""
    import pikepdf

    result: dict[str, bytes] = {}
    with pikepdf.open(io.BytesIO(purchaser_pdf)) as source:
        if len(source.pages) != len(manifest.attendees):
            raise RenderError(f"purchaser PDF has {len(source.pages)} pages")
        for page, attendee in zip(source.pages, manifest.attendees, strict=True):
            with pikepdf.new() as single:
                # Copies only what this page references: its streams, fonts, the static layer.
                single.pages.append(page)
                single.docinfo["/Title"] = _attendee_title(manifest, attendee)
                single.docinfo["/Creator"] = "Open Event"
                out = io.BytesIO()
                single.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
                result[attendee.id] = out.getvalue()
    return result


def _attendee_title(manifest: OrderManifest, attendee: ManifestAttendee) -> str:
    return f"Ticket · {manifest.event.name} · {attendee.name}"


__all__ = ["GEOMETRY", "RenderError", "RenderedOrder", "download_logo", "render_order"]
