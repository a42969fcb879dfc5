"""The ticket PDFs as a person and a door scanner see them (poppler-utils, zbar-tools)."""

import base64
import dataclasses
import http.server
import io
import threading
from datetime import UTC, datetime

import pytest
from conftest import ORDER_IDENTIFIER, make_attendee, make_event, make_manifest
from openevent.documents.render import RenderedOrder, download_logo, render_order
from pdftools import page_count, pdf_text, qr_codes

HOSTILE = '<b>Eve</b> <img src="file:///etc/passwd"> & "Mallory"'


@pytest.fixture(scope="module")
def three_seats() -> RenderedOrder:
    return render_order(make_manifest(3))


def test_pdfs_are_pdf_files(three_seats):
    assert three_seats.purchaser_pdf.startswith(b"%PDF-")
    assert [pdf[:5] for pdf in three_seats.attendee_pdfs.values()] == [b"%PDF-"] * 3


def test_purchaser_pdf_has_one_page_per_seat(three_seats):
    assert page_count(three_seats.purchaser_pdf) == 3


def test_each_attendee_gets_a_one_page_pdf_keyed_by_attendee_id(three_seats):
    assert sorted(three_seats.attendee_pdfs) == ["100", "101", "102"]
    assert [page_count(pdf) for pdf in three_seats.attendee_pdfs.values()] == [1, 1, 1]


def test_attendee_ticket_shows_event_attendee_ticket_price_and_order(three_seats):
    text = pdf_text(three_seats.attendee_pdfs["100"])
    assert "FOSSASIA Summit 2026" in text
    assert "Ada Lovelace" in text
    assert "Early bird" in text
    assert "€12.50" in text
    assert ORDER_IDENTIFIER in text
    assert "Kulturbrauerei, Berlin" in text
    assert "TICKET 1 OF 3" in text  # the kicker is uppercased by CSS


def test_ticket_dates_are_in_the_event_timezone_with_its_name(three_seats):
    text = pdf_text(three_seats.attendee_pdfs["101"])
    assert "Saturday 14 November 2026, 09:00–18:00 CET (Europe/Berlin)" in text


def test_zero_price_ticket_reads_free(three_seats):
    assert "Free" in pdf_text(three_seats.attendee_pdfs["101"])


def test_attendee_pdf_holds_no_other_seat(three_seats):
    text = pdf_text(three_seats.attendee_pdfs["101"])
    assert "Grace Hopper" in text
    assert "Katherine Johnson" not in text
    assert f"{ORDER_IDENTIFIER}-100" not in text
    assert f"{ORDER_IDENTIFIER}-102" not in text


def test_purchaser_pdf_lists_every_attendee_in_order(three_seats):
    text = pdf_text(three_seats.purchaser_pdf)
    positions = [text.index(name) for name in ("Grace Hopper", "Katherine Johnson")]
    assert positions == sorted(positions)
    assert text.count("FOSSASIA Summit 2026") == 3


def test_attendee_qr_code_decodes_to_order_identifier_dash_attendee_id(three_seats):
    assert qr_codes(three_seats.attendee_pdfs["102"]) == [f"{ORDER_IDENTIFIER}-102"]


@pytest.mark.slow
def test_purchaser_pdf_qr_codes_decode_one_per_seat_in_order(three_seats):
    assert qr_codes(three_seats.purchaser_pdf) == [
        f"{ORDER_IDENTIFIER}-100",
        f"{ORDER_IDENTIFIER}-101",
        f"{ORDER_IDENTIFIER}-102",
    ]


def test_hostile_names_are_printed_literally_not_interpreted():
    manifest = make_manifest(
        attendees=(make_attendee(0, firstname=HOSTILE, lastname=""),),
        event=make_event(name="<script>alert(1)</script> Conf", location_name="<i>Hall</i>"),
    )
    text = pdf_text(render_order(manifest).attendee_pdfs["100"])
    # The long name wraps; compare without whitespace.
    assert "".join(HOSTILE.split()) in "".join(text.split())
    assert "<script>alert(1)</script> Conf" in text
    assert "<i>Hall</i>" in text


def test_ticket_shows_non_latin_names():
    manifest = make_manifest(attendees=(make_attendee(0, firstname="Δημήτρης", lastname="Παπάς"),))
    assert "Δημήτρης Παπάς" in pdf_text(render_order(manifest).attendee_pdfs["100"])


def test_ticket_dates_follow_the_event_timezone():
    event = make_event(
        starts_at=datetime(2026, 7, 1, 13, 0, tzinfo=UTC),
        ends_at=datetime(2026, 7, 1, 21, 0, tzinfo=UTC),
        timezone="America/New_York",
    )
    text = pdf_text(render_order(make_manifest(1, event=event)).purchaser_pdf)
    assert "Wednesday 1 July 2026, 09:00–17:00 EDT (America/New_York)" in text


def test_order_without_attendees_is_refused():
    with pytest.raises(ValueError, match="without attendees"):
        render_order(dataclasses.replace(make_manifest(1), attendees=()))


PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


@pytest.fixture
def logo_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG_1X1)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/logo.png"
    server.shutdown()
    server.server_close()


def test_logo_is_downloaded_from_its_http_url(logo_server):
    assert download_logo(logo_server) == PNG_1X1


def test_logo_from_a_file_url_is_never_read():
    assert download_logo("file:///etc/passwd") is None


def test_unreachable_logo_leaves_the_ticket_without_one():
    event = make_event(logo_url="http://127.0.0.1:9/logo.png")
    rendered = render_order(make_manifest(1, event=event))
    assert page_count(rendered.purchaser_pdf) == 1


def test_ticket_with_a_logo_embeds_it_as_an_image(logo_server):
    rendered = render_order(make_manifest(1, event=make_event(logo_url=logo_server)))
    assert _image_count(rendered.attendee_pdfs["100"]) == 1


def test_ticket_without_a_logo_has_no_image(three_seats):
    assert _image_count(three_seats.attendee_pdfs["100"]) == 0


def _image_count(pdf: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages[0].get_images())
