from conftest import ORDER_IDENTIFIER, make_attendee, make_event, make_manifest
from openevent.documents.mail import attendee_mail, cancellation_mail, purchaser_mail

HOSTILE = '<script>alert("x")</script>'


def test_attendee_mail_links_the_ticket_and_names_event_and_ticket():
    manifest = make_manifest(2)
    body = attendee_mail(manifest, manifest.attendees[1], "https://tickets.example/t/101?sig=a&b=c")
    assert body.subject == "Your ticket for FOSSASIA Summit 2026"
    assert 'href="https://tickets.example/t/101?sig=a&amp;b=c"' in body.html
    assert "https://tickets.example/t/101?sig=a&b=c" in body.text
    assert "Hello Grace Hopper," in body.text
    assert "Here is your Student ticket for FOSSASIA Summit 2026." in body.text
    assert "Saturday 14 November 2026, 09:00–18:00 CET (Europe/Berlin)" in body.text


def test_mail_html_escapes_hostile_names_and_event_titles():
    manifest = make_manifest(
        attendees=(make_attendee(0, firstname=HOSTILE, lastname="& Co"),),
        event=make_event(name=f"Conf {HOSTILE}"),
    )
    body = attendee_mail(manifest, manifest.attendees[0], "https://x.example/t")
    assert "<script>" not in body.html
    assert "Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co," in body.html
    assert f"Hello {HOSTILE} & Co," in body.text  # plain text stays literal


def test_subject_never_carries_a_line_break():
    manifest = make_manifest(1, event=make_event(name="Conf\r\nBcc: victim@example.org"))
    body = purchaser_mail(manifest, "https://x.example/o")
    assert body.subject == "Your order for Conf Bcc: victim@example.org"


def test_purchaser_mail_lists_every_seat_with_its_link_and_the_total():
    manifest = make_manifest(3)
    body = purchaser_mail(
        manifest, "https://x.example/o", {"100": "https://x.example/t/100"}
    )
    assert "- Ada Lovelace: Early bird, €12.50\n  https://x.example/t/100\n" in body.text
    assert "- Grace Hopper: Student, Free\n" in body.text
    assert "- Katherine Johnson: Supporter, €99.00\n" in body.text
    assert "Total: €111.50 (paid via stripe)" in body.text
    assert '<a href="https://x.example/t/100">Ada Lovelace</a>' in body.html
    assert 'href="https://x.example/o"' in body.html
    assert f"Order {ORDER_IDENTIFIER}" in body.text


def test_cancellation_mail_quotes_the_escaped_cancel_note():
    manifest = make_manifest(1)
    body = cancellation_mail(manifest, "Venue flooded.\n<b>Sorry</b>", refunded=True)
    assert body.subject == "Your order for FOSSASIA Summit 2026 was cancelled"
    assert "Note from the organizer:\nVenue flooded.\n<b>Sorry</b>\n" in body.text
    assert "Venue flooded.\n&lt;b&gt;Sorry&lt;/b&gt;</blockquote>" in body.html
    assert "The €12.50 you paid is being refunded via stripe." in body.text


def test_cancellation_mail_without_note_or_refund_says_neither():
    body = cancellation_mail(make_manifest(1), "  ")
    assert "Note from the organizer" not in body.text
    assert "refunded" not in body.text
    assert "Note from the organizer" not in body.html
