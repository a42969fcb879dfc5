"""The admin sales pages summed over groups: `admin-sales-by-organizers`,
`admin-sales-by-location`, `admin-sales-by-marketer` and `admin-sales-discounted`, with the
attributes the web app reads (app/models/admin-sales-by-organizer.js, -by-location.js,
-by-marketer.js, -discounted.js; Open Event Server app/api/admin_sales/*.py) — one row per
group and currency, from the roll-ups the order transactions keep
(`openevent.orders.sales_rollup_pages`), never from the orders.

Paging as every list (`page[size]`/`page[number]`, `page[cursor]`); filters and sorts may
name only what a row is keyed by (`payment-currency`, and `location-name` by location) —
names, e-mails and figures are read after the page, so a filter on them is refused (400)
rather than answered wrongly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openevent.errors import BadRequest
from openevent.jsonapi.document import Resource, Schema
from openevent.jsonapi.fields import JsonValue, String
from openevent.jsonapi.naming import snake
from openevent.orders import sales_rollup_pages as pages

_SALES = {"payment_currency": String(), "sales": JsonValue()}

BY_ORGANIZERS = Schema(type="admin-sales-by-organizers", path="admin/sales/by-organizers",
                       fields={"first_name": String(), "last_name": String(),
                               "email": String(), **_SALES})
BY_LOCATION = Schema(type="admin-sales-by-location", path="admin/sales/by-location",
                     fields={"location_name": String(), **_SALES})
BY_MARKETER = Schema(type="admin-sales-by-marketer", path="admin/sales/by-marketer",
                     fields={"fullname": String(), "email": String(), **_SALES})
DISCOUNTED = Schema(type="admin-sales-discounted", path="admin/sales/discounted",
                    fields={"code": String(), "email": String(), "event_name": String(),
                            **_SALES})


def _organizers(rows: list[pages.Row]) -> dict[str, dict[str, Any]]:
    users = pages.people(r.group for r in rows)
    out = {}
    for row in rows:
        user = users.get(int(row.group))
        out[row.id] = {"first_name": user.first_name if user else None,
                       "last_name": user.last_name if user else None,
                       "email": str(user.email) if user else None}
    return out


def _locations(rows: list[pages.Row]) -> dict[str, dict[str, Any]]:
    return {row.id: {} for row in rows}


def _marketers(rows: list[pages.Row]) -> dict[str, dict[str, Any]]:
    users = pages.people(r.group for r in rows)
    return {row.id: {"fullname": pages.full_name(users.get(int(row.group))),
                     "email": str(users[int(row.group)].email)
                     if int(row.group) in users else None} for row in rows}


def _discounts(rows: list[pages.Row]) -> dict[str, dict[str, Any]]:
    found = pages.codes(r.group for r in rows)
    events = pages.events(c.event_id for c in found.values())
    users = pages.people(c.marketer_id for c in found.values() if c.marketer_id is not None)
    out = {}
    for row in rows:
        code = found.get(int(row.group))
        event = events.get(int(code.event_id)) if code is not None and code.event_id else None
        marketer = users.get(int(code.marketer_id)) \
            if code is not None and code.marketer_id is not None else None
        out[row.id] = {"code": str(code.code) if code is not None else None,
                       "event_name": str(event.name) if event is not None else None,
                       "email": str(marketer.email) if marketer is not None else None}
    return out


# page name -> (roll-up kind, schema, what a row's own key gives, the page's reads)
PAGES: dict[str, tuple[str, Schema, set[str],
                       Callable[[list[pages.Row]], dict[str, dict[str, Any]]]]] = {
    "by-organizers": ("organizer", BY_ORGANIZERS, {"payment_currency"}, _organizers),
    "by-location": ("location", BY_LOCATION, {"payment_currency", "location_name"},
                    _locations),
    "by-marketer": ("marketer", BY_MARKETER, {"payment_currency"}, _marketers),
    "discounted": ("discount", DISCOUNTED, {"payment_currency"}, _discounts),
}


def _names(spec: Any) -> list[str]:
    """Every attribute a filter names (nested combinators included)."""
    if isinstance(spec, list):
        return [n for s in spec for n in _names(s)]
    if not isinstance(spec, dict):
        return []
    out = [spec["name"]] if isinstance(spec.get("name"), str) else []
    for key in ("and", "or", "not"):
        if key in spec:
            out += _names(spec[key])
    return out


def check_params(name: str, query: Mapping[str, str]) -> None:
    """400 for a filter or sort on what a row is not keyed by."""
    from openevent.jsonapi.query import parse_params

    keyed = PAGES[name][2] | {"id"}
    params = parse_params(query)
    for attr in _names(params.filter) if params.filter else []:
        if snake(attr) not in keyed:
            raise BadRequest(f"This page filters only on {_wire(keyed)}, not '{attr}'",
                             parameter="filter")
    for attr, _desc in params.sort:
        if attr not in keyed:
            raise BadRequest(f"This page sorts only on {_wire(keyed)}, not '{attr}'",
                             parameter="sort")


def _wire(names: set[str]) -> str:
    return ", ".join(sorted(n.replace("_", "-") for n in names))


def row_resource(schema: Schema, row: pages.Row) -> Resource:
    """A row with what its key gives (figures and names come with `fill`)."""
    values: dict[str, Any] = {"payment_currency": row.currency}
    if row.kind == "location":
        values["location_name"] = row.group
    return Resource(schema, row.id, values, link=f"/v1/{schema.path}", source=row)


def document(name: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The page `name` (a key of PAGES) for the request's `query`."""
    from openevent.jsonapi.query import collection_document

    kind, schema, _keyed, reads = PAGES[name]
    check_params(name, query)
    seen: dict[str, pages.Row] = {}

    def to_resource(row: pages.Row) -> Resource:
        seen[row.id] = row
        return row_resource(schema, row)

    source = pages.RollupSource(kind, newest_first=kind != "location")
    doc = collection_document(source, to_resource, schema,
                              f"/v1/{schema.path}", query)
    rows = [seen[str(d["id"])] for d in doc["data"]]
    about = reads(rows)
    for entry in doc["data"]:
        row = seen[str(entry["id"])]
        attrs = entry["attributes"]
        values = {**about.get(row.id, {}), "sales": row.sales()}
        for key, value in values.items():
            wire = key.replace("_", "-")
            if wire in attrs:
                attrs[wire] = value
    return doc
