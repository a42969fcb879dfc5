"""The ticket documents' downloads (registered by the orders group): the mailed links and the
logged-in pages' `ticket-pdf` / `tickets-pdf` (302 to a short-lived presigned S3 URL), and the
web app's XHR downloads (`/v1/orders/attendees/<id>.pdf`, `/v1/orders/invoices/<order>`:
the PDF bytes in the answer).

A download is authenticated before anything is looked up (the link's token or a login), so a
caller without either cannot tell missing documents from forbidden ones. An order gets
documents once completed or placed; before the renderer has run, the answer is 202 with a
page that says so, and the order is queued again (the API never renders).
"""

from __future__ import annotations

from typing import Any

from openevent import web
from openevent.errors import Forbidden, NotFound
from openevent.orders import lifecycle
from openevent.routes import Routes
from openevent.rules.permissions import require_login

routes = Routes()

_DOCUMENT_STATUSES = ("completed", "placed")


def _download_caller(app: Any, kind: str, ref: str) -> Any:
    """Authenticate a download before anything is looked up, so a caller without a login or
    a valid link cannot tell missing documents from forbidden ones: the mailed link's token
    (None, the link is the proof) or the logged-in user (401 without one)."""
    from openevent.documents import pipeline

    token = web.query(app).get("token")
    if token is None:
        return require_login(web.current_user(app))
    if not pipeline.check_download_token(kind, ref, token):
        raise Forbidden("Invalid download link", parameter="token")
    return None


def _redirect_to_pdf(order: Any, key: str) -> Any:
    """302 to a short-lived presigned URL, once the order has its documents."""
    from openevent.documents import pending, pipeline

    if order is None or order.status not in _DOCUMENT_STATUSES:
        raise NotFound("This ticket has no document yet")
    if not pipeline.ensure_pdf(order.identifier, key):  # queued for the renderer
        return web.html_pending(pending.page_pending(order.identifier))
    url = pipeline.presigned_url(key)
    return web.plain({"url": url}, 302, {"Location": url, "Cache-Control": "no-store"})


@routes.route("/v1/attendees/{attendee_id}/ticket-pdf")
def attendee_ticket_pdf(app: Any, attendee_id: str) -> Any:
    """An attendee's ticket: the buyer, the attendee, co-organizer+ or admin (or a mailed link).

    The attendee proves themself by a verified account email (`openevent.orders.document_access`).
    """
    from openevent.documents import pipeline
    from openevent.orders import document_access as access

    user = _download_caller(app, "attendee", attendee_id)
    attendee = lifecycle.get_attendee(web.parse_int_id(attendee_id, "Attendee"))
    if user is not None and not access.can_download_attendee_ticket(user, attendee):
        raise Forbidden("You can't download this ticket")
    order = lifecycle.find_order(str(attendee.order_id)) if attendee.order_id else None
    return _redirect_to_pdf(order, pipeline.attendee_pdf_key(order.identifier, str(attendee.id))
                            if order is not None else "")


@routes.route("/v1/orders/{order_ref}/tickets-pdf")
def order_tickets_pdf(app: Any, order_ref: str) -> Any:
    """Every ticket of the order in one PDF: the buyer, co-organizer+ or admin.

    Or the mailed link, which names the order by its identifier.
    """
    from openevent.documents import pipeline
    from openevent.orders import document_access as access

    user = _download_caller(app, "order", order_ref)
    order = lifecycle.get_order(order_ref)
    if user is not None and not access.can_download_order_tickets(user, order):
        raise Forbidden("You can't download these tickets")
    return _redirect_to_pdf(order, pipeline.order_pdf_key(order.identifier))


# --- documents as the web app downloads them (XHR with the JWT, bytes in the answer) -------

@routes.route("/v1/orders/attendees/{name}")
def attendee_ticket_file(app: Any, name: str) -> Any:
    from openevent.orders import document_downloads as downloads

    user = require_login(web.current_user(app))
    stem = name[:-4] if name.endswith(".pdf") else name
    return web.pdf(*downloads.attendee_pdf(user, web.parse_int_id(stem, "Attendee")))


@routes.route("/v1/orders/invoices/{order_ref}")
def order_invoice_file(app: Any, order_ref: str) -> Any:
    """The order's document (its summary and every ticket) as the invoice download."""
    from openevent.orders import document_downloads as downloads

    user = require_login(web.current_user(app))
    return web.pdf(*downloads.order_pdf(user, order_ref))
