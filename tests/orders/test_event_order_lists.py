"""The organizer's order tabs (`GET /v1/events/<id>/orders`, as the web app sends them): a
status tab reads its page from the event-status index and counts from the maintained
per-status figures (openevent.orders.figures). The figures must equal the orders,
whatever moves them: checkouts, payments, cancellations, expiry, races, old data."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from openevent.models.base import now
from openevent.models.orders import ORDER_STATUSES, Order
from openevent.orders import figures as order_counts
from openevent.orders import lifecycle as service


def _tab(world, people, event, status=None, **page):
    terms = [] if status is None else [{"name": "status", "op": "eq", "val": status}]
    query = "&".join(f"page[{k}]={v}" for k, v in page.items())
    resp = world.api.get(f"/v1/events/{event.id}/orders?include=tickets,user,attendees"
                         f"&filter={quote(json.dumps(terms))}&{query}",
                         token=people.owner.token)
    assert resp.status == 200, resp.body
    return resp.json()


def _truth(event):
    """The event's orders per status, read whole (what the figures must equal)."""
    out = dict.fromkeys(ORDER_STATUSES, 0)
    for order in Order.event_index.query(int(event.id)):
        out[str(order.status)] += 1
    return out


KEYS = {"initializing": "draft", "pending": "pending", "placed": "placed",
        "completed": "completed", "cancelled": "cancelled", "expired": "expired"}


def _statistics_truth(event, ticket_id=None):
    """Order statistics recomputed from every order of the event (the oracle)."""
    out = {part: dict.fromkeys(["total", *KEYS.values()], 0)
           for part in ("tickets", "orders", "sales")}
    for order in Order.event_index.query(int(event.id)):
        lines = [line for line in order.lines
                 if ticket_id is None or int(line.ticket_id) == int(ticket_id)]
        if not lines:
            continue
        seats = sum(int(line.quantity) for line in lines)
        sales = Decimal(order.amount) if ticket_id is None else \
            _ticket_sales_in(order, ticket_id)
        for key in (KEYS[str(order.status)], "total"):
            out["tickets"][key] += seats
            out["orders"][key] += 1
            out["sales"][key] += sales
    out["sales"] = {k: float(v) for k, v in out["sales"].items()}
    return out


def _assert_statistics_exact(world, people, event, tickets):
    resp = world.api.get(f"/v1/events/{event.id}/order-statistics", token=people.owner.token)
    assert resp.status == 200, resp.body
    attrs = resp.json()["data"]["attributes"]
    assert {k: attrs[k] for k in ("tickets", "orders", "sales")} == _statistics_truth(event)
    for ticket in tickets:
        resp = world.api.get(f"/v1/tickets/{ticket.id}/order-statistics",
                             token=people.owner.token)
        attrs = resp.json()["data"]["attributes"]
        assert {k: attrs[k] for k in ("tickets", "orders", "sales")} == \
            _statistics_truth(event, ticket.id), ticket.name


def _assert_figures_exact(world, people, event, tickets=()):
    truth = _truth(event)
    assert order_counts.orders_per_status(int(event.id)) == truth
    _assert_statistics_exact(world, people, event, tickets)
    for status in ORDER_STATUSES:
        body = _tab(world, people, event, status, size=100)
        assert body["meta"]["count"] == truth[status], status
        assert [o["attributes"]["status"] for o in body["data"]] == [status] * truth[status]
    assert _tab(world, people, event, size=100)["meta"]["count"] == sum(truth.values())


def _mixed(world, people, shop):
    """Orders in every status an organizer sees."""
    made = [world.checkout(people.buyer, [(shop.free, 1)]).json()["data"] for _ in range(3)]
    made += [world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"] for _ in range(3)]
    ids = [int(o["id"]) for o in made]
    service.transition(Order.get(ids[0]), "completed")
    service.transition(Order.get(ids[1]), "cancelled")
    service.transition(Order.get(ids[3]), "pending")
    service.transition(Order.get(ids[4]), "pending")
    service.transition(Order.get(ids[4]), "placed")
    return ids


def test_every_tab_counts_exactly_what_it_lists(world, people, shop):
    ids = _mixed(world, people, shop)
    _assert_figures_exact(world, people, shop.event, [shop.free, shop.paid])
    # expiry by the sweeper moves the figures too
    Order(ids[5]).update(actions=[Order.expires_at.set(now() - timedelta(minutes=1))])
    Order(ids[2]).update(actions=[Order.expires_at.set(now() - timedelta(minutes=1))])
    assert service.expire_due_orders()["orders"] == 2
    _assert_figures_exact(world, people, shop.event, [shop.free, shop.paid])
    assert _truth(shop.event)["expired"] == 2


def test_an_overdue_order_leaves_the_pending_tab_as_it_is_read(world, people, shop):
    order = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    service.transition(Order.get(int(order["id"])), "pending")
    Order(int(order["id"])).update(actions=[Order.expires_at.set(now() - timedelta(seconds=1))])
    pending = _tab(world, people, shop.event, "pending")
    assert pending["data"] == []  # found overdue on the page and expired there
    assert Order.get(int(order["id"])).status == "expired"
    _assert_figures_exact(world, people, shop.event)


def test_a_tab_pages_by_number_and_by_cursor(world, people, shop):
    for _ in range(5):
        assert world.checkout(people.buyer, [(shop.free, 1)]).status == 201
    first = _tab(world, people, shop.event, "initializing", size=2)
    assert first["meta"]["count"] == 5 and len(first["data"]) == 2
    assert "page%5Bnumber%5D=3" in first["links"]["last"]
    third = _tab(world, people, shop.event, "initializing", size=2, number=3)
    assert len(third["data"]) == 1 and third["links"]["next"] is None
    seen, link = [], f"/v1/events/{shop.event.id}/orders?filter=" + quote(json.dumps(
        [{"name": "status", "op": "eq", "val": "initializing"}])) + "&page[size]=2&page[cursor]="
    while link:
        body = world.api.get(link, token=people.owner.token).json()
        seen += [o["id"] for o in body["data"]]
        link = body["links"].get("next")
    assert len(seen) == len(set(seen)) == 5


def test_a_search_inside_a_tab_still_filters_exactly(world, people, shop):
    world.checkout(people.buyer, [(shop.free, 1)])
    world.checkout(people.stranger, [(shop.free, 1)])
    terms = [{"name": "user", "op": "has", "val": {"name": "email", "op": "ilike",
                                                  "val": f"%{people.stranger.email}%"}},
             {"name": "status", "op": "eq", "val": "initializing"}]
    body = world.api.get(f"/v1/events/{shop.event.id}/orders?filter="
                         + quote(json.dumps(terms)), token=people.owner.token).json()
    assert [o["relationships"]["user"]["data"]["id"] for o in body["data"]] == [
        str(people.stranger.id)]
    assert body["meta"]["count"] == 1


# --- attacker's tests ---------------------------------------------------------------------

def test_a_cursor_of_another_events_tab_is_refused(world, people, shop):
    other = world.event(people.stranger)
    ticket = world.ticket(other, name="Theirs", quantity=5)
    world.checkout(people.buyer, [(ticket, 1)])
    world.checkout(people.buyer, [(ticket, 1)])
    theirs = world.api.get(f"/v1/events/{other.id}/orders?filter=" + quote(json.dumps(
        [{"name": "status", "op": "eq", "val": "initializing"}])) + "&page[size]=1"
        "&page[cursor]=", token=people.stranger.token).json()
    cursor = theirs["links"]["next"].split("page%5Bcursor%5D=")[1]
    resp = world.api.get(f"/v1/events/{shop.event.id}/orders?filter=" + quote(json.dumps(
        [{"name": "status", "op": "eq", "val": "initializing"}])) + "&page[size]=1"
        f"&page[cursor]={cursor}", token=people.owner.token)
    assert resp.status == 400
    assert resp.json()["errors"][0]["source"]["parameter"] == "page[cursor]"


@pytest.mark.parametrize("val", ["completed#1", "", None, 7, ["pending"]])
def test_odd_status_values_neither_widen_nor_break_the_list(world, people, shop, val):
    world.checkout(people.buyer, [(shop.free, 1)])
    resp = world.api.get(f"/v1/events/{shop.event.id}/orders?filter=" + quote(json.dumps(
        [{"name": "status", "op": "eq", "val": val}])), token=people.owner.token)
    assert resp.status in (200, 400), resp.body
    if resp.status == 200:
        assert resp.json()["data"] == []


def test_racing_moves_of_one_order_move_its_figures_once(world, people, shop):
    order = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    oid = int(order["id"])
    service.transition(Order.get(oid), "pending")
    outcomes: list[str] = []

    def move(to: str) -> None:
        try:
            service.transition(Order.get(oid), to)
            outcomes.append(to)
        except Exception as exc:  # noqa: BLE001 - the loser's error is the point
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=move, args=(to,))
               for to in ("completed", "cancelled", "expired", "placed") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _truth(shop.event) == order_counts.orders_per_status(int(shop.event.id))
    assert sum(order_counts.orders_per_status(int(shop.event.id)).values()) == 1
    final = Order.get(oid).status
    assert final in outcomes


def test_orders_from_before_the_figures_are_counted_once(world, people, shop):
    ids = [int(world.checkout(people.buyer, [(shop.free, 1)]).json()["data"]["id"])
           for _ in range(3)]
    # what an older version stored: no event_status, no figure
    from openevent.models.orders import OrderFigure
    from openevent.models.system import Statistic

    for oid in ids:
        Order(oid).update(actions=[Order.event_status.remove()])
    for figure in (order_counts.event_figure(int(shop.event.id)),
                   order_counts.ticket_figure(int(shop.free.id))):
        for item in OrderFigure.query(figure):
            item.delete()
    Statistic(order_counts.MIGRATED).delete()
    # one of them moves before the migration runs: counted by its move, not again
    service.transition(Order.get(ids[0]), "cancelled")
    assert order_counts.backfill() == 2
    assert order_counts.backfill() == 0  # once
    assert order_counts.orders_per_status(int(shop.event.id)) == _truth(shop.event)
    _assert_figures_exact(world, people, shop.event)


def test_statistics_count_mixed_orders_discounts_and_an_admins_amount(world, people, shop):
    code = world.code(shop.event, [shop.paid], code="HALF", type="percent", value=50)
    mixed = world.checkout(people.buyer, [(shop.paid, 2), (shop.free, 1)],
                           **{"discount-code": code.code})
    assert mixed.status == 201, mixed.body
    assert Order.get(int(mixed.json()["data"]["id"])).amount == Decimal("10.00")
    _mixed(world, people, shop)
    oid = mixed.json()["data"]["id"]
    ident = mixed.json()["data"]["attributes"]["identifier"]
    resp = world.api.patch(f"/v1/orders/{ident}", {"data": {
        "type": "order", "id": oid, "attributes": {"amount": "12.34"}}},
        token=people.admin.token)
    assert resp.status == 200, resp.body
    assert Order.get(int(oid)).amount == Decimal("12.34")
    _assert_figures_exact(world, people, shop.event, [shop.free, shop.paid])
    service.transition(Order.get(int(oid)), "cancelled")
    _assert_figures_exact(world, people, shop.event, [shop.free, shop.paid])


def test_the_biggest_order_fits_its_transactions_both_ways(world, people, shop):
    """20 different tickets and 50 seats: created, then cancelled, each in one transaction
    (DynamoDB takes 100 items), with the figures of the event and of every ticket."""
    tickets = [world.ticket(shop.event, name=f"T{i}", quantity=10, price="1.00")
               for i in range(20)]
    seats = [3] * 10 + [2] * 10
    resp = world.checkout(people.buyer, list(zip(tickets, seats, strict=True)))
    assert resp.status == 201, resp.body
    oid = int(resp.json()["data"]["id"])
    _assert_figures_exact(world, people, shop.event, tickets[:3])
    service.transition(Order.get(oid), "cancelled")
    assert Order.get(oid).status == "cancelled"
    _assert_figures_exact(world, people, shop.event, tickets[-3:])
    assert all(world.ticket_state(t).seats_taken == 0 for t in tickets)


def test_more_different_tickets_than_an_order_takes_is_422(world, people, shop):
    tickets = [world.ticket(shop.event, name=f"T{i}", quantity=5) for i in range(21)]
    resp = world.checkout(people.buyer, [(t, 1) for t in tickets])
    assert resp.status == 422
    assert resp.json()["errors"][0]["source"]["pointer"] == "/tickets"
    held = [world.attendee(people.buyer, shop.event, t).json()["data"]["id"] for t in tickets]
    resp = world.classic_order(people.buyer, shop.event, held)
    assert resp.status == 422, resp.body
    assert resp.json()["errors"][0]["source"]["pointer"] == "/data/relationships/attendees"


# --- issue 20, item 8: an admin's amount change moves the per-ticket figures too ------------

def _cents(value):
    from decimal import ROUND_HALF_UP

    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ticket_sales_oracle(event, ticket_id, status):
    """A ticket's sales in one status, recomputed from the orders (events without tax): each
    ticket's line total, plus its share of what the admin added to or took from the amount
    the lines came to — split in proportion to the line totals, in cents, the largest line
    taking the rounding remainder."""
    return sum((_ticket_sales_in(order, ticket_id)
                for order in Order.event_index.query(int(event.id))
                if str(order.status) == status), Decimal(0))


def _ticket_sales_in(order, ticket_id):
    """One order's sales of one ticket (the rule above; paid lines, no tax)."""
    lines: dict[int, Decimal] = {}
    for line in order.lines:
        lines[int(line.ticket_id)] = lines.get(int(line.ticket_id), Decimal(0)) + (
            Decimal(line.price) - Decimal(line.discount or 0)) * int(line.quantity)
    if int(ticket_id) not in lines:
        return Decimal(0)
    weight = sum(lines.values())
    delta = Decimal(order.amount) - weight
    if not delta:
        return lines[int(ticket_id)]
    largest = max(sorted(lines), key=lambda t: lines[t])
    shares = {t: _cents(delta * w / weight) for t, w in lines.items() if t != largest}
    shares[largest] = delta - sum(shares.values())
    return lines[int(ticket_id)] + shares[int(ticket_id)]


def test_an_admins_amount_change_moves_each_tickets_sales(world, people, shop):
    half = world.ticket(shop.event, name="Half", price="5.00", quantity=5)
    made = world.checkout(people.buyer, [(shop.paid, 1), (half, 1), (shop.free, 1)])
    assert made.status == 201, made.body
    oid, ident = made.json()["data"]["id"], made.json()["data"]["attributes"]["identifier"]
    status = str(Order.get(int(oid)).status)
    key = KEYS[status]

    def ticket_sales(ticket):
        resp = world.api.get(f"/v1/tickets/{ticket.id}/order-statistics",
                             token=people.owner.token)
        return Decimal(str(resp.json()["data"]["attributes"]["sales"][key]))

    def event_sales():
        resp = world.api.get(f"/v1/events/{shop.event.id}/order-statistics",
                             token=people.owner.token)
        return Decimal(str(resp.json()["data"]["attributes"]["sales"][key]))

    for amount, paid, halves in (("12.34", "8.23", "4.11"), ("20.00", "13.33", "6.67"),
                                 ("15.00", "10.00", "5.00"), ("0.01", "0.01", "0.00")):
        resp = world.api.patch(f"/v1/orders/{ident}", {"data": {
            "type": "order", "id": oid, "attributes": {"amount": amount}}},
            token=people.admin.token)
        assert resp.status == 200, resp.body
        got = (ticket_sales(shop.paid), ticket_sales(half), ticket_sales(shop.free))
        assert got == (Decimal(paid), Decimal(halves), Decimal(0)), amount
        assert got == tuple(_ticket_sales_oracle(shop.event, t.id, status)
                            for t in (shop.paid, half, shop.free)), amount
        assert sum(got) == event_sales() == Decimal(amount)  # no tax: the tickets add up
    service.transition(Order.get(int(oid)), "cancelled")
    key = "cancelled"
    assert (ticket_sales(shop.paid), ticket_sales(half)) == (Decimal("0.01"), Decimal("0.00"))
    assert ticket_sales(shop.paid) + ticket_sales(half) == event_sales()
    _assert_figures_exact(world, people, shop.event, [shop.free, shop.paid, half])
