"""Ticket documents as the web app downloads them: by XHR with the JWT, bytes in the answer.

The app saves what `GET /v1/tickets/<order identifier>` (every ticket of an order),
`GET /v1/orders/attendees/<id>.pdf` (one attendee's ticket) and
`GET /v1/orders/invoices/<order identifier>` answer as a file, so these answer the PDF itself
(a redirect to object storage would cross origins and drop the Authorization header).
Who may download is `openevent.orders.document_access`, as for the other download routes. Before
the renderer has produced a PDF the answer is 202 with a PDF saying so (`documents.pending`).
"""

from __future__ import annotations

from openevent.errors import Forbidden, NotFound
from openevent.models.users import User

DOCUMENT_STATUSES = ("completed", "placed")


def _read(identifier: str, key: str) -> tuple[bytes, bool]:
    """(the PDF, False), or (a PDF saying it is being prepared, True) before the renderer
    has produced it — the order is then queued for the renderer (`pipeline.ensure_pdf`)."""
    from openevent.documents import pending, pipeline
    from openevent.settings import get_settings

    if not pipeline.ensure_pdf(identifier, key):
        return pending.document_pending(identifier), True
    obj = pipeline._s3().get_object(Bucket=get_settings().documents_bucket, Key=key)
    return bytes(obj["Body"].read()), False


def order_pdf(user: User, order_ref: str) -> tuple[str, bytes, bool]:
    """(file name, bytes, pending) of every ticket of the order."""
    from openevent.documents import pipeline
    from openevent.orders import document_access as access
    from openevent.orders import lifecycle as orders

    order = orders.get_order(order_ref)
    if not access.can_download_order_tickets(user, order):
        raise Forbidden("You can't download this order's tickets")
    if order.status not in DOCUMENT_STATUSES:
        raise NotFound("This order has no documents yet")
    return (f"tickets-{order.identifier}.pdf",
            *_read(order.identifier, pipeline.order_pdf_key(order.identifier)))


def attendee_pdf(user: User, attendee_id: int) -> tuple[str, bytes, bool]:
    """(file name, bytes, pending) of one attendee's ticket."""
    from openevent.documents import pipeline
    from openevent.orders import document_access as access
    from openevent.orders import lifecycle as orders

    attendee = orders.get_attendee(attendee_id)
    if not access.can_download_attendee_ticket(user, attendee):
        raise Forbidden("You can't download this ticket")
    order = orders.get_order(str(attendee.order_id)) if attendee.order_id else None
    if order is None or order.status not in DOCUMENT_STATUSES:
        raise NotFound("This ticket has no document yet")
    key = pipeline.attendee_pdf_key(order.identifier, str(attendee.id))
    return (f"ticket-{attendee.id}.pdf", *_read(order.identifier, key))
