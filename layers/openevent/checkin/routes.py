"""The check-in routes, registered on the orders group's app (`register(app)`): thin handlers
over openevent.checkin.{scans,tickets}. Plain JSON (like `calculate-amount`), since a scanner
is not a JSON:API client.

    GET  /v1/checkin/events                              events the caller may scan at
    POST /v1/checkin/events/{id}/scans                   a scan (registrar+)
    GET  /v1/checkin/events/{id}/keys                    the public keys (registrar+)
    POST /v1/checkin/events/{id}/keys/{key id}/revoke    revoke a key here (organizer+)
    GET  /v1/checkin/events/{id}/attendees               names, tickets, states (registrar+)
    GET  /v1/checkin/events/{id}/figures                 checked in / sold (registrar+)
    POST /v1/attendees/{id}/reissue-ticket               a new code, the old one void (organizer+)
"""

from __future__ import annotations

import base64
import json
from typing import Any

from chalice import Chalice

from openevent import web
from openevent.errors import BadRequest, Forbidden
from openevent.rules.permissions import event_ids_with_role, has_event_role, require_login

PAGE_SIZE = 500
MAX_PAGE_SIZE = 2000


def _event_id(raw: str) -> int:
    return web.parse_int_id(raw, "Event")


def _require(app: Chalice, event_id: int, role: str = "registrar") -> Any:
    user = require_login(web.current_user(app))
    if not has_event_role(user, event_id, role):
        raise Forbidden(f"You need the {role} role in this event")
    return user


def _cursor(raw: str | None, event_id: int) -> Any:
    """A `page[cursor]` of this event's list (another event's, or anything else: 400)."""
    if not raw:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(value, dict) or set(value) != {"id", "event_id"} \
                or int(value["event_id"]) != int(event_id) or int(value["id"]) <= 0:
            raise ValueError
        return {"id": {"N": str(int(value["id"]))}, "event_id": {"N": str(int(value["event_id"]))}}
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError):
        raise BadRequest("'page[cursor]' is invalid", parameter="page[cursor]") from None


def _cursor_text(key: Any, event_id: int) -> str | None:
    if not key:
        return None
    raw = json.dumps({"id": int(key["id"]["N"]), "event_id": int(event_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def register(app: Chalice) -> None:
    route = web.route

    @route(app, "/v1/checkin/events")
    def checkin_events() -> Any:
        from openevent.models.base import batch_get_many
        from openevent.models.events import Event

        user = require_login(web.current_user(app))
        ids = sorted(set(event_ids_with_role(user, "registrar")))[:200]
        found = batch_get_many([(Event, ids)])[Event] if ids else []
        events = sorted((e for e in found if e.deleted_at is None),
                        key=lambda e: e.starts_at, reverse=True)
        return web.plain({"events": [{"id": str(e.id), "identifier": e.identifier,
                                      "name": e.name, "starts-at": e.starts_at.isoformat(),
                                      "ends-at": e.ends_at.isoformat()} for e in events]})

    @route(app, "/v1/checkin/events/{event_id}/scans", methods=["POST"])
    def checkin_scan(event_id: str) -> Any:
        from openevent.checkin import scans

        return web.plain(scans.scan(web.current_user(app), _event_id(event_id),
                                    web.json_body(app)))

    @route(app, "/v1/checkin/events/{event_id}/keys")
    def checkin_keys(event_id: str) -> Any:
        from openevent.checkin import tickets

        eid = _event_id(event_id)
        _require(app, eid)
        return web.plain({"keys": tickets.public_keys(eid)})

    @route(app, "/v1/checkin/events/{event_id}/keys/{key_id}/revoke", methods=["POST"])
    def checkin_revoke_key(event_id: str, key_id: str) -> Any:
        from openevent.checkin import tickets

        eid = _event_id(event_id)
        _require(app, eid, "organizer")
        kid = web.parse_int_id(key_id, "Key")
        return web.plain({"keys": tickets.revoke_key(eid, kid)})

    @route(app, "/v1/checkin/events/{event_id}/attendees")
    def checkin_attendees(event_id: str) -> Any:
        from openevent.checkin import tickets

        eid = _event_id(event_id)
        _require(app, eid)
        query = web.query(app)
        raw_size = query.get("page[size]", str(PAGE_SIZE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            raise BadRequest(f"'page[size]' must be 1-{MAX_PAGE_SIZE}", parameter="page[size]")
        cursor = _cursor(query.get("page[cursor]"), eid)
        items, nxt = tickets.scanner_page(eid, int(raw_size), cursor)
        return web.plain({"attendees": items, "next": _cursor_text(nxt, eid)})

    @route(app, "/v1/checkin/events/{event_id}/figures")
    def checkin_figures(event_id: str) -> Any:
        from openevent.checkin import tickets

        eid = _event_id(event_id)
        _require(app, eid)
        return web.plain(tickets.figures(eid))

    @route(app, "/v1/attendees/{attendee_id}/reissue-ticket", methods=["POST"])
    def reissue_ticket(attendee_id: str) -> Any:
        from openevent.checkin import tickets
        from openevent.orders.lifecycle import get_attendee

        user = require_login(web.current_user(app))
        attendee = get_attendee(web.parse_int_id(attendee_id, "Attendee"))
        if not has_event_role(user, int(attendee.event_id), "coorganizer"):
            raise Forbidden("Only the event's organizers reissue tickets")
        updated = tickets.reissue(attendee)
        return web.plain({"id": str(updated.id), "version": tickets.version_of(updated)})
