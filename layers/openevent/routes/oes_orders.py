"""Orders-group routes of Open Event Server's API description (registered by
functions/orders/app.py): Stripe authorizations by their own plural path (the code exchange
needs the Stripe SDK this group ships), the attendee lookups and actions
(`/v1/attendees/send-receipt`, `/v1/attendees/<id>/event`, `/v1/states`,
`/v1/events/<id>/attendees/search`).
"""

from __future__ import annotations

from typing import Any

from openevent import web
from openevent.errors import Forbidden, Unprocessable
from openevent.jsonapi.document import meta_document, relationship_document, single_document
from openevent.jsonapi.request import parse_document
from openevent.routes import Routes
from openevent.rules.lookup import get_event
from openevent.rules.permissions import require_login

routes = Routes()


# --- stripe authorizations -------------------------------------------------------------------

def _stripe_auth(app: Any, item_id: str, manage: bool = True) -> Any:
    from openevent.events import stripe_connect

    user = require_login(web.current_user(app))
    auth, event = stripe_connect.get_authorization(
        web.parse_int_id(item_id, "Stripe authorization"), user, manage=manage)
    return user, auth, event


def _auth_doc(app: Any, auth: Any) -> Any:
    from openevent.wire.events import stripe_authorization_resource

    return web.jsonapi(web.resource_document(app, stripe_authorization_resource(auth)))


@routes.route("/v1/stripe-authorizations/{item_id}")
def get_stripe_authorization(app: Any, item_id: str) -> Any:
    return _auth_doc(app, _stripe_auth(app, item_id, manage=False)[1])


@routes.route("/v1/stripe-authorizations/{item_id}", methods=["PATCH"])
def update_stripe_authorization(app: Any, item_id: str) -> Any:
    from openevent.events import stripe_connect
    from openevent.wire.events import STRIPE_AUTHORIZATION

    user, auth, event = _stripe_auth(app, item_id)
    payload = parse_document(web.raw_body(app), web.content_type(app), STRIPE_AUTHORIZATION,
                             url_ids=(str(auth.id),))
    ref = payload.relationships.get("event")
    if ref is not None and str(ref) not in (str(event.id), str(event.identifier)):
        raise Unprocessable("An authorization cannot move to another event",
                            "/data/relationships/event")
    code = payload.attributes.get("stripe_auth_code")
    if code:
        auth = stripe_connect.reauthorize(user, auth, event, code)
    return _auth_doc(app, auth)


@routes.route("/v1/stripe-authorizations/{item_id}", methods=["DELETE"])
def delete_stripe_authorization(app: Any, item_id: str) -> Any:
    from openevent.events import stripe_connect

    user, auth, event = _stripe_auth(app, item_id)
    stripe_connect.delete_authorization(user, auth, event)
    return web.jsonapi(meta_document("Object successfully deleted"))


@routes.route("/v1/stripe-authorizations/{item_id}/event")
def stripe_authorization_event(app: Any, item_id: str) -> Any:
    from openevent.wire.events import event_resource

    user, _, event = _stripe_auth(app, item_id)
    return web.jsonapi(web.resource_document(app, event_resource(event, user)))


@routes.route("/v1/stripe-authorizations/{item_id}/relationships/{name}")
def stripe_authorization_relationship(app: Any, item_id: str, name: str) -> Any:
    from openevent.wire.events import stripe_authorization_resource

    resource = stripe_authorization_resource(_stripe_auth(app, item_id)[1])
    return web.jsonapi(relationship_document(resource, name))


# --- attendees -------------------------------------------------------------------------------

@routes.route("/v1/attendees/send-receipt", methods=["POST"])
def send_receipt(app: Any) -> Any:
    from openevent.orders import attendee_extras

    body = web.json_body(app)
    attendee_extras.send_receipt(web.current_user(app),
                                 body.get("order-identifier", body.get("order_identifier")))
    return web.plain({"message": "receipt sent to attendees"})


def _can_read_attendee(user: Any, attendee: Any) -> bool:
    from openevent.orders import lifecycle as orders

    return bool(orders.can_manage_attendee(user, attendee))


@routes.route("/v1/attendees/{attendee_id}/event")
def attendee_event(app: Any, attendee_id: str) -> Any:
    from openevent.orders import lifecycle as orders
    from openevent.wire.events import event_resource

    user = require_login(web.current_user(app))
    attendee = orders.get_attendee(web.parse_int_id(attendee_id, "Attendee"))
    if not _can_read_attendee(user, attendee):
        raise Forbidden("You can't access this attendee")
    return web.jsonapi(web.resource_document(
        app, event_resource(get_event(str(attendee.event_id), user), user)))


@routes.route("/v1/events/{event_ref}/attendees/search")
def search_attendees(app: Any, event_ref: str) -> Any:
    """`{"attendees": [<attendee attributes>]}` of the holders matching `name` / `email`."""
    from openevent.orders import attendee_extras
    from openevent.wire.orders import attendee_resource

    user = web.current_user(app)
    query = web.query(app)
    found = attendee_extras.search(user, get_event(event_ref, user), query.get("name"),
                                   query.get("email"))
    return web.plain({"attendees": [
        {"id": str(a.id), **single_document(attendee_resource(a, user))["data"]["attributes"]}
        for a in found]})


@routes.route("/v1/states")
def attendee_state(app: Any) -> Any:
    from openevent.orders import attendee_extras

    query = web.query(app)
    return web.plain(attendee_extras.state(web.current_user(app), query.get("event_id"),
                                           query.get("attendee_id"), _can_read_attendee))
