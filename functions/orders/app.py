"""Orders group: attendees, orders, checkout, charge, webhooks, statistics, order expiry.

Handlers are thin: parse the request, call `openevent.orders.lifecycle` / `.payments`,
serialize. The Stripe SDK and PayPal client load only on the payment routes.
"""

from __future__ import annotations

from typing import Any

from openevent import web
from openevent.checkin.routes import register as register_checkin
from openevent.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    attribute_pointer,
    relationship_pointer,
)
from openevent.idempotency import idempotent
from openevent.jsonapi.compat import core_and_extra, dump_extra, item_values
from openevent.jsonapi.document import (
    JSONAPI,
    meta_document,
    relationship_document,
)
from openevent.jsonapi.query import ListSource, collection_document, parse_params
from openevent.jsonapi.request import parse_document, read_body
from openevent.models.orders import Order
from openevent.orders import lifecycle as service
from openevent.routes import oes_orders
from openevent.routes import ticket_documents as ticket_document_routes
from openevent.rules.lookup import get_event
from openevent.rules.permissions import (
    has_event_role,
    is_self_or_staff,
    require_event_role,
    require_login,
)
from openevent.settings import get_settings
from openevent.wire import orders as schemas

app = web.create_app("openevent-orders")
route = web.route
register_checkin(app)  # /v1/checkin/** and reissue-ticket (openevent.checkin.routes)

oes_orders.routes.register(app)  # the described routes kept outside this file


def _collection(items: list[Any], to_resource: Any, schema: Any, path: str) -> Any:
    return web.jsonapi(collection_document(ListSource(items), to_resource, schema, path,
                                           web.query(app)))


def _caller() -> int:
    """Who sends an idempotent request (its key is scoped to them)."""
    return int(require_login(web.current_user(app)).id)


def _user_id(raw: str) -> int:
    return web.parse_int_id(raw, "User")


# --- attendees -----------------------------------------------------------------------------

@route(app, "/v1/attendees", methods=["POST"])
@idempotent(app, lambda: _caller())
def create_attendee() -> Any:
    from openevent.orders import attendees as classic

    user = require_login(web.current_user(app))
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.ATTENDEE,
                             create=True)
    event_ref = payload.relationships.get("event")
    if event_ref is None:
        raise Unprocessable("'event' is required", relationship_pointer("event"))
    event = get_event(event_ref, user)
    attendee = classic.create_attendee(user, event, payload.relationships.get("ticket"),
                                       _without_checkin(payload.attributes))
    return web.created(web.resource_document(app, schemas.attendee_resource(attendee, user)),
                       f"/v1/attendees/{attendee.id}")


def _attendee_for(attendee_id: str, read: bool = False) -> tuple[Any, Any]:
    user = require_login(web.current_user(app))
    attendee = service.get_attendee(web.parse_int_id(attendee_id, "Attendee"),
                                    staff_reads_deleted=read and user.is_staff)
    if not service.can_manage_attendee(user, attendee):
        raise Forbidden("You can't access this attendee")
    return user, attendee


@route(app, "/v1/attendees/{attendee_id}")
def get_attendee(attendee_id: str) -> Any:
    user, attendee = _attendee_for(attendee_id, read=True)
    return web.jsonapi(web.resource_document(app, schemas.attendee_resource(attendee, user)))


@route(app, "/v1/attendees/{attendee_id}", methods=["PATCH"])
def update_attendee(attendee_id: str) -> Any:
    from openevent.orders import attendees as classic

    user, attendee = _attendee_for(attendee_id)
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.ATTENDEE,
                             url_ids=(str(attendee.id),))
    current = {"ticket": attendee.ticket_id, "event": attendee.event_id,
               "order": attendee.order_id}
    for name, value in payload.relationships.items():
        if str(value) != str(current.get(name)):
            raise Unprocessable(f"'{name}' of an attendee can't be changed",
                                relationship_pointer(name))
    changed = _changed(schemas.ATTENDEE, attendee, payload.attributes)
    checkin = {k: changed.pop(k) for k in schemas.CHECKIN_FIELDS if k in changed}
    if checkin:  # openevent.checkin.state: the fields keep each other consistent
        from openevent.checkin import state

        attendee = state.apply(user, attendee, checkin)
    values, extra = core_and_extra("attendee", changed)
    if extra:
        values["extra"] = dump_extra("attendee", attendee.extra, extra)
    updated = classic.update_attendee(user, attendee, values) if values or not checkin \
        else attendee
    return web.jsonapi(web.resource_document(app, schemas.attendee_resource(updated, user)))


def _without_checkin(values: dict[str, Any]) -> dict[str, Any]:
    """A new attendee is not checked in: check-in values are refused unless empty."""
    for name in schemas.CHECKIN_FIELDS:
        if values.get(name):
            raise Unprocessable(f"'{name.replace('_', '-')}' is set by checking in, not on "
                                "creation", attribute_pointer(name))
    return {k: v for k, v in values.items() if k not in schemas.CHECKIN_FIELDS}


def _changed(schema: Any, item: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The attributes a PATCH really changes: clients echo whole models, and an unchanged
    echo is accepted even where the caller may not change the attribute."""
    stored = item_values(schema, item)
    return {k: v for k, v in values.items() if stored.get(k) != v}


@route(app, "/v1/attendees/{attendee_id}", methods=["DELETE"])
def delete_attendee(attendee_id: str) -> Any:
    from openevent.orders import attendee_extras

    user, attendee = _attendee_for(attendee_id)
    attendee_extras.delete(user, attendee)
    return web.jsonapi(meta_document("Object successfully deleted"))


@route(app, "/v1/attendees/{attendee_id}/order")
def attendee_order(attendee_id: str) -> Any:
    user, attendee = _attendee_for(attendee_id)
    if attendee.order_id is None:
        return web.jsonapi({"data": None, "jsonapi": JSONAPI})
    order = service.get_order(str(attendee.order_id))
    service.require_order_view(user, order)
    return web.jsonapi(web.resource_document(app, schemas.order_resource(order, user)))


@route(app, "/v1/attendees/{attendee_id}/relationships/{name}")
def attendee_relationship(attendee_id: str, name: str) -> Any:
    user, attendee = _attendee_for(attendee_id)
    return _linkage(schemas.attendee_resource(attendee, user), name)


def _linkage(resource: Any, name: str) -> Any:
    return web.jsonapi(relationship_document(resource, name))


@route(app, "/v1/events/{event_ref}/attendees")
def event_attendees(event_ref: str) -> Any:
    user = web.current_user(app)
    event = get_event(event_ref, user)
    query = web.query(app)
    params = parse_params(query)
    from openevent.orders.attendee_lists import event_attendee_source

    source = event_attendee_source(int(event.id), params, user)  # reads the caller's role
    require_event_role(user, event, "coorganizer")
    return web.jsonapi(collection_document(source, lambda a: schemas.attendee_resource(a, user),
                                           schemas.ATTENDEE, f"/v1/events/{event_ref}/attendees",
                                           query, params))


@route(app, "/v1/tickets/{ticket_id}/attendees")
def ticket_attendees(ticket_id: str) -> Any:
    from openevent.models.orders import Attendee

    user = require_login(web.current_user(app))
    ticket = _ticket(ticket_id)
    event = get_event(str(ticket.event_id), user)
    if has_event_role(user, event.id, "coorganizer"):
        items = [a for a in Attendee.ticket_index.query(int(ticket.id)) if a.deleted_at is None]
    else:
        # A buyer sees the holders of this ticket in their own orders (the order page asks).
        items = [a for a in Attendee.user_index.query(user.id, filter_condition=(
            Attendee.ticket_id == int(ticket.id))) if a.deleted_at is None]
    return _collection(items, lambda a: schemas.attendee_resource(a, user), schemas.ATTENDEE,
                       f"/v1/tickets/{ticket_id}/attendees")


@route(app, "/v1/users/{user_id}/attendees")
def user_attendees(user_id: str) -> Any:
    from openevent.models.orders import Attendee

    user = require_login(web.current_user(app))
    uid = _user_id(user_id)
    if not is_self_or_staff(user, uid):
        raise Forbidden("You can only see your own attendees")
    items = [a for a in Attendee.user_index.query(uid) if a.deleted_at is None]
    return _collection(items, lambda a: schemas.attendee_resource(a, user), schemas.ATTENDEE,
                       f"/v1/users/{user_id}/attendees")


def _ticket(ticket_id: str) -> Any:
    from openevent.models.events import Ticket

    try:
        ticket = Ticket.get(web.parse_int_id(ticket_id, "Ticket"))
    except Ticket.DoesNotExist:
        raise NotFound("Ticket not found") from None
    if ticket.deleted_at is not None:
        raise NotFound("Ticket not found")
    return ticket


# --- orders --------------------------------------------------------------------------------

@route(app, "/v1/orders", methods=["POST"])
@idempotent(app, lambda: _caller())
def create_order() -> Any:
    from openevent.orders import placing

    user = require_login(web.current_user(app))
    if web.query(app).get("onsite") in ("true", "True", "1"):
        return _create_onsite_order(user)
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.ORDER,
                             create=True, is_admin=user.is_staff)
    event_ref = payload.relationships.get("event")
    if event_ref is None:
        raise Unprocessable("'event' is required", relationship_pointer("event"))
    attendees = payload.relationships.get("attendees")
    if attendees is None:
        raise Unprocessable("'attendees' is required", relationship_pointer("attendees"))
    event = get_event(event_ref, user)
    order = placing.create_order(user, event, attendees,
                                 payload.relationships.get("discount_code"), payload.attributes)
    return web.created(web.resource_document(app, schemas.order_resource(order, user)),
                       f"/v1/orders/{order.identifier}")


def _create_onsite_order(user: Any) -> Any:
    """`POST /v1/orders?onsite=true`: the box office (orders/onsite.py)."""
    from openevent.orders.onsite import create_from_document

    order = create_from_document(user, web.raw_body(app), web.content_type(app))
    return web.created(web.resource_document(app, schemas.order_resource(order, user)),
                       f"/v1/orders/{order.identifier}")


@route(app, "/v1/orders")
def list_orders() -> Any:
    from openevent.models.orders import Order
    from openevent.models.paging import PartitionSource
    from openevent.rules.permissions import require_staff

    user = require_staff(web.current_user(app))
    # Every order of the platform: no meta.count. A counter in every create-order
    # transaction would put one platform-wide item (or a few shards) into every on-sale's
    # hot path (docs/scale.md "Reads"); pages and cursors need none. A filter or sort reads
    # a candidate window at a time (`window`), never every order.
    source = PartitionSource(Order, Order.kind_index, "order", count=lambda: None, window=True)
    return web.jsonapi(collection_document(source, lambda o: schemas.order_resource(o, user),
                                           schemas.ORDER, "/v1/orders", web.query(app)))


@route(app, "/v1/orders/calculate-amount", methods=["POST"])
def calculate_amount() -> Any:
    from openevent.orders import placing

    return web.plain(placing.calculate_amount(web.current_user(app), web.json_body(app)))


@route(app, "/v1/orders/create-order", methods=["POST"])
@idempotent(app, lambda: _caller())
def create_checkout_order() -> Any:
    from openevent.orders import placing

    user = require_login(web.current_user(app))
    order = placing.create_checkout_order(user, web.json_body(app))
    return web.created(web.resource_document(app, schemas.order_resource(order, user)),
                       f"/v1/orders/{order.identifier}")


def _order_for(order_ref: str) -> tuple[Any, Any]:
    user = require_login(web.current_user(app))
    order = service.get_order(order_ref)
    service.require_order_view(user, order)
    return user, order


@route(app, "/v1/orders/{order_ref}")
def get_order(order_ref: str) -> Any:
    user, order = _order_for(order_ref)
    return web.jsonapi(web.resource_document(app, schemas.order_resource(order, user)))


@route(app, "/v1/orders/{order_ref}", methods=["PATCH"])
def update_order(order_ref: str) -> Any:
    from openevent.orders import updates

    user, order = _order_for(order_ref)
    payload = parse_document(web.raw_body(app), web.content_type(app), schemas.ORDER,
                             url_ids=(str(order.id), order.identifier), is_admin=user.is_staff)
    values, extra = core_and_extra("order", _changed(schemas.ORDER, order, payload.attributes))
    if extra:
        # Billing and card echo fields: the buyer's own checkout data (or staff's).
        if not (user.is_staff or (order.user_id is not None and int(order.user_id) == user.id
                                  and order.status == "initializing")):
            raise Forbidden(f"You can't change '{next(iter(extra)).replace('_', '-')}'",
                            attribute_pointer(next(iter(extra))))
        stored = dump_extra("order", order.extra, extra)
        order.update(actions=[Order.extra.set(stored) if stored else Order.extra.remove()])
    updated = updates.update_order(user, order, values) if values else service.get_order(
        order.identifier)
    return web.jsonapi(web.resource_document(app, schemas.order_resource(updated, user)))


@route(app, "/v1/orders/{order_ref}", methods=["DELETE"])
def delete_order(order_ref: str) -> Any:
    user, order = _order_for(order_ref)
    service.require_order_manage(user, order)
    note = web.query(app).get("cancel-note", web.query(app).get("cancel_note"))
    raw = web.raw_body(app)
    if raw.strip():
        body = read_body(raw, web.content_type(app),
                         media_types=("application/vnd.api+json", "application/json"))
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if isinstance(attributes, dict):
            sent = attributes.get("cancel-note", attributes.get("cancel_note"))
            if sent is not None:
                note = sent
    if note is not None and (not isinstance(note, str) or len(note) > 5000):
        raise Unprocessable("'cancel-note' must be a string of at most 5000 characters",
                            "/data/attributes/cancel-note")
    service.cancel_order(user, order, note)
    return web.jsonapi(meta_document("Object successfully deleted"))


@route(app, "/v1/orders/{order_ref}/attendees")
def order_attendees(order_ref: str) -> Any:
    user, order = _order_for(order_ref)
    return _collection(service.order_attendees(order),
                       lambda a: schemas.attendee_resource(a, user), schemas.ATTENDEE,
                       f"/v1/orders/{order_ref}/attendees")


@route(app, "/v1/orders/{order_ref}/tickets")
def order_tickets(order_ref: str) -> Any:
    from openevent.wire.events import TICKET, ticket_resource

    user, order = _order_for(order_ref)
    return _collection(service.order_tickets(order), lambda t: ticket_resource(t, user),
                       TICKET, f"/v1/orders/{order_ref}/tickets")


@route(app, "/v1/orders/{order_ref}/event")
def order_event(order_ref: str) -> Any:
    from openevent.rules.lookup import find_event
    from openevent.wire.events import event_resource

    user, order = _order_for(order_ref)
    event = find_event(str(order.event_id))
    if event is None:
        raise NotFound("Event not found")
    return web.jsonapi(web.resource_document(app, event_resource(event, user)))


@route(app, "/v1/orders/{order_ref}/discount-code")
def order_discount_code(order_ref: str) -> Any:
    from openevent.models.events import DiscountCode
    from openevent.wire.events import discount_code_resource

    user, order = _order_for(order_ref)
    if order.discount_code_id is None:
        return web.jsonapi({"data": None, "jsonapi": JSONAPI})
    try:
        code = DiscountCode.get(int(order.discount_code_id))
    except DiscountCode.DoesNotExist:
        return web.jsonapi({"data": None, "jsonapi": JSONAPI})
    return web.jsonapi(web.resource_document(app, discount_code_resource(code, user)))


@route(app, "/v1/orders/{order_ref}/relationships/{name}")
def order_relationship(order_ref: str, name: str) -> Any:
    user, order = _order_for(order_ref)
    return _linkage(schemas.order_resource(order, user), name)


@route(app, "/v1/events/{event_ref}/orders")
def event_orders(event_ref: str) -> Any:

    user = web.current_user(app)
    event = get_event(event_ref, user)
    query = web.query(app)
    params = parse_params(query)
    from openevent.orders.lists import event_order_source

    source = event_order_source(int(event.id), params, user)  # reads the caller's role too
    require_event_role(user, event, "coorganizer")
    return web.jsonapi(collection_document(source, lambda o: schemas.order_resource(o, user),
                                           schemas.ORDER, f"/v1/events/{event_ref}/orders",
                                           query, params))


@route(app, "/v1/users/{user_id}/orders")
def user_orders(user_id: str) -> Any:
    from openevent.models.orders import Order

    user = require_login(web.current_user(app))
    uid = _user_id(user_id)
    if not is_self_or_staff(user, uid):
        raise Forbidden("You can only see your own orders")
    items = [service.fresh(o) for o in Order.user_index.query(uid)]
    return _collection(items, lambda o: schemas.order_resource(o, user), schemas.ORDER,
                       f"/v1/users/{user_id}/orders")


# --- payments ------------------------------------------------------------------------------

def _charge_attributes() -> dict[str, Any]:
    body = web.json_body(app)
    data = body.get("data")
    if not isinstance(data, dict):
        raise Unprocessable("Document must have a 'data' object", "/data")
    if data.get("type") != "charge":
        raise Conflict("Expected type 'charge'", "/data/type")
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise Unprocessable("'attributes' must be an object", "/data/attributes")
    return {str(k).replace("-", "_"): v for k, v in attributes.items()}


@route(app, "/v1/orders/{order_ref}/charge", methods=["POST"])
@idempotent(app, lambda: _caller())
def charge(order_ref: str) -> Any:
    """Pay an order (Stripe token or PayPal ids; no token: its PaymentIntent for Stripe.js).

    A stripe order charged without `stripe` answers its PaymentIntent (message = JSON with
    client_secret) for the web app's Payment Element. The order is completed only after the
    provider confirms the payment (this call with a token or PayPal ids, the verified
    webhook, or verify), never on the client's word.
    """
    from openevent.orders import payments

    user, order = _order_for(order_ref)
    if not (user.is_staff or int(order.user_id) == int(user.id)):
        raise Forbidden("Only the buyer can pay this order")
    attributes = _charge_attributes()
    status, message = payments.charge(order, attributes)
    return web.jsonapi(schemas.charge_document(order, status, message))


@route(app, "/v1/orders/{order_ref}/verify", methods=["POST"])
def verify(order_ref: str) -> Any:
    from openevent.orders import payments

    _, order = _order_for(order_ref)
    return web.plain({"payment_status": payments.verify(order)})


@route(app, "/v1/orders/{order_ref}/create-paypal-payment", methods=["POST"])
def create_paypal_payment(order_ref: str) -> Any:
    from openevent.orders import payments, return_urls

    user, order = _order_for(order_ref)
    if not (user.is_staff or int(order.user_id) == int(user.id)):
        raise Forbidden("Only the buyer can pay this order")
    body = web.json_body(app)
    data = body.get("data")
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        raise Unprocessable("'data.attributes' must be an object", "/data/attributes")
    urls = [return_urls.require_own_url(
        name, attributes.get(name, attributes.get(name.replace("-", "_"))))
        for name in ("return-url", "cancel-url")]
    return web.plain(payments.create_paypal_payment(order, urls[0], urls[1]))


@route(app, "/v1/webhooks/stripe", methods=["POST"])
def stripe_webhook() -> Any:
    from openevent.orders import webhooks

    req = web.request_of(app)
    return web.plain(webhooks.stripe_webhook(web.raw_body(app),
                                             req.headers.get("stripe-signature")))


@route(app, "/v1/webhooks/paypal", methods=["POST"])
def paypal_webhook() -> Any:
    from openevent.orders import webhooks

    req = web.request_of(app)
    headers = {k: v for k, v in req.headers.items()}
    raw = web.raw_body(app)
    if not raw:
        raise BadRequest("Request body is empty", pointer="/")
    return web.plain(webhooks.paypal_webhook(headers, raw))


# --- statistics ----------------------------------------------------------------------------

@route(app, "/v1/events/{event_ref}/order-statistics")
def event_order_statistics(event_ref: str) -> Any:
    from openevent.orders.statistics import statistics

    user = web.current_user(app)
    event = get_event(event_ref, user)
    figures = statistics(user, int(event.id))  # reads the caller's role too
    require_event_role(user, event, "coorganizer")
    return web.jsonapi(schemas.statistics_document("event", event.id, figures,
                                                   event.identifier))


@route(app, "/v1/tickets/{ticket_id}/order-statistics")
def ticket_order_statistics(ticket_id: str) -> Any:
    from openevent.orders.statistics import statistics

    user = web.current_user(app)
    ticket = _ticket(ticket_id)
    event = get_event(str(ticket.event_id), user)
    figures = statistics(user, int(event.id), int(ticket.id))  # reads the caller's role too
    require_event_role(user, event, "coorganizer")
    return web.jsonapi(schemas.statistics_document("ticket", ticket.id, figures))


# --- stripe authorization: the Connect code exchange needs the Stripe SDK, which only this
# group ships; reading and deleting an authorization stay with the events group.

def _create_stripe_authorization() -> Any:
    from openevent.events import stripe_connect
    from openevent.wire import events as event_schemas

    user = require_login(web.current_user(app))
    payload = parse_document(web.raw_body(app), web.content_type(app),
                             event_schemas.STRIPE_AUTHORIZATION, create=True)
    ref = payload.relationships.get("event")
    if not ref:
        raise Unprocessable("'event' is required", relationship_pointer("event"))
    auth = stripe_connect.authorize(user, get_event(ref, user),
                                    payload.attributes["stripe_auth_code"])
    return web.created(web.resource_document(
        app, event_schemas.stripe_authorization_resource(auth)),
        f"/v1/stripe-authorization/{auth.id}")


@route(app, "/v1/stripe-authorization", methods=["POST"])
def create_stripe_authorization() -> Any:
    return _create_stripe_authorization()


@route(app, "/v1/stripe-authorizations", methods=["POST"])
def create_stripe_authorization_plural() -> Any:
    return _create_stripe_authorization()


# --- scheduled -----------------------------------------------------------------------------

@app.schedule("rate(1 minute)")
def expire_orders(event: Any) -> dict[str, int]:
    """Release the seats of overdue initializing/pending orders and orphan attendee holds."""
    return service.expire_due_orders()


@app.schedule("rate(5 minutes)")
def retry_refunds(event: Any) -> dict[str, int]:
    """Retry the refunds still owed for payments that could not be applied."""
    from openevent.orders import payments

    return payments.retry_pending_refunds()


# --- ticket documents ----------------------------------------------------------------------
# Rendering runs in its own Lambda, triggered by the order manifest the completion hook
# writes: the documents bucket notifies an SQS queue (S3 → SQS is what CloudFormation can
# declare; it also gives retries and a dead-letter queue). WeasyPrint is imported only there.

@app.on_sqs_message(queue=get_settings().documents_queue, batch_size=1)
def render_tickets(event: Any) -> list[str]:
    """Render, store, link and mail an order's ticket PDFs; raising makes SQS retry."""
    from openevent.documents import pipeline

    return [pipeline.process_notification(record.body) for record in event]


ticket_document_routes.routes.register(app)  # the PDF downloads
