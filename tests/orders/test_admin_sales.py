"""The admin's sales pages (issue 23, item 1): each event's tickets and sales per order
status and the fee on completed sales, from the figures the order transactions keep — equal
to what the orders themselves add up to — with the attributes the web app reads. Only admins
read them."""

from __future__ import annotations

import json

import pytest

from tests.conftest import error_of


def _recount(world, event):
    """The figures recomputed from the orders themselves (the test's oracle)."""
    from decimal import Decimal

    from openevent.models.orders import Order

    out = {s: [Decimal(0), 0] for s in ("completed", "placed", "pending")}
    for order in Order.event_index.query(event.id):
        if order.status in out:
            out[order.status][0] += Decimal(order.amount or 0)
            out[order.status][1] += order.seats
    return {s: (float(v[0]), v[1]) for s, v in out.items()}


@pytest.fixture
def sold(world, people, shop):
    from openevent.orders.lifecycle import transition

    one = world.checkout(people.buyer, [(shop.paid, 2)]).json()["data"]
    two = world.checkout(people.stranger, [(shop.paid, 1)]).json()["data"]
    three = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    transition(world.order(three["attributes"]["identifier"]), "pending", allowed_from=[
        "initializing"])
    transition(world.order(one["attributes"]["identifier"]), "completed")
    transition(world.order(two["attributes"]["identifier"]), "placed", allowed_from=[
        "initializing"])
    return shop


def test_by_events_shows_each_events_figures(world, people, sold):
    other = world.event(people.owner, name="Quiet", location_name="Town Hall")
    resp = world.api.get("/v1/admin/sales/by-events?page[size]=10", token=people.admin.token)
    assert resp.status == 200, resp.body
    rows = {r["id"]: r for r in resp.json()["data"]}
    row = rows[str(sold.event.id)]
    assert row["type"] == "admin-sales-by-events"
    attrs = row["attributes"]
    truth = _recount(world, sold.event)
    for status in ("completed", "placed", "pending"):
        assert (attrs[f"{status}-order-sales"], attrs[f"{status}-order-tickets"]) == \
            truth[status], status
        assert attrs["sales"][status] == {"sales_total": truth[status][0],
                                          "ticket_count": truth[status][1]}
    assert (attrs["completed-order-sales"], attrs["placed-order-tickets"],
            attrs["pending-order-tickets"]) == (20.0, 1, 1)
    assert attrs["owner"] == people.owner.email
    assert attrs["owner-id"] == str(people.owner.id)
    assert attrs["name"] == "PyCon" and attrs["payment-currency"] == "USD"
    quiet = rows[str(other.id)]["attributes"]
    assert (quiet["type"], quiet["completed-order-sales"], quiet["sales"]["pending"]) == (
        "Venue", 0.0, {"sales_total": 0.0, "ticket_count": 0})


def test_the_apps_filters_and_paging(world, people, sold):
    past = json.dumps([{"name": "ends-at", "op": "lt", "val": "2000-01-01T00:00:00Z"}])
    resp = world.api.get(f"/v1/admin/sales/by-events?filter={past}&page[size]=10"
                         "&page[number]=1&sort=-starts-at", token=people.admin.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"] == [] and resp.json()["meta"]["count"] == 0
    bad = world.api.get("/v1/admin/sales/by-events?filter=[{\"name\":\"nope\",\"op\":\"eq\","
                        "\"val\":1}]", token=people.admin.token)
    assert bad.status == 400


def test_fees_apply_the_currency_fee(world, people, sold):
    made = world.api.post("/v1/ticket-fees", {"data": {"type": "ticket-fee", "attributes": {
        "currency": "USD", "service-fee": 10, "maximum-fee": 100, "country": "US"}}},
        token=people.admin.token)
    assert made.status == 201, made.body
    resp = world.api.get("/v1/admin/sales/fees", token=people.admin.token)
    assert resp.status == 200, resp.body
    attrs = {r["id"]: r["attributes"] for r in resp.json()["data"]}[str(sold.event.id)]
    assert (attrs["fee-percentage"], attrs["maximum-fee"], attrs["revenue"],
            attrs["ticket-count"]) == (10.0, 100.0, 18.0, 2)
    assert attrs["event-date"] and attrs["name"] == "PyCon"
    newest = world.event(people.owner, name="Newest")
    listed = world.api.get("/v1/admin/sales/fees", token=people.admin.token).json()["data"]
    assert listed[0]["id"] == str(newest.id)  # unsorted, the Revenue page sees new events


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("buyer", 403), ("owner", 403),
                                        ("coorganizer", 403)])
def test_only_admins_read_sales(world, people, sold, who, status):
    account = getattr(people, who, None)
    for name in ("by-events", "fees"):
        resp = world.api.get(f"/v1/admin/sales/{name}",
                             token=account.token if account else None)
        assert resp.status == status, (name, resp.body)


def test_unknown_sales_pages_are_404(world, people):
    resp = world.api.get("/v1/admin/sales/by-nothing", token=people.admin.token)
    assert resp.status == 404
    assert error_of(resp)["source"] == {"parameter": "name"}


def test_event_invoices_list_is_empty_not_missing(world, people):
    resp = world.api.get("/v1/event-invoices?include=event,user", token=people.admin.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"] == []
