"""On-site orders: `POST /v1/orders?onsite=true` with `on-site-tickets` (Open Event's box
office: the organizer sells seats at the door, no attendee details asked).

Guarantees:
- only co-organizers and up of the event (or staff) sell on site; Open Event lets any
  logged-in user post one (its status then forced to `initializing`), which is the
  create-order flow anyway — here a buyer gets 403 and uses create-order;
- seats are taken exactly as create-order takes them (`placing.create_checkout_order`: one
  transaction with the seat counters, priced by the server, payment mode checked against the
  event and the amount), then the requested status is applied with the organizer's own
  status rules (`updates.update_order`), so nothing sells beyond a ticket's quantity and no
  status the organizer could not set by PATCH is reachable;
- `on-site-tickets` is validated item by item (422 naming the item), quantities 1..the
  per-order maximum.
"""

from __future__ import annotations

from typing import Any

from openevent.errors import Unprocessable
from openevent.models.events import Event
from openevent.models.orders import Order
from openevent.models.users import User
from openevent.orders import lifecycle as orders
from openevent.orders import placing, updates
from openevent.rules.permissions import require_event_role

POINTER = "/data/attributes/on-site-tickets"
# Descriptive order fields the organizer may give with the sale.
DETAILS = ("order_notes", "company", "address", "city", "state", "country", "zipcode",
           "tax_business_info", "is_billing_enabled")


def parse_onsite_tickets(raw: Any) -> list[dict[str, int]]:
    """`[{"data": {"type": "on-site-ticket", "attributes": {"id", "quantity"}}}]` →
    `[{"id", "quantity"}]` (numbers may come as digit strings, as Open Event's own
    example sends them)."""
    if not isinstance(raw, list) or not raw:
        raise Unprocessable("'on-site-tickets' must be a non-empty list", POINTER)
    out = []
    for i, item in enumerate(raw):
        at = f"{POINTER}/{i}"
        data = item.get("data") if isinstance(item, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(attributes, dict):
            raise Unprocessable("Each on-site ticket is {'data': {'attributes': {'id', "
                                "'quantity'}}}", at)
        if data.get("type") not in (None, "on-site-ticket"):  # type: ignore[union-attr]
            raise Unprocessable("Expected type 'on-site-ticket'", f"{at}/data/type")
        values = {}
        for name in ("id", "quantity"):
            value = attributes.get(name)
            if isinstance(value, str) and value.isdigit() and len(value) <= 18:
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise Unprocessable(f"'{name}' must be a positive number",
                                    f"{at}/data/attributes/{name}")
            values[name] = value
        out.append(values)
    return out


def create_from_document(user: User, raw: bytes, content_type: str | None) -> Order:
    """The on-site order a JSON:API document asks for: `on-site-tickets` taken out, the rest
    parsed as an order (422 naming any unknown or bad attribute)."""
    import json

    from openevent.errors import relationship_pointer
    from openevent.jsonapi.request import parse_document, read_body
    from openevent.rules.lookup import get_event
    from openevent.wire.orders import ORDER

    body = read_body(raw, content_type,
                     media_types=("application/vnd.api+json", "application/json"))
    data = body.get("data") if isinstance(body, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    tickets = attributes.pop("on-site-tickets", attributes.pop("on_site_tickets", None)) \
        if isinstance(attributes, dict) else None
    payload = parse_document(json.dumps(body).encode(), content_type, ORDER, create=True,
                             is_admin=user.is_staff)
    event_ref = payload.relationships.get("event")
    if event_ref is None:
        raise Unprocessable("'event' is required", relationship_pointer("event"))
    return create_onsite_order(user, get_event(event_ref, user), parse_onsite_tickets(tickets),
                               dict(payload.attributes))


def create_onsite_order(user: User, event: Event, tickets: list[dict[str, int]],
                        values: dict[str, Any]) -> Order:
    require_event_role(user, event, "coorganizer")
    body: dict[str, Any] = {"tickets": tickets}
    if values.get("payment_mode") is not None:
        body["payment-mode"] = values["payment_mode"]
    found = {int(t.id): t for t in orders.load_tickets(t["id"] for t in tickets)}
    for i, wanted in enumerate(tickets):
        ticket = found.get(wanted["id"])
        if ticket is None or ticket.deleted_at is not None \
                or int(ticket.event_id) != int(event.id):
            raise Unprocessable("No such ticket in this event",
                                f"{POINTER}/{i}/data/attributes/id")
    order = placing.create_checkout_order(user, body)
    details = {k: values[k] for k in DETAILS if values.get(k) is not None}
    if details:
        order.update(actions=[getattr(Order, k).set(v) for k, v in details.items()])
    status = values.get("status")
    if status is not None and status != order.status:
        order = updates.update_order(user, order, {"status": status})
    return orders.get_order(order.identifier)
