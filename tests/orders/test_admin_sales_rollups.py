"""The admin's sales pages summed over groups (issue 23, item 1): by organizer, location,
marketer and discount code, from the roll-ups the order transactions keep — always equal to
what the orders themselves add up to (the oracle below), through new orders, status moves,
an admin's amount change, a change of the event's location and the migration of older
orders. Only admins read them; no figure of one group shows in another's row."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

SHOWN = ("completed", "placed", "pending")
PAGES = ("by-organizers", "by-location", "by-marketer", "discounted")


def _oracle(kind, group, currency="USD"):
    """{status: (sales, seats)} of every order counted in `group` of `kind`, recomputed from
    the orders (their event's owner and location now, their code's marketer)."""
    from openevent.models.events import DiscountCode, Event
    from openevent.models.orders import Order

    out = {s: [Decimal(0), 0] for s in SHOWN}
    for order in Order.kind_index.query("order"):
        if order.status not in out or order.currency != currency:
            continue
        event = Event.get(int(order.event_id))
        code = DiscountCode.get(int(order.discount_code_id)) \
            if order.discount_code_id is not None else None
        mine = {"organizer": str(event.owner_id), "location": event.location_name,
                "discount": str(code.id) if code else None,
                "marketer": str(code.marketer_id) if code and code.marketer_id else None}
        if mine[kind] == str(group):
            out[order.status][0] += Decimal(order.amount)
            out[order.status][1] += order.seats
    return {s: {"sales_total": float(v[0]), "ticket_count": v[1]} for s, v in out.items()}


def _rows(world, token, page, query="page[size]=0"):
    resp = world.api.get(f"/v1/admin/sales/{page}?{query}", token=token)
    assert resp.status == 200, resp.body
    return {r["id"]: r for r in resp.json()["data"]}


def _move(world, ref, to, allowed=None):
    from openevent.orders.lifecycle import transition

    transition(world.order(ref), to, allowed_from=allowed)


@pytest.fixture
def market(world, people):
    """Two organizers: the owner's two events at the Town Hall (one with a marketer's code),
    the stranger's event at the Expo; orders completed, placed, pending and cancelled."""
    from openevent.models.users import User

    marketer = world.make_user()
    User.get(marketer.id).update(actions=[User.first_name.set("Mara"),
                                          User.last_name.set("Keter")])
    hall = world.event(people.owner, name="Hall Con", location_name="Town Hall",
                       payment_currency="USD", can_pay_onsite=True)
    hall2 = world.event(people.owner, name="Hall Fest", location_name="Town Hall",
                        payment_currency="USD")
    expo = world.event(people.stranger, name="Expo Days", location_name="Expo",
                       payment_currency="USD")
    t1 = world.ticket(hall, price="10.00", quantity=20)
    t2 = world.ticket(hall2, price="7.50", quantity=20)
    t3 = world.ticket(expo, price="100.00", quantity=20)
    code = world.code(hall, [t1], code="MKT", type="amount", value=2, marketer_id=marketer.id)
    plain = world.code(hall2, [t2], code="PLAIN", type="percent", value=10)

    def buy(account, ticket, n, **extra):
        resp = world.checkout(account, [(ticket, n)], **extra)
        assert resp.status == 201, resp.body
        return resp.json()["data"]["attributes"]["identifier"]

    a = buy(people.buyer, t1, 2, **{"discount-code": "MKT"})  # 2 × 8.00
    b = buy(people.buyer, t1, 1)
    c = buy(people.buyer, t2, 3, **{"discount-code": "PLAIN"})  # 3 × 6.75
    d = buy(people.buyer, t3, 1)
    e = buy(people.buyer, t3, 2)
    _move(world, a, "completed")
    _move(world, b, "placed", ["initializing"])
    _move(world, c, "pending", ["initializing"])
    _move(world, d, "completed")
    _move(world, e, "cancelled")
    return type("Market", (), {"hall": hall, "hall2": hall2, "expo": expo, "code": code,
                               "plain": plain, "marketer": marketer, "orders": [a, b, c, d, e],
                               "tickets": (t1, t2, t3)})


def _check_all(world, people, market):
    """Every page's rows of the market's groups equal the oracle."""
    token = people.admin.token
    organizers = _rows(world, token, "by-organizers")
    for account in (people.owner, people.stranger):
        row = organizers[f"USD:{account.id}"]["attributes"]
        assert row["sales"] == _oracle("organizer", account.id), account
        assert row["email"] == account.email and row["payment-currency"] == "USD"
    locations = _rows(world, token, "by-location")
    for place in ("Town Hall", "Expo"):
        row = locations[f"USD:{place}"]["attributes"]
        assert (row["location-name"], row["sales"]) == (place, _oracle("location", place))
    marketers = _rows(world, token, "by-marketer")
    row = marketers[f"USD:{market.marketer.id}"]["attributes"]
    assert row["sales"] == _oracle("marketer", market.marketer.id)
    assert (row["fullname"], row["email"]) == ("Mara Keter", market.marketer.email)
    codes = _rows(world, token, "discounted")
    for code, event, email in ((market.code, market.hall, market.marketer.email),
                               (market.plain, market.hall2, None)):
        row = codes[f"USD:{code.id}"]["attributes"]
        assert (row["code"], row["event-name"], row["email"]) == (code.code, event.name, email)
        assert row["sales"] == _oracle("discount", code.id)
    return organizers, locations, marketers, codes


def test_each_page_adds_up_what_the_orders_do(world, people, market):
    organizers, locations, marketers, codes = _check_all(world, people, market)
    owner = organizers[f"USD:{people.owner.id}"]
    assert owner["type"] == "admin-sales-by-organizers"
    assert owner["attributes"]["sales"] == {
        "completed": {"sales_total": 16.0, "ticket_count": 2},
        "placed": {"sales_total": 10.0, "ticket_count": 1},
        "pending": {"sales_total": 20.25, "ticket_count": 3}}
    # the stranger's event never shows in the owner's row, nor the owner's in the stranger's
    assert organizers[f"USD:{people.stranger.id}"]["attributes"]["sales"] == {
        "completed": {"sales_total": 100.0, "ticket_count": 1},
        "placed": {"sales_total": 0.0, "ticket_count": 0},
        "pending": {"sales_total": 0.0, "ticket_count": 0}}
    assert locations["USD:Expo"]["attributes"]["sales"]["completed"]["sales_total"] == 100.0
    assert marketers[f"USD:{market.marketer.id}"]["attributes"]["sales"]["completed"] == {
        "sales_total": 16.0, "ticket_count": 2}
    assert codes[f"USD:{market.plain.id}"]["type"] == "admin-sales-discounted"


def test_moves_and_an_admins_amount_change_keep_them_exact(world, people, market):
    a, b, c, _d, _e = market.orders
    _move(world, c, "cancelled")
    _move(world, b, "completed")
    order = world.order(a)
    resp = world.api.patch(f"/v1/orders/{a}", {"data": {
        "type": "order", "id": str(order.id), "attributes": {"amount": "12.34"}}},
        token=people.admin.token)
    assert resp.status == 200, resp.body
    organizers, *_ = _check_all(world, people, market)
    assert organizers[f"USD:{people.owner.id}"]["attributes"]["sales"]["completed"] == {
        "sales_total": 22.34, "ticket_count": 3}


def test_a_new_location_moves_the_events_orders(world, people, market):
    resp = world.api.patch(f"/v1/events/{market.hall.identifier}", {"data": {
        "type": "event", "id": str(market.hall.id),
        "attributes": {"location-name": "Expo"}}}, token=people.owner.token)
    assert resp.status == 200, resp.body
    _check_all(world, people, market)
    locations = _rows(world, people.admin.token, "by-location")
    assert locations["USD:Expo"]["attributes"]["sales"]["completed"] == {
        "sales_total": 116.0, "ticket_count": 3}
    assert locations["USD:Town Hall"]["attributes"]["sales"]["pending"]["ticket_count"] == 3
    assert locations["USD:Town Hall"]["attributes"]["sales"]["completed"]["ticket_count"] == 0
    # and the orders move on from where they are now
    _move(world, market.orders[1], "completed")
    _check_all(world, people, market)


def test_a_move_that_read_the_old_groups_cannot_count_them(world, people, market):
    """A status move built from the order as read before a regrouping fails its condition
    (nothing written) instead of uncounting the old location."""
    from openevent.events import inventory
    from openevent.events.inventory import Batch, InventoryConflict
    from openevent.models.events import Event
    from openevent.models.orders import Order
    from openevent.orders import figures as order_counts
    from openevent.orders import sales_regroup

    stale = world.order(market.orders[1])  # placed, at the Town Hall
    event = Event.get(market.hall.id)
    event.update(actions=[Event.location_name.set("Expo")])
    assert sales_regroup.regroup_event(Event.get(market.hall.id)) == 2
    batch = Batch()
    actions, condition = order_counts.move(batch, stale, "completed")
    batch.update("order", Order(stale.id), actions, condition)
    with pytest.raises(InventoryConflict):
        inventory.run(lambda: batch)
    assert sales_regroup.regroup_event(Event.get(market.hall.id)) == 0  # idempotent
    _check_all(world, people, market)


def test_orders_from_before_the_rollups_are_migrated_once(world, people, market):
    """An order with no `rollups` (as made by an older version) is put in its groups by the
    start-up migration, once."""
    from openevent.models.orders import Order, OrderFigure
    from openevent.models.system import Statistic
    from openevent.orders import sales_regroup, sales_rollups

    legacy = world.order(market.orders[3])  # completed, 100.00 at the Expo
    for name in sales_rollups.figures(legacy):  # as if never counted in a roll-up
        OrderFigure(name, 0).update(actions=[
            OrderFigure.orders_completed.add(-1), OrderFigure.seats_completed.add(-1),
            OrderFigure.sales_completed.add(Decimal("-100")), *sales_rollups.tag(name)])
    legacy.update(actions=[Order.rollups.remove()])
    before = _rows(world, people.admin.token, "by-organizers")
    assert before[f"USD:{people.stranger.id}"]["attributes"]["sales"]["completed"] == {
        "sales_total": 0.0, "ticket_count": 0}
    Statistic(sales_regroup.MIGRATED).delete()
    assert sales_regroup.backfill() >= 1
    assert world.order(market.orders[3]).rollups
    assert sales_regroup.backfill() == 0  # the marker: once
    _check_all(world, people, market)


def test_filters_sorts_and_paging(world, people, market):
    token = people.admin.token
    only = json.dumps([{"name": "location-name", "op": "eq", "val": "Expo"}])
    rows = _rows(world, token, "by-location", f"filter={only}")
    assert list(rows) == ["USD:Expo"]
    for page, attr in (("by-organizers", "email"), ("by-location", "sales"),
                       ("discounted", "code")):
        bad = json.dumps([{"name": attr, "op": "eq", "val": "x"}])
        resp = world.api.get(f"/v1/admin/sales/{page}?filter={bad}", token=token)
        assert resp.status == 400, resp.body
        assert resp.json()["errors"][0]["source"] == {"parameter": "filter"}
        assert attr in resp.json()["errors"][0]["detail"]
    resp = world.api.get("/v1/admin/sales/by-marketer?sort=-email", token=token)
    assert resp.status == 400 and resp.json()["errors"][0]["source"] == {"parameter": "sort"}
    sorted_rows = world.api.get("/v1/admin/sales/by-location?sort=-location-name&page[size]=0",
                                token=token).json()["data"]
    names = [r["attributes"]["location-name"] for r in sorted_rows]
    assert names == sorted(names, reverse=True)
    # one row a page, walked to the end: every row once
    seen, url = [], "/v1/admin/sales/by-location?page[size]=1&page[cursor]="
    while url:
        resp = world.api.get(url, token=token)
        assert resp.status == 200, resp.body
        assert len(resp.json()["data"]) <= 1
        seen += [r["id"] for r in resp.json()["data"]]
        url = resp.json()["links"].get("next")
    assert len(seen) == len(set(seen)) and {"USD:Expo", "USD:Town Hall"} <= set(seen)
    first = world.api.get("/v1/admin/sales/by-location?page[size]=1", token=token).json()
    assert len(first["data"]) == 1 and first["links"]["next"]


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("buyer", 403), ("owner", 403),
                                        ("coorganizer", 403), ("stranger", 403)])
def test_only_admins_read_them(world, people, market, who, status):
    world.grant(market.hall, people.coorganizer, "coorganizer")
    account = getattr(people, who, None)
    for page in PAGES:
        resp = world.api.get(f"/v1/admin/sales/{page}",
                             token=account.token if account else None)
        assert resp.status == status, (page, resp.body)
        assert "data" not in resp.json()


def test_the_biggest_order_with_every_group_fits_its_transactions(world, people):
    """20 tickets, 50 seats, a marketer's code at a place: the order's four roll-ups ride in
    its transactions (create, cancel) within DynamoDB's 100 items."""
    event = world.event(people.owner, name="Big", location_name="Arena", payment_currency="USD")
    tickets = [world.ticket(event, name=f"T{i}", quantity=10, price="2.00") for i in range(20)]
    world.code(event, tickets, code="BIG", type="amount", value=1, marketer_id=people.stranger.id)
    seats = [3] * 10 + [2] * 10
    resp = world.checkout(people.buyer, list(zip(tickets, seats, strict=True)),
                          **{"discount-code": "BIG"})
    assert resp.status == 201, resp.body
    ref = resp.json()["data"]["attributes"]["identifier"]
    order = world.order(ref)
    assert json.loads(order.rollups).keys() == {"organizer", "location", "discount", "marketer"}
    _move(world, ref, "pending", ["initializing"])
    for kind, group in (("organizer", people.owner.id), ("location", "Arena"),
                        ("marketer", people.stranger.id), ("discount", order.discount_code_id)):
        page = {"organizer": "by-organizers", "location": "by-location",
                "marketer": "by-marketer", "discount": "discounted"}[kind]
        row = _rows(world, people.admin.token, page)[f"USD:{group}"]["attributes"]
        assert row["sales"]["pending"] == {"sales_total": 50.0, "ticket_count": 50}, kind
        assert row["sales"] == _oracle(kind, group), kind
    _move(world, ref, "cancelled")
    row = _rows(world, people.admin.token, "by-location")["USD:Arena"]["attributes"]
    assert row["sales"]["pending"] == {"sales_total": 0.0, "ticket_count": 0}
