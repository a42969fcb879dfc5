"""Events-group routes of Open Event Server's API description (registered by
functions/events/app.py): the admin's list of event discount codes, a code's `events`, and
the tax lookup by Open Event's singular path (`/v1/tax/<id>/event`), and an event invoice
and its lookups (`/v1/event-invoices/<id>`, `/event`, `/user`), which are never found:
Open Event's event invoices are its monthly fee bills to organizers, and this platform
issues none (`GET /v1/event-invoices` is always empty), so every id is a 404 naming the
invoice — not "No route" — and a bad token is 401 as anywhere.
"""

from __future__ import annotations

from typing import Any

from openevent import web
from openevent.jsonapi.query import ListSource, collection_document
from openevent.routes import Routes
from openevent.rules.permissions import require_staff

routes = Routes()


@routes.route("/v1/discount-codes")
def list_event_discount_codes(app: Any) -> Any:
    """Admins: the platform's event discount codes (Open Event's admin list; only admins
    make them). Ticket codes are listed per event (`/v1/events/<id>/discount-codes`)."""
    from openevent.models.events import DiscountCode
    from openevent.models.paging import PartitionSource
    from openevent.wire.events import DISCOUNT_CODE, discount_code_resource

    user = require_staff(web.current_user(app))
    source = PartitionSource(DiscountCode, DiscountCode.used_for_index, "event",
                             count=lambda: None, window=True,
                             filter_condition=DiscountCode.deleted_at.does_not_exist())
    return web.jsonapi(collection_document(
        source, lambda c: discount_code_resource(c, user), DISCOUNT_CODE,
        "/v1/discount-codes", web.query(app)))


@routes.route("/v1/discount-codes/{item_id}/events")
def discount_code_events(app: Any, item_id: str) -> Any:
    """The code's event as a list (Open Event models event codes as applying to events)."""
    from openevent.events import discount_codes as codes
    from openevent.wire.events import EVENT, event_resource

    user = web.current_user(app)
    _, event = codes.get_code(web.parse_int_id(item_id, "Discount code"), user)
    return web.jsonapi(collection_document(
        ListSource([event]), lambda e: event_resource(e, user), EVENT,
        f"/v1/discount-codes/{item_id}/events", web.query(app)))


@routes.route("/v1/tax/{item_id}/event")
def tax_event_of_oes_path(app: Any, item_id: str) -> Any:
    """Open Event Server's singular path; /v1/taxes/{id}/event is the plural one."""
    from openevent.events import content
    from openevent.wire.events import event_resource

    user = web.current_user(app)
    _, event = content.get_child(content.TAX_KIND, web.parse_int_id(item_id, "Tax"), user)
    return web.jsonapi(web.resource_document(app, event_resource(event, user)))


def _no_event_invoice(app: Any, item_id: str) -> Any:
    """No event invoice exists here (see the module's docstring): 404 for any id."""
    from openevent.errors import NotFound

    web.current_user(app)  # a bad token is 401, as on the (empty) list
    web.parse_int_id(item_id, "Event invoice")
    raise NotFound("Event invoice not found", parameter="id")


@routes.route("/v1/event-invoices/{item_id}")
def event_invoice(app: Any, item_id: str) -> Any:
    return _no_event_invoice(app, item_id)


@routes.route("/v1/event-invoices/{item_id}/event")
def event_invoice_event(app: Any, item_id: str) -> Any:
    return _no_event_invoice(app, item_id)


@routes.route("/v1/event-invoices/{item_id}/user")
def event_invoice_user(app: Any, item_id: str) -> Any:
    return _no_event_invoice(app, item_id)
