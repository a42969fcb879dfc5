"""The organizer's attendee tabs (`GET /v1/events/<id>/attendees`, as the web app sends
them): "all" pages the event's attendees and counts the live-attendee figure; a status tab
walks the event's orders in that status and counts their seats. Counts must equal what is
listed, and walking the pages must list every attendee exactly once."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from openevent.models.base import now
from openevent.models.orders import ORDER_STATUSES, Attendee, Order
from openevent.orders import lifecycle as service


def _filter(status):
    if status is None:
        return []
    return [{"name": "order", "op": "has",
             "val": {"name": "status", "op": "eq", "val": status}}]


def _get(world, people, event, status=None, **page):
    query = "&".join(f"page[{k}]={v}" for k, v in page.items())
    resp = world.api.get(f"/v1/events/{event.id}/attendees?include=user,ticket&filter="
                         f"{quote(json.dumps(_filter(status)))}&{query}",
                         token=people.owner.token)
    assert resp.status == 200, resp.body
    return resp.json()


def _walk(world, people, event, status, size):
    link = (f"/v1/events/{event.id}/attendees?filter={quote(json.dumps(_filter(status)))}"
            f"&page[size]={size}&page[cursor]=")
    seen = []
    while link:
        body = world.api.get(link, token=people.owner.token).json()
        seen += [a["id"] for a in body["data"]]
        link = body["links"].get("next")
    return seen


def _truth(event, status=None):
    """The attendees the tab must list, in the order it lists them."""
    if status is None:
        return [str(a.id) for a in Attendee.event_index.query(int(event.id))
                if a.deleted_at is None]
    out = []
    for order in Order.event_index.query(int(event.id)):
        if order.status == status:
            out += [str(i) for i in order.attendee_ids]
    return out


@pytest.fixture
def sold(world, people, shop):
    """Orders of 3, 2 and 1 seats in several statuses, and a hold without an order."""
    made = []
    free = world.ticket(shop.event, name="Plenty", quantity=50)
    paid = world.ticket(shop.event, name="Paid plenty", quantity=50, price="5.00")
    for n, status in ((3, "completed"), (2, "completed"), (1, "completed"), (3, "pending"),
                      (2, "cancelled"), (1, "initializing")):
        ticket = free if status != "pending" else paid
        resp = world.checkout(people.buyer, [(ticket, n)])
        assert resp.status == 201, resp.body
        oid = int(resp.json()["data"]["id"])
        if status in ("completed", "cancelled"):
            service.transition(Order.get(oid), status)
        elif status == "pending":
            service.transition(Order.get(oid), "pending")
        made.append(oid)
    hold = world.attendee(people.stranger, shop.event, shop.paid)
    assert hold.status == 201, hold.body
    return made


@pytest.mark.parametrize("status", [None, *ORDER_STATUSES])
@pytest.mark.parametrize("size", [1, 2, 4, 100])
def test_every_tab_walks_each_attendee_once_and_counts_them(world, people, shop, sold,
                                                            status, size):
    truth = _truth(shop.event, status)
    assert _walk(world, people, shop.event, status, size) == truth
    body = _get(world, people, shop.event, status, size=size)
    assert body["meta"]["count"] == len(truth)
    numbered = []
    for number in range(1, -(-len(truth) // size) + 1):
        numbered += [a["id"] for a in _get(world, people, shop.event, status, size=size,
                                           number=number)["data"]]
    assert numbered == truth


def test_deleting_a_hold_and_ordering_held_seats_keep_the_count(world, people, shop):
    held = [world.attendee(people.buyer, shop.event, shop.paid).json()["data"]["id"]
            for _ in range(3)]
    assert _get(world, people, shop.event)["meta"]["count"] == 3
    assert world.api.delete(f"/v1/attendees/{held[0]}", token=people.buyer.token).status == 200
    assert _get(world, people, shop.event)["meta"]["count"] == 2
    resp = world.classic_order(people.buyer, shop.event, held[1:], **{"payment-mode": "onsite"})
    assert resp.status == 201, resp.body
    body = _get(world, people, shop.event)
    assert body["meta"]["count"] == 2 and sorted(a["id"] for a in body["data"]) == held[1:]
    status = resp.json()["data"]["attributes"]["status"]
    assert _get(world, people, shop.event, status)["meta"]["count"] == 2


def test_an_overdue_orders_attendees_leave_the_pending_tab_as_it_is_read(world, people, shop):
    order = world.checkout(people.buyer, [(shop.paid, 2)]).json()["data"]
    service.transition(Order.get(int(order["id"])), "pending")
    Order(int(order["id"])).update(actions=[Order.expires_at.set(now() - timedelta(seconds=1))])
    assert _get(world, people, shop.event, "pending")["data"] == []
    assert _get(world, people, shop.event, "expired")["meta"]["count"] == 2


def test_other_filters_and_sorts_still_answer_exactly(world, people, shop, sold):
    terms = [{"name": "is-checked-in", "op": "eq", "val": False},
             {"name": "order", "op": "has", "val": {"name": "status", "op": "eq",
                                                   "val": "completed"}}]
    resp = world.api.get(f"/v1/events/{shop.event.id}/attendees?sort=-id&filter="
                         + quote(json.dumps(terms)), token=people.owner.token)
    assert resp.status == 200, resp.body
    ids = [a["id"] for a in resp.json()["data"]]
    assert ids == sorted(_truth(shop.event, "completed"), key=int, reverse=True)


# --- attacker's tests ---------------------------------------------------------------------

def _cursor(start):
    from openevent.jsonapi.query import encode_cursor

    return encode_cursor(start)


def test_a_forged_cursor_shows_no_attendee_of_another_event(world, people, shop, sold):
    other = world.event(people.stranger)
    ticket = world.ticket(other, name="Theirs", quantity=5)
    theirs = world.checkout(people.buyer, [(ticket, 2)]).json()["data"]
    foreign = [int(i["id"]) for i in theirs["relationships"]["attendees"]["data"]]
    cursor = _cursor({"o": None, "rest": foreign})
    resp = world.api.get(f"/v1/events/{shop.event.id}/attendees?filter="
                         + quote(json.dumps(_filter("initializing")))
                         + f"&page[size]=5&page[cursor]={cursor}", token=people.owner.token)
    assert resp.status == 200, resp.body
    assert not {a["id"] for a in resp.json()["data"]} & {str(i) for i in foreign}


@pytest.mark.parametrize("start", [{"o": None, "rest": ["1"]}, {"o": None, "rest": [True]},
                                   {"o": None, "rest": list(range(1, 60))},
                                   {"o": {"p": 0, "k": {"id": {"N": "1"}}}, "rest": []},
                                   {"o": "x", "rest": []}, ["not", "a", "dict"]])
def test_malformed_cursors_are_400_naming_the_cursor(world, people, shop, sold, start):
    resp = world.api.get(f"/v1/events/{shop.event.id}/attendees?filter="
                         + quote(json.dumps(_filter("completed")))
                         + f"&page[size]=2&page[cursor]={_cursor(start)}",
                         token=people.owner.token)
    assert resp.status == 400, resp.body
    assert resp.json()["errors"][0]["source"]["parameter"] == "page[cursor]"


def test_strangers_and_buyers_read_nothing(world, people, shop, sold):
    for who in (people.stranger, people.buyer):
        resp = world.api.get(f"/v1/events/{shop.event.id}/attendees?filter="
                             + quote(json.dumps(_filter("completed"))), token=who.token)
        assert resp.status == 403


# --- searches: a candidate window at a time -----------------------------------------------

def _walk_links(world, people, path):
    seen, pages, link = [], [], path
    while link:
        body = world.api.get(link, token=people.owner.token).json()
        pages.append(body)
        seen += [a["id"] for a in body["data"]]
        link = body["links"].get("next")
    return seen, pages


@pytest.mark.parametrize("kind", ["orders", "attendees"])
def test_a_search_over_a_big_event_reads_a_window_at_a_time(world, people, shop, sold,
                                                             monkeypatch, kind):
    """The app's search (any filter the indexes cannot answer) over more orders or attendees
    than the window: no count, the window's matches, and a cursor that walks every match
    exactly once."""
    terms = ([{"name": "user", "op": "has", "val": {"name": "email", "op": "ilike",
                                                    "val": f"%{people.buyer.email}%"}}]
             if kind == "orders" else
             [{"name": "firstname", "op": "ne", "val": "nobody"}])
    path = f"/v1/events/{shop.event.id}/{kind}?filter={quote(json.dumps(terms))}"
    monkeypatch.delenv("OPENEVENT_FILTER_WINDOW", raising=False)
    whole = world.api.get(path + "&page[size]=0", token=people.owner.token).json()
    expected = [r["id"] for r in whole["data"]]
    assert whole["meta"]["count"] == len(expected) > 4
    monkeypatch.setenv("OPENEVENT_FILTER_WINDOW", "3")
    seen, pages = _walk_links(world, people, path + "&page[size]=2")
    assert sorted(seen, key=int) == sorted(expected, key=int) and len(seen) == len(set(seen))
    assert "count" not in pages[0]["meta"] and pages[0]["meta"]["window"]["more"] is True


def test_attendees_from_before_the_figure_are_counted_once(world, people, shop, sold):
    from openevent.models.orders import OrderFigure
    from openevent.models.system import Statistic
    from openevent.orders import figures as order_counts

    figure = order_counts.event_figure(int(shop.event.id))
    live = len(_truth(shop.event))
    assert order_counts.read(figure)["attendees"] == live
    for item in OrderFigure.query(figure):  # what an older version stored: no figure
        item.update(actions=[OrderFigure.attendees.remove()])
    Statistic(order_counts.ATTENDEES_MIGRATED).delete()
    assert order_counts.backfill_attendees() >= 1
    assert order_counts.backfill_attendees() == 0  # once
    assert order_counts.read(figure)["attendees"] == live
    assert _get(world, people, shop.event)["meta"]["count"] == live
