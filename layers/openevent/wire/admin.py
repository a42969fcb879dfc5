"""Wire resources of the admin pages: statistics, ticket fees, user permissions, custom
system roles, panel permissions (the Open Event web app's `admin/` routes)."""

from __future__ import annotations

import json
from typing import Any

from openevent.jsonapi.document import JSONAPI, Rel, RelSpec, Resource, Schema
from openevent.jsonapi.fields import Boolean, Money, String
from openevent.models.system import SystemRecord

TICKET_FEE = Schema(
    type="ticket-fee",
    path="ticket-fees",
    fields={
        "country": String(max_length=100),
        "currency": String(required=True, nullable=False, min_length=3, max_length=3),
        "service_fee": Money(nullable=False),
        "maximum_fee": Money(nullable=False),
    },
)

USER_PERMISSION = Schema(
    type="user-permission",
    path="user-permissions",
    fields={
        "name": String(required=True, nullable=False, min_length=1, max_length=255),
        "description": String(max_length=5000),
        "unverified_user": Boolean(nullable=False),
        "anonymous_user": Boolean(nullable=False),
    },
)

PANEL_PERMISSION = Schema(
    type="panel-permission",
    path="panel-permissions",
    fields={
        "panel_name": String(required=True, nullable=False, min_length=1, max_length=255),
        "can_access": Boolean(nullable=False),
    },
    relationships={"custom_system_roles": RelSpec("custom-system-role", many=True)},
)

CUSTOM_SYSTEM_ROLE = Schema(
    type="custom-system-role",
    path="custom-system-roles",
    fields={"name": String(required=True, nullable=False, min_length=1, max_length=255)},
    relationships={"panel_permissions": RelSpec("panel-permission", many=True)},
)

KINDS: dict[str, Schema] = {s.path: s for s in (TICKET_FEE, USER_PERMISSION,
                                                 PANEL_PERMISSION, CUSTOM_SYSTEM_ROLE)}
# Which relationship of a kind links to which other kind (stored as id lists in `data`).
LINKS: dict[str, dict[str, str]] = {
    "panel-permissions": {"custom_system_roles": "custom-system-roles"},
    "custom-system-roles": {"panel_permissions": "panel-permissions"},
}


def record_values(record: SystemRecord) -> dict[str, Any]:
    data = json.loads(record.data or "{}")
    return data if isinstance(data, dict) else {}


def record_resource(schema: Schema, record: SystemRecord) -> Resource:
    data = record_values(record)
    values = {}
    for name, spec in schema.fields.items():
        raw = data.get(name)
        try:
            values[name] = None if raw is None else spec.convert(raw, name)
        except Exception:  # noqa: BLE001 - a value stored by an older schema reads as unset
            values[name] = None
    rels = {}
    for name, target in LINKS.get(schema.path, {}).items():
        ids = [int(i) for i in data.get(name, [])]
        rels[name] = Rel(KINDS[target].type, ids, f"/v1/{schema.path}/{record.id}/{target}",
                         many=True, loader=_loader(target, ids))
    return Resource(schema, record.id, values, rels, source=record)


def _loader(kind: str, ids: list[int]) -> Any:
    def load() -> list[Resource]:
        if not ids:
            return []
        found = SystemRecord.batch_get([(kind, i) for i in ids])
        return [record_resource(KINDS[kind], r) for r in found]

    return load


STATISTICS = ("events", "users", "mails", "sessions", "groups")


def statistics_document(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """`/v1/admin/statistics/<name>`: type `admin-statistics-<singular>`, id "1"."""
    from openevent.jsonapi.naming import dasherize

    rtype = f"admin-statistics-{name[:-1]}"
    link = f"/v1/admin/statistics/{name}"
    return {"data": {"type": rtype, "id": "1",
                     "attributes": {dasherize(k): v for k, v in figures.items()},
                     "links": {"self": link}},
            "links": {"self": link}, "jsonapi": JSONAPI}
