"""The admin sales documents: `admin-sales-by-events` and `admin-sales-fees`, with the
attributes the web app reads (app/models/admin-sales-by-event.js, admin-sales-fee.js).

The list is built as the admin event list (filters and sorts on the event's own fields), then
the page's figures and owners are read and filled in (`fill_by_events`, `fill_fees`)."""

from __future__ import annotations

from typing import Any

from openevent.jsonapi.compat import item_values
from openevent.jsonapi.document import Resource, Schema
from openevent.jsonapi.fields import DateTime, Integer, JsonValue, Number, String
from openevent.orders import admin_sales

_EVENT_FIELDS = {
    "identifier": String(), "name": String(), "starts_at": DateTime(), "ends_at": DateTime(),
    "created_at": DateTime(), "payment_currency": String(), "payment_country": String(),
    "location_name": String(),
}

BY_EVENTS = Schema(type="admin-sales-by-events", path="admin/sales/by-events", fields={
    **_EVENT_FIELDS, "type": String(), "owner": String(), "owner_id": String(),
    **{f"{s}_order_{k}": (Number() if k == "sales" else Integer())
       for s in admin_sales.STATUSES for k in ("sales", "tickets")},
    "sales": JsonValue(),
})

FEES = Schema(type="admin-sales-fees", path="admin/sales/fees", fields={
    **_EVENT_FIELDS, "fee_percentage": Number(), "maximum_fee": Number(), "revenue": Number(),
    "ticket_count": Integer(), "event_date": DateTime(),
})


def event_row(schema: Schema, event: Any) -> Resource:
    """The event's own values (what filters and sorts see); figures come with `fill_*`."""
    from openevent.wire.events import EVENT

    values = {k: v for k, v in item_values(EVENT, event).items() if k in _EVENT_FIELDS}
    values["type"] = admin_sales.event_type(item_values(EVENT, event))
    values["event_date"] = event.starts_at
    values["owner_id"] = str(event.owner_id) if event.owner_id is not None else None
    return Resource(schema, str(event.id), values, link=f"/v1/{schema.path}/{event.id}",
                    source=event)


def _ids(doc: dict[str, Any]) -> list[int]:
    return [int(d["id"]) for d in doc.get("data", [])]


def fill_by_events(doc: dict[str, Any]) -> dict[str, Any]:
    from openevent.models.users import User

    figures = admin_sales.figures_of(_ids(doc))
    owners = {int(d["attributes"]["owner-id"]) for d in doc["data"]
              if d["attributes"].get("owner-id")}
    emails = {int(u.id): str(u.email) for u in User.batch_get(list(owners))} if owners else {}
    for entry in doc["data"]:
        sales = admin_sales.sales(figures[int(entry["id"])])
        attrs = entry["attributes"]
        for status, figure in sales.items():
            attrs[f"{status}-order-sales"] = figure["sales_total"]
            attrs[f"{status}-order-tickets"] = figure["ticket_count"]
        attrs["sales"] = sales
        owner = attrs.get("owner-id")
        attrs["owner"] = emails.get(int(owner)) if owner else None
    return doc


def fill_fees(doc: dict[str, Any]) -> dict[str, Any]:
    figures = admin_sales.figures_of(_ids(doc))
    rules = admin_sales.fee_rules()
    for entry in doc["data"]:
        attrs = entry["attributes"]
        fee = admin_sales.fee_figures(figures[int(entry["id"])],
                                      str(attrs.get("payment-currency") or "USD"), rules)
        attrs.update({k.replace("_", "-"): v for k, v in fee.items()})
    return doc
