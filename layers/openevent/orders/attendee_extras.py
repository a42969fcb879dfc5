"""Open Event's smaller attendee actions: mailing the tickets again, searching an event's
holders by name or email, an attendee's registration state, and deleting an attendee.

Guarantees:
- `send_receipt`: only the order's buyer or a registrar-or-higher of its event (or staff);
  only for a `completed` or `placed` order (409 before: there is no ticket to send yet); at
  most `RECEIPTS_PER_HOUR` per order, counted by a conditional write, so the route cannot be
  used to flood the holders' mailboxes (429 beyond).
- `search`: registrar-or-higher of the event (Open Event lets any logged-in user search every
  event's holders, with their emails; here that is closed). It reads at most
  `SEARCH_WINDOW` of the event's newest holders (one Query), never the whole table.
- `state`: the attendee's `is-registered` and `register-times`, for whoever may read the
  attendee; the attendee must belong to the event named (422 otherwise).
- `delete`: an attendee without an order as `attendees.delete_attendee` does it (its seat given
  back); an attendee of a cancelled or expired order (its seat already given back with the
  order) by a registrar-or-higher of the event, in one transaction conditioned on the order
  still being ended, which also lowers the event's live-attendee figure; an attendee of a
  live order stays 409 — removing one holder alone would leave the order's amount and its
  seats disagreeing (cancel the order instead).
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from openevent.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unprocessable,
)
from openevent.jsonapi.compat import extra_values
from openevent.models.base import now, unique_key
from openevent.models.events import Event
from openevent.models.orders import Attendee, Order
from openevent.models.users import RateLimit, User
from openevent.rules.permissions import has_event_role, require_event_role, require_login

RECEIPTS_PER_HOUR = 5
SEARCH_WINDOW = 2000
SEARCH_ROLE = "registrar"


def _order_by_identifier(identifier: Any) -> Order:
    if not isinstance(identifier, str) or not identifier.strip() or len(identifier) > 64:
        raise Unprocessable("'order-identifier' is required", "/order-identifier")
    for order in Order.identifier_index.query(identifier.strip(), limit=1):
        return order
    raise NotFound("Order not found", parameter="order-identifier")


def _count_receipt(order: Order) -> None:
    hour = int(now().timestamp() // 3600)
    try:
        RateLimit(unique_key("send-receipt", order.id, hour)).update(
            actions=[RateLimit.hits.add(1), RateLimit.expires.set((hour + 2) * 3600)],
            condition=RateLimit.hits.does_not_exist() | (RateLimit.hits < RECEIPTS_PER_HOUR))
    except UpdateError:
        raise TooManyRequests("The tickets of this order were sent too often; try again "
                              "later", "/order-identifier") from None


def send_receipt(user: User | None, identifier: Any) -> None:
    """Mail every holder of the order their ticket link again (and the buyer the summary)."""
    user = require_login(user)
    order = _order_by_identifier(identifier)
    if not (user.is_staff or int(order.user_id) == int(user.id)
            or has_event_role(user, int(order.event_id), SEARCH_ROLE)):
        raise Forbidden("Only the buyer or the event's organizers can send receipts")
    if order.status not in ("completed", "placed"):
        raise Conflict("Cannot send receipt for an incomplete order", "/order-identifier")
    _count_receipt(order)
    from openevent.documents import pipeline
    from openevent.documents.mail import attendee_mail, purchaser_mail
    from openevent.mail import send_mail

    try:
        manifest = pipeline.load_manifest(order.identifier)
    except Exception:  # noqa: BLE001 - no manifest yet: the documents are still being made
        raise Conflict("The tickets of this order are still being prepared; try again",
                       "/order-identifier") from None
    links = {}
    for attendee in manifest.attendees:
        link = (f"{pipeline.attendee_pdf_url(attendee.id)}"
                f"?token={pipeline.download_token('attendee', attendee.id)}")
        links[attendee.id] = link
        if attendee.email:
            body = attendee_mail(manifest, attendee, link)
            send_mail(attendee.email, body.subject, body.text, body.html)
    if manifest.purchaser.email:
        order_link = (f"{pipeline.order_pdf_url(manifest.identifier)}"
                      f"?token={pipeline.download_token('order', manifest.identifier)}")
        body = purchaser_mail(manifest, order_link, links)
        send_mail(manifest.purchaser.email, body.subject, body.text, body.html)


def search(user: User | None, event: Event, name: str | None, email: str | None
           ) -> list[Attendee]:
    """Live holders of the event whose first or last name contains `name` and whose email
    contains `email` (case-insensitive), newest first."""
    require_event_role(user, event, SEARCH_ROLE)
    for value, param in ((name, "name"), (email, "email")):
        if value is not None and len(value) > 255:
            raise Unprocessable(f"'{param}' is too long", parameter=param)
    wanted_name = (name or "").strip().lower()
    wanted_email = (email or "").strip().lower()
    found: list[Attendee] = []
    for attendee in Attendee.event_index.query(int(event.id), scan_index_forward=False,
                                               limit=SEARCH_WINDOW):
        if attendee.deleted_at is not None:
            continue
        names = f"{attendee.firstname or ''}\n{attendee.lastname or ''}".lower()
        if wanted_name and wanted_name not in names:
            continue
        if wanted_email and wanted_email not in (attendee.email or "").lower():
            continue
        found.append(attendee)
    return found


def _id_param(raw: str | None, name: str) -> int:
    if not raw:
        raise NotFound(f"{name} is missing from your request", parameter=name)
    if not raw.isdigit() or len(raw) > 18:
        raise Unprocessable(f"{raw} is not a valid id", parameter=name)
    return int(raw)


def state(user: User | None, event_ref: str | None, attendee_ref: str | None,
          can_read: Any) -> dict[str, Any]:
    """`{"is_registered", "register_times"}` of an attendee of the event."""
    user = require_login(user)
    event_id = _id_param(event_ref, "event_id")
    attendee_id = _id_param(attendee_ref, "attendee_id")
    from openevent.rules.lookup import get_event

    try:
        event = get_event(str(event_id), user)
    except NotFound:
        raise NotFound("Event not found", parameter="event_id") from None
    try:
        attendee = Attendee.get(attendee_id)
    except Attendee.DoesNotExist:
        raise NotFound("Attendee not found", parameter="attendee_id") from None
    if attendee.deleted_at is not None or not can_read(user, attendee):
        raise NotFound("Attendee not found", parameter="attendee_id")
    if int(attendee.event_id) != int(event.id):
        raise Unprocessable("The attendee does not belong to this event",
                            parameter="attendee_id")
    extras = extra_values("attendee", attendee.extra)
    return {"is_registered": bool(extras.get("is_registered")),
            "register_times": extras.get("register_times")}


ENDED = ("cancelled", "expired")


def delete(user: User, attendee: Attendee) -> None:
    from openevent.events.inventory import Batch, InventoryConflict, run
    from openevent.orders import attendees
    from openevent.orders import figures as order_counts

    if attendee.order_id is None:
        attendees.delete_attendee(user, attendee)
        return
    if not (user.is_staff or has_event_role(user, int(attendee.event_id), SEARCH_ROLE)):
        raise Forbidden("Only the event's organizers delete an attendee of an order")
    order = Order.get(int(attendee.order_id))
    if order.status not in ENDED:
        raise Conflict("The attendee belongs to a live order; cancel the order instead",
                       "/data/relationships/order")

    def build() -> Batch:
        batch = Batch()
        batch.check("order", Order(int(order.id)), Order.status.is_in(*ENDED))
        batch.update("attendee", Attendee(int(attendee.id)),
                     [Attendee.deleted_at.set(now())],
                     (Attendee.order_id == int(order.id)) & Attendee.deleted_at.does_not_exist())
        order_counts.attendees_added(batch, int(attendee.event_id), -1, attendee.seat_shard)
        return batch

    try:
        run(build)
    except InventoryConflict:
        raise Conflict("The attendee or its order changed meanwhile; try again",
                       "/data") from None
