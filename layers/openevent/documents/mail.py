"""Ticket mail bodies: the attendee's ticket link, the purchaser's order summary, cancellation.

Jinja2 templates under ``templates/mail/``: ``*.html`` are autoescaped (names, event titles and
cancel notes are user input), ``*.txt`` are not. Sending (SES) is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from openevent.documents.formatting import format_event_dates, format_money, format_price
from openevent.documents.manifest import ManifestAttendee, OrderManifest

_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class MailBody:
    """A ready-to-send mail: one-line subject, HTML part and plain-text part."""

    subject: str
    html: str
    text: str


def attendee_mail(
    manifest: OrderManifest, attendee: ManifestAttendee, ticket_link: str
) -> MailBody:
    """The mail to one attendee with the link to their ticket PDF."""
    subject = f"Your ticket for {manifest.event.name}"
    return _render("attendee", subject, manifest, attendee=attendee, ticket_link=ticket_link)


def purchaser_mail(
    manifest: OrderManifest, order_link: str, ticket_links: Mapping[str, str] | None = None
) -> MailBody:
    """The order summary for the purchaser: every seat, the total, links.

    ``ticket_links`` maps attendee id → that attendee's ticket URL; seats without one are
    listed without a link.
    """
    links = ticket_links or {}
    seats = [
        {
            "attendee": attendee,
            "price": format_price(attendee.ticket_price, manifest.currency),
            "link": links.get(attendee.id),
        }
        for attendee in manifest.attendees
    ]
    subject = f"Your order for {manifest.event.name}"
    return _render("purchaser", subject, manifest, seats=seats, order_link=order_link)


def cancellation_mail(
    manifest: OrderManifest,
    cancel_note: str | None,
    *,
    order_link: str | None = None,
    refunded: bool = False,
) -> MailBody:
    """The purchaser's notice that the order was cancelled, quoting the organizer's note.

    ``refunded``: say that the amount paid is being refunded (paid orders only).
    """
    subject = f"Your order for {manifest.event.name} was cancelled"
    return _render(
        "cancellation",
        subject,
        manifest,
        cancel_note=(cancel_note or "").strip() or None,
        order_link=order_link,
        refunded=refunded,
    )


def _render(name: str, subject: str, manifest: OrderManifest, **context: Any) -> MailBody:
    event = manifest.event
    # A newline in an event name must not become a header break in the Subject.
    subject = " ".join(subject.split())
    context.update(
        subject=subject,
        order=manifest,
        event=event,
        event_dates=format_event_dates(event.starts_at, event.ends_at, event.timezone),
        order_total=format_money(manifest.amount, manifest.currency),
    )
    env = _environment()
    return MailBody(
        subject=subject,
        html=env.get_template(f"mail/{name}.html").render(context),
        text=env.get_template(f"mail/{name}.txt").render(context),
    )


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


__all__ = ["MailBody", "attendee_mail", "cancellation_mail", "purchaser_mail"]
