"""Events group: events, tickets, discount codes, event content (tax, tracks, sponsors,
microlocations, social links, custom forms), Stripe authorization and event copy.

Handlers are thin: parse the request, call the domain packages, serialize with
`openevent.wire.events`. Every rule lives in the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openevent import web
from openevent.errors import Unprocessable, relationship_pointer
from openevent.events import content, tickets
from openevent.events import discount_codes as codes
from openevent.events import lifecycle as events
from openevent.events import lists as event_lists
from openevent.jsonapi.document import (
    JSONAPI,
    Resource,
    Schema,
    meta_document,
    relationship_document,
)
from openevent.jsonapi.query import ListSource, collection_document, parse_params
from openevent.jsonapi.request import Payload, parse_document
from openevent.models.events import Event
from openevent.routes import access_codes as access_code_routes
from openevent.routes import empty as empty_routes
from openevent.routes import oes_events
from openevent.rules.lookup import event_ids, get_event
from openevent.rules.permissions import marketer_of, require_event_role, require_login
from openevent.wire import events as schemas

app = web.create_app("openevent-events")
route = web.route

oes_events.routes.register(app)  # the described routes kept outside this file
DELETED = "Object successfully deleted"


# --- helpers ---------------------------------------------------------------------------

def _params() -> Any:
    return parse_params(web.query(app))


def _ok(resource: Resource) -> Any:
    return web.jsonapi(web.resource_document(app, resource))


def _empty_single() -> Any:
    return web.jsonapi({"data": None, "jsonapi": JSONAPI})


def _list(items: list[Any], to_resource: Callable[[Any], Resource], schema: Schema,
          path: str) -> Any:
    return web.jsonapi(collection_document(ListSource(items), to_resource, schema, path,
                                           web.query(app)))


def _parse(schema: Schema, *, create: bool = False, url_ids: tuple[str, ...] | None = None,
           is_admin: bool = False, current: dict[str, Any] | None = None) -> Payload:
    return parse_document(web.raw_body(app), web.content_type(app), schema, create=create,
                          url_ids=url_ids, is_admin=is_admin, current=current)


def _event_of(payload: Payload, user: Any) -> Event:
    """The event a POST names in `relationships.event` (422 when missing)."""
    ref = payload.relationships.get("event")
    events_ref = payload.relationships.get("events")
    if not ref and isinstance(events_ref, list):  # Open Event's event discount code
        if len(events_ref) != 1:
            raise Unprocessable("Name exactly one event", relationship_pointer("events"))
        ref = events_ref[0]
    if not ref:
        raise Unprocessable("'event' is required", relationship_pointer("event"))
    return get_event(ref, user)


def _int_ids(raw: list[str] | None, name: str) -> list[int] | None:
    if raw is None:
        return None
    if not all(r.isdigit() and len(r) <= 18 for r in raw):
        raise Unprocessable(f"'{name}' ids must be numbers", relationship_pointer(name))
    return [int(r) for r in raw]


# --- events ----------------------------------------------------------------------------

@route(app, "/v1/events", methods=["POST"])
def create_event() -> Any:
    user = require_login(web.current_user(app))
    payload = _parse(schemas.EVENT, create=True)
    event = events.create_event(user, dict(payload.attributes))
    return web.created(web.resource_document(app, schemas.event_resource(event, user)),
                       f"/v1/events/{event.id}")


@route(app, "/v1/events")
def list_events() -> Any:
    user = web.current_user(app)
    params = _params()
    return web.jsonapi(collection_document(
        event_lists.event_list_source(user, params.filter),
        lambda e: schemas.event_resource(e, user), schemas.EVENT, "/v1/events", web.query(app),
        params))


@route(app, "/v1/events/upcoming")
def upcoming_events() -> Any:
    """Public events that have not ended yet, soonest first (the home page's list)."""
    user = web.current_user(app)
    query = dict(web.query(app))
    query.setdefault("sort", "starts-at")
    return web.jsonapi(collection_document(
        event_lists.upcoming_source(), lambda e: schemas.event_resource(e, user),
        schemas.EVENT, "/v1/events/upcoming", query, visible=event_lists.is_upcoming))


@route(app, "/v1/events/{ref}")
def get_event_view(ref: str) -> Any:
    user = web.current_user(app)
    return _ok(schemas.event_resource(get_event(ref, user), user))


@route(app, "/v1/events/{ref}", methods=["PATCH"])
def update_event(ref: str) -> Any:
    user = require_login(web.current_user(app))
    event = get_event(ref, user)
    require_event_role(user, event, "organizer")
    payload = _parse(schemas.EVENT, url_ids=event_ids(event))
    # through the orders domain: a location change moves the event's sales roll-up
    from openevent.orders import sales_regroup

    event = sales_regroup.update_event(user, event, dict(payload.attributes))
    return _ok(schemas.event_resource(event, user))


@route(app, "/v1/events/{ref}", methods=["DELETE"])
def delete_event(ref: str) -> Any:
    user = require_login(web.current_user(app))
    events.delete_event(user, get_event(ref, user))
    return web.jsonapi(meta_document(DELETED))


@route(app, "/v1/users/{user_id}/events")
def list_user_events(user_id: str) -> Any:
    user = web.current_user(app)
    uid = web.parse_int_id(user_id, "User")
    return _list(events.events_of_user(user, uid), lambda e: schemas.event_resource(e, user),
                 schemas.EVENT, f"/v1/users/{uid}/events")


@route(app, "/v1/events/{ref}/owner")
def event_owner(ref: str) -> Any:
    from openevent.models.users import User
    from openevent.rules.visibility import require_readable
    from openevent.wire.users import user_resource

    user = web.current_user(app)
    event = get_event(ref, user)
    require_event_role(user, event, "coorganizer")
    try:
        return _ok(require_readable(user, user_resource(User.get(event.owner_id))))
    except User.DoesNotExist:
        return _empty_single()


@route(app, "/v1/events/{ref}/copy", methods=["POST"])
def copy_event(ref: str) -> Any:
    from openevent.events.copying import copy_event as copy

    user = require_login(web.current_user(app))
    new = copy(user, get_event(ref, user))
    return web.plain({"id": new.id, "identifier": new.identifier, "copied": True})


# --- tickets ---------------------------------------------------------------------------

@route(app, "/v1/tickets", methods=["POST"])
def create_ticket() -> Any:
    user = require_login(web.current_user(app))
    payload = _parse(schemas.TICKET, create=True)
    event = _event_of(payload, user)
    ticket = tickets.create_ticket(user, event, dict(payload.attributes))
    return web.created(web.resource_document(app, schemas.ticket_resource(ticket, user)),
                       f"/v1/tickets/{ticket.id}")


def _ticket(item_id: str, read: bool = False) -> Any:
    user = web.current_user(app)
    ticket, event = tickets.get_ticket(web.parse_int_id(item_id, "Ticket"), user,
                                       with_deleted=read)
    return user, ticket, event


@route(app, "/v1/tickets/{item_id}")
def get_ticket(item_id: str) -> Any:
    if not item_id.isdigit() and len(item_id) == 36:
        # The web app downloads an order's tickets at /v1/tickets/<order identifier>.
        from openevent.orders import document_downloads as downloads

        return web.pdf(*downloads.order_pdf(require_login(web.current_user(app)), item_id))
    user, ticket, _ = _ticket(item_id, read=True)
    return _ok(schemas.ticket_resource(ticket, user))


@route(app, "/v1/tickets/{item_id}", methods=["PATCH"])
def update_ticket(item_id: str) -> Any:
    user, ticket, event = _ticket(item_id)
    require_event_role(user, event, "coorganizer")
    payload = _parse(schemas.TICKET, url_ids=(str(ticket.id),))
    if "event" in payload.relationships and payload.relationships["event"] not in event_ids(event):
        raise Unprocessable("A ticket cannot move to another event", relationship_pointer("event"))
    ticket = tickets.update_ticket(user, ticket, event, dict(payload.attributes))
    return _ok(schemas.ticket_resource(ticket, user))


@route(app, "/v1/tickets/{item_id}", methods=["DELETE"])
def delete_ticket(item_id: str) -> Any:
    user, ticket, event = _ticket(item_id)
    tickets.delete_ticket(user, ticket, event)
    return web.jsonapi(meta_document(DELETED))


@route(app, "/v1/tickets/{item_id}/event")
def ticket_event(item_id: str) -> Any:
    user, _, event = _ticket(item_id)
    return _ok(schemas.event_resource(event, user))


@route(app, "/v1/tickets/{item_id}/discount-codes")
def ticket_discount_codes(item_id: str) -> Any:
    user, ticket, event = _ticket(item_id)
    require_event_role(user, event, "coorganizer")
    found = [c for c in codes.codes_of_event(event.id)
             if ticket.id in codes.ticket_ids_of(c) and codes.may_see(user, c)]
    return _list(found, schemas.discount_code_resource, schemas.DISCOUNT_CODE,
                 f"/v1/tickets/{ticket.id}/discount-codes")


@route(app, "/v1/events/{ref}/tickets")
def event_tickets(ref: str) -> Any:
    user = web.current_user(app)
    event = get_event(ref, user)
    return _list(tickets.visible_tickets(event, user),
                 lambda t: schemas.ticket_resource(t, user), schemas.TICKET,
                 f"/v1/events/{ref}/tickets")


@route(app, "/v1/events/{ref}/tickets/availability")
def ticket_availability(ref: str) -> Any:
    user = web.current_user(app)
    return web.plain(tickets.availability(get_event(ref, user), user))


# --- discount codes --------------------------------------------------------------------


@route(app, "/v1/discount-codes", methods=["POST"])
def create_discount_code() -> Any:
    user = require_login(web.current_user(app))
    payload = _parse(schemas.DISCOUNT_CODE, create=True, is_admin=user.is_staff)
    event = _event_of(payload, user)
    code = codes.create_code(user, event, dict(payload.attributes),
                             _int_ids(payload.relationships.get("tickets"), "tickets"),
                             marketer_of(payload, user)[1])
    return web.created(web.resource_document(app, schemas.discount_code_resource(code, user)),
                       f"/v1/discount-codes/{code.id}")


def _code(item_id: str, read: bool = False) -> Any:
    user = web.current_user(app)
    code, event = codes.get_code(web.parse_int_id(item_id, "Discount code"), user,
                                 with_deleted=read)
    return user, code, event


@route(app, "/v1/discount-codes/{item_id}")
def get_discount_code(item_id: str) -> Any:
    user, code, _ = _code(item_id, read=True)
    return _ok(schemas.discount_code_resource(code, user))


@route(app, "/v1/discount-codes/{item_id}", methods=["PATCH"])
def update_discount_code(item_id: str) -> Any:
    user, code, event = _code(item_id)
    payload = _parse(schemas.DISCOUNT_CODE, url_ids=(str(code.id),), is_admin=user.is_staff)
    if "event" in payload.relationships and payload.relationships["event"] not in event_ids(event):
        raise Unprocessable("A code cannot move to another event", relationship_pointer("event"))
    code = codes.update_code(user, code, event, dict(payload.attributes),
                             _int_ids(payload.relationships["tickets"], "tickets")
                             if "tickets" in payload.relationships else None,
                             marketer_of(payload, user))
    return _ok(schemas.discount_code_resource(code, user))


@route(app, "/v1/discount-codes/{item_id}", methods=["DELETE"])
def delete_discount_code(item_id: str) -> Any:
    user, code, event = _code(item_id)
    codes.delete_code(user, code, event)
    return web.jsonapi(meta_document(DELETED))


@route(app, "/v1/discount-codes/{item_id}/event")
def discount_code_event(item_id: str) -> Any:
    user = web.current_user(app)
    _, event, _ = codes.get_code_for_buyer(web.parse_int_id(item_id, "Discount code"), user)
    return _ok(schemas.event_resource(event, user))


@route(app, "/v1/discount-codes/{item_id}/tickets")
def discount_code_tickets(item_id: str) -> Any:
    from openevent.rules.visibility import RULES

    user = web.current_user(app)
    code, _, _ = codes.get_code_for_buyer(web.parse_int_id(item_id, "Discount code"), user)
    found = [t for t in tickets.get_tickets(codes.ticket_ids_of(code))
             if RULES["ticket"](user, t)]
    return _list(found, lambda t: schemas.ticket_resource(t, user), schemas.TICKET,
                 f"/v1/discount-codes/{code.id}/tickets")


@route(app, "/v1/discount-codes/{item_id}/marketer")
def discount_code_marketer(item_id: str) -> Any:
    from openevent.models.users import User
    from openevent.rules.visibility import require_readable
    from openevent.wire.users import user_resource

    user, code, _ = _code(item_id)
    if code.marketer_id is None:
        return _empty_single()
    try:
        return _ok(require_readable(user, user_resource(User.get(code.marketer_id))))
    except User.DoesNotExist:
        return _empty_single()


@route(app, "/v1/events/{ref}/discount-codes")
def event_discount_codes(ref: str) -> Any:
    user = require_login(web.current_user(app))
    event = get_event(ref, user)
    require_event_role(user, event, "coorganizer")
    # The event-wide code is the admins' (a co-organizer may not see it, nor its id).
    return _list([c for c in codes.codes_of_event(event.id) if codes.may_see(user, c)],
                 lambda c: schemas.discount_code_resource(c, user), schemas.DISCOUNT_CODE,
                 f"/v1/events/{ref}/discount-codes")


@route(app, "/v1/events/{ref}/discount-code")
def event_discount_code(ref: str) -> Any:
    user = codes.require_admin_event_code(web.current_user(app))
    code = codes.event_level_code(get_event(ref, user))
    if code is None:
        return _empty_single()
    return _ok(schemas.discount_code_resource(code, user))


@route(app, "/v1/events/{ref}/discount-codes/{code}")
def check_discount_code(ref: str, code: str) -> Any:
    from urllib.parse import unquote

    user = web.current_user(app)
    event = get_event(ref, user)
    found = codes.check_public_code(event, unquote(code))
    return _ok(schemas.public_discount_code_resource(found, user, event))


# --- tax -------------------------------------------------------------------------------

def _tax(item_id: str) -> Any:
    user = web.current_user(app)
    item, event = content.get_child(content.TAX_KIND, web.parse_int_id(item_id, "Tax"), user)
    return user, item, event


@route(app, "/v1/taxes", methods=["POST"])
def create_tax() -> Any:
    user = require_login(web.current_user(app))
    payload = _parse(schemas.TAX, create=True)
    tax = content.create_tax(user, _event_of(payload, user), dict(payload.attributes))
    return web.created(web.resource_document(app, schemas.tax_resource(tax)), f"/v1/taxes/{tax.id}")


@route(app, "/v1/taxes/{item_id}")
def get_tax(item_id: str) -> Any:
    return _ok(schemas.tax_resource(_tax(item_id)[1]))


@route(app, "/v1/taxes/{item_id}", methods=["PATCH"])
def update_tax(item_id: str) -> Any:
    user, item, event = _tax(item_id)
    require_event_role(user, event, "coorganizer")
    payload = _parse(schemas.TAX, url_ids=(str(item.id),))
    content.update_child(content.TAX_KIND, user, item, event, dict(payload.attributes))
    return _ok(schemas.tax_resource(content.TAX_KIND.model.get(item.id)))


@route(app, "/v1/taxes/{item_id}", methods=["DELETE"])
def delete_tax(item_id: str) -> Any:
    user, item, event = _tax(item_id)
    content.delete_child(content.TAX_KIND, user, item, event)
    return web.jsonapi(meta_document(DELETED))


@route(app, "/v1/taxes/{item_id}/event")
def tax_event(item_id: str) -> Any:
    user, _, event = _tax(item_id)
    return _ok(schemas.event_resource(event, user))


@route(app, "/v1/events/{ref}/tax")
def event_tax(ref: str) -> Any:
    event = get_event(ref, web.current_user(app))
    tax = content.tax_of(event.id)
    return _empty_single() if tax is None else _ok(schemas.tax_resource(tax))


# --- tracks, sponsors, microlocations, social links, custom forms ----------------------

def _register_content(kind: content.ContentKind) -> None:
    """The five routes of one child resource type."""
    plural, schema, slug = kind.plural, kind.schema, kind.plural.replace("-", "_")

    def child(item_id: str) -> Any:
        user = web.current_user(app)
        item, event = content.get_child(kind, web.parse_int_id(item_id, kind.label), user)
        return user, item, event

    def create() -> Any:
        user = require_login(web.current_user(app))
        payload = _parse(schema, create=True)
        item = content.create_child(kind, user, _event_of(payload, user),
                                    dict(payload.attributes))
        return web.created(web.resource_document(app, schemas.content_resource(schema, item)),
                           f"/v1/{plural}/{item.id}")

    def read(item_id: str) -> Any:
        return _ok(schemas.content_resource(schema, child(item_id)[1]))

    def update(item_id: str) -> Any:
        user, item, event = child(item_id)
        require_event_role(user, event, "coorganizer")
        payload = _parse(schema, url_ids=(str(item.id),))
        content.update_child(kind, user, item, event, dict(payload.attributes))
        return _ok(schemas.content_resource(schema, kind.model.get(item.id)))

    def delete(item_id: str) -> Any:
        user, item, event = child(item_id)
        content.delete_child(kind, user, item, event)
        return web.jsonapi(meta_document(DELETED))

    def parent(item_id: str) -> Any:
        user, _, event = child(item_id)
        return _ok(schemas.event_resource(event, user))

    def of_event(ref: str) -> Any:
        event = get_event(ref, web.current_user(app))
        return _list(content.children(kind, event.id),
                     lambda i: schemas.content_resource(schema, i), schema,
                     f"/v1/events/{ref}/{plural}")

    def relationship(item_id: str, name: str) -> Any:
        item = child(item_id)[1]
        return web.jsonapi(relationship_document(schemas.content_resource(schema, item), name))

    for view, path, method in (
        (relationship, f"/v1/{plural}/{{item_id}}/relationships/{{name}}", "GET"),
        (create, f"/v1/{plural}", "POST"),
        (read, f"/v1/{plural}/{{item_id}}", "GET"),
        (update, f"/v1/{plural}/{{item_id}}", "PATCH"),
        (delete, f"/v1/{plural}/{{item_id}}", "DELETE"),
        (parent, f"/v1/{plural}/{{item_id}}/event", "GET"),
        (of_event, f"/v1/events/{{ref}}/{plural}", "GET"),
    ):
        view.__name__ = f"{view.__name__}_{slug}"
        route(app, path, methods=[method])(view)


for _kind in content.KINDS.values():
    _register_content(_kind)


# --- stripe authorization (created by the orders group, which ships the Stripe SDK) -----

def _stripe_auth(item_id: str, manage: bool = True) -> Any:
    from openevent.events import stripe_connect

    user = require_login(web.current_user(app))
    auth, event = stripe_connect.get_authorization(
        web.parse_int_id(item_id, "Stripe authorization"), user, manage=manage)
    return user, auth, event


@route(app, "/v1/stripe-authorization/{item_id}")
def get_stripe_authorization(item_id: str) -> Any:
    return _ok(schemas.stripe_authorization_resource(_stripe_auth(item_id, manage=False)[1]))


@route(app, "/v1/stripe-authorization/{item_id}", methods=["DELETE"])
def delete_stripe_authorization(item_id: str) -> Any:
    from openevent.events import stripe_connect

    user, auth, event = _stripe_auth(item_id)
    stripe_connect.delete_authorization(user, auth, event)
    return web.jsonapi(meta_document(DELETED))


@route(app, "/v1/stripe-authorization/{item_id}/event")
def stripe_authorization_event(item_id: str) -> Any:
    user, _, event = _stripe_auth(item_id)
    return _ok(schemas.event_resource(event, user))


@route(app, "/v1/events/{ref}/stripe-authorization")
def event_stripe_authorization(ref: str) -> Any:
    from openevent.events import stripe_connect

    user = require_login(web.current_user(app))
    auth = stripe_connect.authorization_for_event(get_event(ref, user))
    if auth is None:
        return _empty_single()
    return _ok(schemas.stripe_authorization_resource(auth))


empty_routes.register(app)  # out-of-scope resources clients still ask for: empty, never 404
access_code_routes.register(app)


@route(app, "/v1/events/{ref}/has-streams")
def event_has_streams(ref: str) -> Any:
    """Open Event's video-stream probe: this API hosts no streams."""
    get_event(ref, web.current_user(app))
    return web.plain({"exists": False, "can_access": False})


# --- relationship endpoints: every `links.self` of a relationship answers -----------------

@route(app, "/v1/events/{ref}/relationships/{name}")
def event_relationship(ref: str, name: str) -> Any:
    user = web.current_user(app)
    resource = schemas.event_resource(get_event(ref, user), user)
    return web.jsonapi(relationship_document(resource, name))


@route(app, "/v1/tickets/{item_id}/relationships/{name}")
def ticket_relationship(item_id: str, name: str) -> Any:
    user, ticket, _ = _ticket(item_id)
    return web.jsonapi(relationship_document(schemas.ticket_resource(ticket, user), name))


@route(app, "/v1/discount-codes/{item_id}/relationships/{name}")
def discount_code_relationship(item_id: str, name: str) -> Any:
    user, code, _ = _code(item_id)
    return web.jsonapi(relationship_document(schemas.discount_code_resource(code, user), name))


@route(app, "/v1/taxes/{item_id}/relationships/{name}")
def tax_relationship(item_id: str, name: str) -> Any:
    return web.jsonapi(relationship_document(schemas.tax_resource(_tax(item_id)[1]), name))


@route(app, "/v1/stripe-authorization/{item_id}/relationships/{name}")
def stripe_authorization_relationship(item_id: str, name: str) -> Any:
    resource = schemas.stripe_authorization_resource(_stripe_auth(item_id)[1])
    return web.jsonapi(relationship_document(resource, name))
