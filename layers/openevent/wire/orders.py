"""Wire resources of the orders group: order, attendee, charge, order statistics."""

from __future__ import annotations

from typing import Any, cast

from openevent.jsonapi.compat import EXTRA_FIELDS, item_values, with_extras
from openevent.jsonapi.document import Rel, RelSpec, Resource, Schema
from openevent.jsonapi.fields import (
    Boolean,
    Choice,
    DateTime,
    Email,
    Integer,
    Money,
    String,
    Url,
)
from openevent.models.events import Ticket
from openevent.models.orders import ORDER_STATUSES, PAYMENT_MODES, Attendee, Order
from openevent.models.users import User
from openevent.wire import priming

ORDER = Schema(
    type="order",
    path="orders",
    fields=with_extras("order", {
        "identifier": String(read_only=True),
        "amount": Money(),
        "status": Choice(ORDER_STATUSES, nullable=False),
        "payment_mode": Choice(PAYMENT_MODES),  # null: a paid checkout not yet paid by anything
        "currency": String(read_only=True),
        "payment_url": Url(read_only=True),
        "paid_via": String(read_only=True),
        "transaction_id": String(read_only=True),
        "cancel_note": String(max_length=5000),
        "order_notes": String(max_length=5000),
        "is_billing_enabled": Boolean(nullable=False),
        "company": String(max_length=255),
        "address": String(max_length=1000),
        "city": String(max_length=255),
        "state": String(max_length=255),
        "country": String(max_length=255),
        "zipcode": String(max_length=64),
        "tax_business_info": String(max_length=1000),
        "tickets_pdf_url": Url(read_only=True),
        "expires_at": DateTime(read_only=True),
        "created_at": DateTime(read_only=True),
        "completed_at": DateTime(read_only=True),
        "cancelled_at": DateTime(read_only=True),
        "discount_code_id": Integer(read_only=True),  # the app filters on it (`isnot null`)
    }),
    relationships={
        "event": RelSpec("event"),
        "attendees": RelSpec("attendee", many=True),
        "discount_code": RelSpec("discount-code", id_is_number=True),
        "user": RelSpec("user"),
        "tickets": RelSpec("ticket", many=True),
    },
)
# Attributes a buyer may set on their own order while it is `initializing` (checkout).
CHECKOUT_FIELDS = ("payment_mode", "order_notes", "is_billing_enabled", "company", "address",
                   "city", "state", "country", "zipcode", "tax_business_info")

ATTENDEE = Schema(
    type="attendee",
    path="attendees",
    fields=with_extras("attendee", {
        "firstname": String(max_length=255),
        "lastname": String(max_length=255),
        "email": Email(),
        "address": String(max_length=1000),
        "city": String(max_length=255),
        "state": String(max_length=255),
        "country": String(max_length=255),
        "job_title": String(max_length=255),
        "phone": String(max_length=64),
        "company": String(max_length=255),
        "pdf_url": Url(read_only=True),
        "created_at": DateTime(read_only=True),
        # check-in: kept consistent by openevent.checkin.state
        "is_checked_in": Boolean(nullable=False),
        "is_checked_out": Boolean(nullable=False),
        "checkin_times": String(max_length=20_000),
        "checkout_times": String(max_length=20_000),
        "device_name_checkin": String(max_length=20_000),
        "deleted_at": DateTime(read_only=True),  # soft deletion, as Open Event shows it
        "ticket_id": String(read_only=True),  # Open Event serves the ticket's id as text
    }),
    relationships={
        "ticket": RelSpec("ticket"),
        "event": RelSpec("event"),
        "order": RelSpec("order"),
    },
)
CHECKIN_FIELDS = ("is_checked_in", "is_checked_out", "checkin_times", "checkout_times",
                  "device_name_checkin")
ATTENDEE_DETAILS = tuple(n for n, f in ATTENDEE.fields.items()
                         if not f.read_only and n not in EXTRA_FIELDS["attendee"]
                         and n not in CHECKIN_FIELDS)

CHARGE = Schema(type="charge", path="charges", fields={
    "status": Boolean(read_only=True),
    "message": String(read_only=True),
})

STATISTIC_KEYS = ("total", "draft", "cancelled", "pending", "expired", "placed", "completed")


def _may_see_code_id(user: User | None, order: Order) -> bool:
    """The id of an order's discount code is shown to the buyer who applied it and to whoever
    may read the code — not to the organizers of an event-wide (admin) code (issue 20, 1)."""
    if order.discount_code_id is None or user is None:
        return False
    if user.is_staff or (order.user_id is not None and int(order.user_id) == int(user.id)):
        return True
    from openevent.models.events import DiscountCode
    from openevent.rules.event_reads import may_see_discount_code as may_see

    code = priming.get(DiscountCode, order.discount_code_id)
    return code is not None and may_see(user, code)


def order_resource(order: Order, user: User | None = None) -> Resource:
    """The `order` resource; `include=` may load event, attendees, tickets, discount-code."""
    base = f"/v1/orders/{order.identifier}"
    values = item_values(ORDER, order)
    ticket_ids = sorted(order.seat_counts())

    def event() -> list[Resource]:
        from openevent.rules.lookup import find_event
        from openevent.wire.events import event_resource

        found = find_event(str(order.event_id))
        return [event_resource(found, user)] if found else []

    def attendees() -> list[Resource]:
        # the order's attendees (never deleted while they belong to it), read primed
        out: list[Resource] = []
        for attendee_id in sorted(int(cast(Any, i)) for i in order.attendee_ids or []):
            found = priming.get(Attendee, attendee_id)
            if found is not None and found.deleted_at is None and found.order_id is not None \
                    and int(found.order_id) == int(order.id):
                out.append(attendee_resource(found))
        return out

    def tickets() -> list[Resource]:
        from openevent.wire.events import ticket_resource

        found = [priming.get(Ticket, i) for i in ticket_ids]
        return [ticket_resource(t, user) for t in found if t is not None]

    def code() -> list[Resource]:
        from openevent.models.events import DiscountCode
        from openevent.wire.events import discount_code_resource

        if order.discount_code_id is None:
            return []
        try:
            return [discount_code_resource(DiscountCode.get(int(order.discount_code_id)), user)]
        except DiscountCode.DoesNotExist:
            return []

    def buyer() -> list[Resource]:
        # The buyer's profile: to themselves, staff and the event's co-organizers and up.
        from openevent.rules.permissions import has_event_role
        from openevent.wire.users import user_resource

        if order.user_id is None or user is None:
            return []
        if not (user.id == order.user_id or user.is_staff
                or has_event_role(user, int(order.event_id), "coorganizer")):
            return []
        account = priming.get(User, order.user_id)
        if account is None:
            return []
        found = user_resource(account)
        found.via = order  # openevent.rules.visibility: an order's buyer, to its organizers
        return [found]

    code_id = order.discount_code_id if _may_see_code_id(user, order) else None
    values["discount_code_id"] = code_id
    res = Resource(ORDER, order.id, values, {
        "event": Rel("event", order.event_id, f"{base}/event", loader=event),
        "attendees": Rel("attendee", [int(a) for a in order.attendee_ids or []],  # type: ignore[call-overload]
                         f"{base}/attendees", loader=attendees, many=True),
        "tickets": Rel("ticket", ticket_ids, f"{base}/tickets", loader=tickets, many=True),
        "discount_code": Rel("discount-code", code_id,
                             f"/v1/discount-codes/{code_id}"
                             if code_id is not None else f"{base}/discount-code",
                             loader=code),
        "user": Rel("user", order.user_id, f"/v1/users/{order.user_id}", loader=buyer),
    }, source=order)
    return res


def attendee_resource(attendee: Attendee, user: User | None = None) -> Resource:
    """The `attendee` resource (ticket, event, order relationships)."""
    values = item_values(ATTENDEE, attendee)
    values["ticket_id"] = str(attendee.ticket_id)

    def ticket() -> list[Resource]:
        from openevent.wire.events import ticket_resource

        found = priming.get(Ticket, attendee.ticket_id)
        return [ticket_resource(found, user)] if found is not None else []

    def order() -> list[Resource]:
        if attendee.order_id is None:
            return []
        try:
            return [order_resource(Order.get(int(attendee.order_id)), user)]
        except Order.DoesNotExist:
            return []

    def event() -> list[Resource]:
        from openevent.rules.lookup import find_event
        from openevent.wire.events import event_resource

        found = find_event(str(attendee.event_id))
        return [event_resource(found, user)] if found else []

    order_link = f"/v1/orders/{attendee.order_id}" if attendee.order_id is not None \
        else f"/v1/attendees/{attendee.id}/order"
    return Resource(ATTENDEE, attendee.id, values, {
        "ticket": Rel("ticket", attendee.ticket_id, f"/v1/tickets/{attendee.ticket_id}",
                      loader=ticket),
        "event": Rel("event", attendee.event_id, f"/v1/events/{attendee.event_id}",
                     loader=event),
        # Links only, as Open Event serves it: the web app keys orders by identifier, and a
        # numeric linkage would detach the attendee from the order the app holds.
        "order": Rel("order", attendee.order_id, order_link, loader=order, include_data=False),
    }, source=attendee)


def charge_document(order: Order, status: bool, message: str) -> dict[str, Any]:
    """The charge response: JSON:API type `charge` with `status` and `message`."""
    return {"data": {"type": "charge", "id": order.identifier,
                     "attributes": {"status": status, "message": message}},
            "jsonapi": {"version": "1.0"}}


def statistics_document(kind: str, obj_id: int, stats: dict[str, dict[str, Any]],
                        identifier: str | None = None) -> dict[str, Any]:
    """`order-statistics-event` / `order-statistics-ticket` single documents."""
    attributes: dict[str, Any] = dict(stats)
    if identifier is not None:
        attributes["identifier"] = identifier
    path = "events" if kind == "event" else "tickets"
    return {"data": {"type": f"order-statistics-{kind}", "id": str(obj_id),
                     "attributes": attributes,
                     "links": {"self": f"/v1/{path}/{obj_id}/order-statistics"}},
            "links": {"self": f"/v1/{path}/{obj_id}/order-statistics"},
            "jsonapi": {"version": "1.0"}}
