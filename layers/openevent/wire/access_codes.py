"""The `access-code` resource as organizers manage it, and as the public check by code text
shows it to a buyer (what unlocks tickets: its tickets and validity, not its uses or
marketer)."""

from __future__ import annotations

from typing import Any, cast

from openevent.jsonapi import links
from openevent.jsonapi.compat import item_values
from openevent.jsonapi.document import Rel, RelSpec, Resource, Schema
from openevent.jsonapi.fields import Boolean, DateTime, Integer, String, Url
from openevent.models.access_codes import AccessCode
from openevent.models.users import User

ACCESS_CODE = Schema(
    type="access-code",
    path="access-codes",
    numeric_id=True,
    fields={
        "code": String(required=True, nullable=False, min_length=1, max_length=100),
        "access_url": Url(),
        "is_active": Boolean(nullable=False, default=True),
        "tickets_number": Integer(minimum=1, maximum=10_000_000),
        "min_quantity": Integer(minimum=0, maximum=100_000),
        "max_quantity": Integer(minimum=0, maximum=100_000),
        "valid_from": DateTime(),
        "valid_till": DateTime(),
        "created_at": DateTime(read_only=True),
    },
    relationships={
        "event": RelSpec("event"),
        "tickets": RelSpec("ticket", many=True),
        "marketer": RelSpec("user"),
    },
)

PUBLIC_ACCESS_CODE = Schema(
    type="access-code",
    path="access-codes",
    numeric_id=True,
    fields={name: spec for name, spec in ACCESS_CODE.fields.items()
            if name not in ("tickets_number", "created_at")},
)


def access_code_resource(code: AccessCode, user: User | None = None,
                         public: bool = False, event: Any = None) -> Resource:
    """The code; `public` (the check by text): without uses and marketer. The tickets come
    through `links.related` (`/v1/access-codes/<id>/tickets`), which shows the hidden
    tickets the code unlocks to its holder."""
    from openevent.rules.event_reads import tickets_of
    from openevent.wire.events import _event_loader, ticket_resource

    base = f"/v1/access-codes/{code.id}"
    ticket_ids = [int(t) for t in cast(list[Any], code.ticket_ids or [])]

    def tickets() -> list[Resource]:
        return [ticket_resource(t, user) for t in tickets_of(code)]

    rels: dict[str, Rel] = {
        "event": Rel("event", int(code.event_id), f"{base}/event",
                     loader=_event_loader(int(code.event_id), user)),
        "tickets": Rel("ticket", ticket_ids, f"{base}/tickets", loader=tickets, many=True),
    }
    if not public:
        rels["marketer"] = Rel("user", code.marketer_id, f"{base}/marketer",
                               loader=lambda: _marketer(code))
    if event is not None and event.identifier:  # as the public discount-code check does
        from openevent.wire.events import event_resource

        rels["event"] = Rel("event", str(event.identifier), f"/v1/events/{event.identifier}",
                            loader=lambda: [event_resource(event, user)])
    schema = PUBLIC_ACCESS_CODE if public else ACCESS_CODE
    return Resource(schema, int(code.id), item_values(schema, code), rels, source=code)


def _marketer(code: AccessCode) -> list[Any]:
    from openevent.wire.users import user_resource

    if code.marketer_id is None:
        return []
    try:
        return [user_resource(User.get(int(code.marketer_id)))]
    except User.DoesNotExist:
        return []


links.provide("access-code", access_code_resource)
