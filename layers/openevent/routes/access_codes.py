"""The access-code routes of the events group (Open Event Server's paths), registered on its
Chalice app by `register(app)`. Thin: parse, call `openevent.events.access_codes`,
serialize with `openevent.wire.access_codes`.

| route | who |
|---|---|
| `POST /v1/access-codes`, `GET/PATCH/DELETE /v1/access-codes/<id>` | co-organizers and up |
| `GET /v1/events/<ref>/access-codes`, `/v1/tickets/<id>/access-codes` | co-organizers and up |
| `GET /v1/events/<ref>/access-codes/<code>` | anyone who sees the event (the check by text) |
| `GET /v1/access-codes/<id>/event`, `/tickets` | organizers; the holder while usable |
| `GET /v1/access-codes/<id>/marketer`, `/relationships/<name>` | co-organizers and up |
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import Chalice

from openevent import web
from openevent.errors import Unprocessable, relationship_pointer
from openevent.events import access_codes as codes
from openevent.jsonapi.document import JSONAPI, meta_document, relationship_document
from openevent.jsonapi.query import ListSource, collection_document
from openevent.jsonapi.request import Payload, parse_document
from openevent.rules.lookup import event_ids, get_event
from openevent.rules.permissions import marketer_of, require_event_role, require_login
from openevent.wire.access_codes import ACCESS_CODE, access_code_resource


def _int_ids(raw: list[str] | None, name: str) -> list[int] | None:
    if raw is None:
        return None
    if not all(r.isdigit() and len(r) <= 18 for r in raw):
        raise Unprocessable(f"'{name}' ids must be numbers", relationship_pointer(name))
    return [int(r) for r in raw]



def register(app: Chalice) -> None:  # noqa: C901 - one nested view per route
    route = web.route

    def parse(create: bool = False, url_ids: tuple[str, ...] | None = None,
              is_admin: bool = False) -> Payload:
        return parse_document(web.raw_body(app), web.content_type(app), ACCESS_CODE,
                              create=create, url_ids=url_ids, is_admin=is_admin)

    def ok(resource: Any) -> Any:
        return web.jsonapi(web.resource_document(app, resource))

    def listing(items: list[Any], to_resource: Any, schema: Any, path: str) -> Any:
        return web.jsonapi(collection_document(ListSource(items), to_resource, schema, path,
                                               web.query(app)))

    def managed(item_id: str) -> tuple[Any, Any, Any]:
        user = web.current_user(app)
        code, event = codes.get_code(web.parse_int_id(item_id, "Access code"), user)
        return user, code, event

    @route(app, "/v1/access-codes", methods=["POST"])
    def create_access_code() -> Any:
        user = require_login(web.current_user(app))
        payload = parse(create=True, is_admin=user.is_staff)
        ref = payload.relationships.get("event")
        if not ref:
            raise Unprocessable("'event' is required", relationship_pointer("event"))
        event = get_event(ref, user)
        code = codes.create_code(user, event, dict(payload.attributes),
                                 _int_ids(payload.relationships.get("tickets"), "tickets"),
                                 marketer_of(payload, user)[1])
        return web.created(web.resource_document(app, access_code_resource(code, user)),
                           f"/v1/access-codes/{code.id}")

    @route(app, "/v1/access-codes/{item_id}")
    def get_access_code(item_id: str) -> Any:
        user, code, _ = managed(item_id)
        return ok(access_code_resource(code, user))

    @route(app, "/v1/access-codes/{item_id}", methods=["PATCH"])
    def update_access_code(item_id: str) -> Any:
        user, code, event = managed(item_id)
        payload = parse(url_ids=(str(code.id),), is_admin=user.is_staff)
        if "event" in payload.relationships and \
                payload.relationships["event"] not in event_ids(event):
            raise Unprocessable("A code cannot move to another event",
                                relationship_pointer("event"))
        code = codes.update_code(user, code, event, dict(payload.attributes),
                                 _int_ids(payload.relationships["tickets"], "tickets")
                                 if "tickets" in payload.relationships else None,
                                 marketer_of(payload, user))
        return ok(access_code_resource(code, user))

    @route(app, "/v1/access-codes/{item_id}", methods=["DELETE"])
    def delete_access_code(item_id: str) -> Any:
        user, code, event = managed(item_id)
        codes.delete_code(user, code, event)
        return web.jsonapi(meta_document("Object successfully deleted"))

    @route(app, "/v1/access-codes/{item_id}/event")
    def access_code_event(item_id: str) -> Any:
        from openevent.wire.events import event_resource

        user = web.current_user(app)
        _, event, _ = codes.get_code_for_holder(web.parse_int_id(item_id, "Access code"), user)
        return ok(event_resource(event, user))

    @route(app, "/v1/access-codes/{item_id}/tickets")
    def access_code_tickets(item_id: str) -> Any:
        from openevent.wire.events import TICKET, _by_identifier, ticket_resource

        user = web.current_user(app)
        code, event, _ = codes.get_code_for_holder(web.parse_int_id(item_id, "Access code"),
                                                   user)
        # the event linkage by identifier, as the web app keys events (frontend-compat.md)
        return listing(codes.tickets_of(code),
                       lambda t: _by_identifier(ticket_resource(t, user), event), TICKET,
                       f"/v1/access-codes/{code.id}/tickets")

    @route(app, "/v1/access-codes/{item_id}/marketer")
    def access_code_marketer(item_id: str) -> Any:
        from openevent.rules.visibility import require_readable
        from openevent.wire.access_codes import _marketer as code_marketer

        user, code, _ = managed(item_id)
        found = code_marketer(code)
        if not found:
            return web.jsonapi({"data": None, "jsonapi": JSONAPI})
        return ok(require_readable(user, found[0]))

    @route(app, "/v1/access-codes/{item_id}/relationships/{name}")
    def access_code_relationship(item_id: str, name: str) -> Any:
        user, code, _ = managed(item_id)
        return web.jsonapi(relationship_document(access_code_resource(code, user), name))

    @route(app, "/v1/events/{ref}/access-codes")
    def event_access_codes(ref: str) -> Any:
        user = require_login(web.current_user(app))
        event = get_event(ref, user)
        require_event_role(user, event, "coorganizer")
        return listing(codes.codes_of_event(int(event.id)),
                       lambda c: access_code_resource(c, user), ACCESS_CODE,
                       f"/v1/events/{ref}/access-codes")

    @route(app, "/v1/tickets/{item_id}/access-codes")
    def ticket_access_codes(item_id: str) -> Any:
        from openevent.events import tickets

        user = require_login(web.current_user(app))
        ticket, event = tickets.get_ticket(web.parse_int_id(item_id, "Ticket"), user)
        require_event_role(user, event, "coorganizer")
        found = [c for c in codes.codes_of_event(int(event.id))
                 if int(ticket.id) in codes.ticket_ids_of(c)]
        return listing(found, lambda c: access_code_resource(c, user), ACCESS_CODE,
                       f"/v1/tickets/{ticket.id}/access-codes")

    @route(app, "/v1/events/{ref}/access-codes/{code}")
    def check_access_code(ref: str, code: str) -> Any:
        user = web.current_user(app)
        event = get_event(ref, user)
        found = codes.check_public(event, unquote(code), user)
        return ok(access_code_resource(found, user, public=True, event=event))
