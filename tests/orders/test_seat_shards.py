"""Seats split over shards (issue 14, item 4): exactness as with one counter — never more than
the quantity sold, every release back once, to the shard it came from — through every route
that takes or gives seats, under concurrency, and through quantity and shard-count edits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from openevent.events import inventory
from openevent.models.events import DiscountCode, SeatShard, Ticket
from openevent.models.orders import Order

from tests.conftest import error_of
from tests.events.conftest import doc


def _shards(ticket_id):
    return {int(s.shard): (int(s.left), int(s.taken))
            for s in SeatShard.query(int(ticket_id), consistent_read=True)}


def _sold(ticket_id):
    return sum(taken for _left, taken in _shards(ticket_id).values())


def _invariant(ticket_id):
    """The shards' free and taken seats add up to the ticket's quantity, none negative."""
    ticket = Ticket.get(int(ticket_id))
    shards = _shards(ticket_id)
    assert len(shards) == ticket.shard_count
    assert all(left >= 0 and taken >= 0 for left, taken in shards.values())
    assert sum(left + taken for left, taken in shards.values()) == int(ticket.quantity)


def _post_ticket(world, owner, event, **attrs):
    base = {"name": "Hot", "type": "free", "quantity": 40}
    base.update(attrs)
    return world.api.post("/v1/tickets", doc("ticket", base, event=event.id), token=owner.token)


@pytest.fixture
def hot(world, people, shop):
    resp = _post_ticket(world, people.owner, shop.event, quantity=40, **{"seat-shards": 8})
    assert resp.status == 201, resp.body
    return Ticket.get(int(resp.json()["data"]["id"]))


def _patch(world, account, ticket, **attrs):
    return world.api.patch(f"/v1/tickets/{ticket.id}",
                           doc("ticket", attrs, rid=str(ticket.id)), token=account.token)


# --- layout -----------------------------------------------------------------------------

def test_organizer_splits_a_ticket_into_shards(hot):
    assert hot.seat_shards == 8
    assert _shards(hot.id) == {i: (5, 0) for i in range(8)}


def test_big_ticket_gets_shards_from_its_quantity(world, people, shop):
    resp = _post_ticket(world, people.owner, shop.event, name="Stadium", quantity=50_000)
    assert resp.status == 201, resp.body
    ticket = Ticket.get(int(resp.json()["data"]["id"]))
    assert ticket.shard_count == inventory.default_shards(50_000) == 25
    _invariant(ticket.id)
    small = _post_ticket(world, people.owner, shop.event, name="Room", quantity=300)
    assert Ticket.get(int(small.json()["data"]["id"])).seat_shards is None


@pytest.mark.parametrize("value", [0, 33, "many", 2.5])
def test_bad_shard_count_is_422_naming_the_field(world, people, shop, value):
    resp = _post_ticket(world, people.owner, shop.event, **{"seat-shards": value})
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/seat-shards"


def test_availability_sums_the_shards(world, people, shop, hot):
    assert world.checkout(people.buyer, [(hot, 3)]).status == 201
    resp = world.api.get(f"/v1/events/{shop.event.id}/tickets/availability")
    assert resp.status == 200, resp.body
    row = next(r for r in resp.json() if int(r["id"]) == int(hot.id))
    assert (row["quantity"], row["available"]) == (40, 37)


# --- every route takes from a shard and gives back to it ----------------------------------

def test_checkout_records_its_shard_and_cancel_returns_the_seats_there(world, people, hot):
    resp = world.checkout(people.buyer, [(hot, 2)])
    assert resp.status == 201, resp.body
    order = world.order(resp.json()["data"]["id"])
    recorded = order.shard_counts()[int(hot.id)]
    assert sum(recorded.values()) == 2
    (shard, _n), = recorded.items()
    assert _shards(hot.id)[shard] == (3, 2)
    _invariant(hot.id)
    cancel = world.api.patch(f"/v1/orders/{order.identifier}",
                             {"data": {"type": "order", "id": order.identifier,
                                       "attributes": {"status": "cancelled"}}},
                             token=people.owner.token)
    assert cancel.status == 200, cancel.body
    assert _shards(hot.id) == {i: (5, 0) for i in range(8)}


def test_order_bigger_than_any_shard_is_split_over_shards(world, people, hot):
    resp = world.checkout(people.buyer, [(hot, 9)])  # shards hold 5 each
    assert resp.status == 201, resp.body
    recorded = world.order(resp.json()["data"]["id"]).shard_counts()[int(hot.id)]
    assert sum(recorded.values()) == 9 and len(recorded) >= 2
    assert _sold(hot.id) == 9
    _invariant(hot.id)


def test_last_seats_scattered_over_shards_are_still_sold(world, people, shop):
    ticket = Ticket.get(int(_post_ticket(world, people.owner, shop.event, quantity=8,
                                         **{"seat-shards": 4}).json()["data"]["id"]))
    for _ in range(4):  # one seat from each... wherever the random choice lands
        assert world.checkout(world.make_user(), [(ticket, 1)]).status == 201
    assert sum(left for left, _ in _shards(ticket.id).values()) == 4
    assert world.checkout(people.buyer, [(ticket, 4)]).status == 201
    assert world.checkout(people.stranger, [(ticket, 1)]).status == 409
    assert _sold(ticket.id) == 8
    _invariant(ticket.id)


def test_attendee_hold_goes_back_to_its_shard(world, people, shop, hot):
    resp = world.attendee(people.buyer, shop.event, hot)
    assert resp.status == 201, resp.body
    from openevent.models.orders import Attendee

    attendee = Attendee.get(int(resp.json()["data"]["id"]))
    assert attendee.seat_shard is not None
    assert _shards(hot.id)[int(attendee.seat_shard)] == (4, 1)
    gone = world.api.delete(f"/v1/attendees/{attendee.id}", token=people.buyer.token)
    assert gone.status in (200, 204), gone.body
    assert _sold(hot.id) == 0
    _invariant(hot.id)


def test_classic_order_takes_over_the_attendees_shards(world, people, shop, hot):
    ids = [world.attendee(people.buyer, shop.event, hot).json()["data"]["id"] for _ in range(3)]
    resp = world.classic_order(people.buyer, shop.event, ids)
    assert resp.status == 201, resp.body
    order = world.order(resp.json()["data"]["id"])
    assert sum(order.shard_counts()[int(hot.id)].values()) == 3
    assert _sold(hot.id) == 3
    cancel = world.api.patch(f"/v1/orders/{order.identifier}",
                             {"data": {"type": "order", "id": order.identifier,
                                       "attributes": {"status": "cancelled"}}},
                             token=people.owner.token)
    assert cancel.status == 200, cancel.body
    assert _sold(hot.id) == 0
    _invariant(hot.id)


def test_expired_order_paid_late_takes_seats_again_and_records_them(world, people, hot):
    from openevent.orders.lifecycle import expire_order, transition

    order = world.order(world.checkout(people.buyer, [(hot, 4)]).json()["data"]["id"])
    assert expire_order(order)
    assert _sold(hot.id) == 0
    done = transition(Order.get(order.id), "completed", allowed_from=("expired",),
                      reacquire=True)
    assert done.status == "completed"
    assert sum(done.shard_counts()[int(hot.id)].values()) == 4
    assert _sold(hot.id) == 4
    _invariant(hot.id)


# --- concurrency ---------------------------------------------------------------------------

@pytest.mark.slow
def test_sixty_buyers_at_forty_sharded_seats_buy_exactly_forty(world, people, hot):
    buyers = [world.make_user() for _ in range(60)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda b: world.checkout(b, [(hot, 1)]), buyers))
    statuses = sorted(r.status for r in results)
    assert statuses == [201] * 40 + [409] * 20
    assert _shards(hot.id) == {i: (0, 5) for i in range(8)}
    recorded: dict[int, int] = {}
    for r in results:
        if r.status == 201:
            for shard, n in world.order(r.json()["data"]["id"]).shard_counts()[
                    int(hot.id)].items():
                recorded[shard] = recorded.get(shard, 0) + n
    assert recorded == {i: 5 for i in range(8)}  # each order names the shard it emptied


@pytest.mark.slow
def test_quantity_edit_racing_buyers_never_oversells(world, people, hot):
    buyers = [world.make_user() for _ in range(30)]

    def lower() -> int:
        return _patch(world, people.owner, hot, quantity=20).status

    with ThreadPoolExecutor(16) as pool:
        edit = pool.submit(lower)
        results = list(pool.map(lambda b: world.checkout(b, [(hot, 1)]), buyers))
    sold = sum(1 for r in results if r.status == 201)
    quantity = int(Ticket.get(hot.id).quantity)
    assert edit.result() in (200, 422)
    assert sold == _sold(hot.id) <= quantity
    _invariant(hot.id)


# --- edits ---------------------------------------------------------------------------------

def test_quantity_edits_move_free_seats_and_never_below_taken(world, people, hot):
    assert world.checkout(people.buyer, [(hot, 5)]).status == 201
    up = _patch(world, people.owner, hot, quantity=48)
    assert up.status == 200, up.body
    _invariant(hot.id)
    down = _patch(world, people.owner, hot, quantity=6)
    assert down.status == 200, down.body
    assert sum(left for left, _ in _shards(hot.id).values()) == 1
    _invariant(hot.id)
    below = _patch(world, people.owner, hot, quantity=4)
    assert below.status == 422
    assert error_of(below)["source"]["pointer"] == "/data/attributes/quantity"
    assert int(Ticket.get(hot.id).quantity) == 6


def test_shard_count_changes_only_while_every_seat_is_free(world, people, hot):
    resp = world.checkout(people.buyer, [(hot, 1)])
    busy = _patch(world, people.owner, hot, **{"seat-shards": 2})
    assert busy.status == 422
    assert error_of(busy)["source"]["pointer"] == "/data/attributes/seat-shards"
    assert Ticket.get(hot.id).seat_shards == 8
    world.api.patch(f"/v1/orders/{resp.json()['data']['id']}",
                    {"data": {"type": "order", "id": resp.json()["data"]["id"],
                              "attributes": {"status": "cancelled"}}}, token=people.owner.token)
    fewer = _patch(world, people.owner, hot, **{"seat-shards": 3}, name="Hot renamed")
    assert fewer.status == 200, fewer.body
    assert _shards(hot.id) == {0: (14, 0), 1: (13, 0), 2: (13, 0)}
    assert Ticket.get(hot.id).name == "Hot renamed"
    one = _patch(world, people.owner, hot, **{"seat-shards": 1})
    assert one.status == 200, one.body
    assert _shards(hot.id) == {} and Ticket.get(hot.id).seat_shards is None
    assert world.checkout(people.buyer, [(hot, 2)]).status == 201
    assert int(Ticket.get(hot.id).seats_taken) == 2


def test_unsharded_ticket_with_seats_taken_is_not_sharded(world, people, shop):
    assert world.checkout(people.buyer, [(shop.free, 1)]).status == 201
    resp = _patch(world, people.owner, shop.free, **{"seat-shards": 4})
    assert resp.status == 422
    assert Ticket.get(shop.free.id).seat_shards is None and _shards(shop.free.id) == {}


def test_sharded_ticket_with_seats_taken_is_not_deleted(world, people, hot):
    assert world.checkout(people.buyer, [(hot, 1)]).status == 201
    assert world.api.delete(f"/v1/tickets/{hot.id}", token=people.owner.token).status == 409
    assert len(_shards(hot.id)) == 8


def test_deleted_sharded_ticket_sells_nothing(world, people, shop, hot):
    assert world.api.delete(f"/v1/tickets/{hot.id}", token=people.owner.token).status in (
        200, 204)
    assert _shards(hot.id) == {}
    assert world.checkout(people.buyer, [(hot, 1)]).status in (404, 409, 422)
    assert world.attendee(people.buyer, shop.event, hot).status in (404, 409, 422)


def test_copied_event_gets_fresh_shards(world, people, shop, hot):
    assert world.checkout(people.buyer, [(hot, 3)]).status == 201
    resp = world.api.post_json(f"/v1/events/{shop.event.identifier}/copy", {},
                               token=people.owner.token)
    assert resp.status in (200, 201), resp.body
    new_event = resp.json()["id"]
    copies = [t for t in Ticket.event_index.query(int(new_event)) if t.name == "Hot"]
    assert len(copies) == 1 and copies[0].seat_shards == 8
    assert _shards(copies[0].id) == {i: (5, 0) for i in range(8)}


# --- the transaction's failure names the right operation --------------------------------------

def test_failed_update_is_named_even_after_puts_in_the_same_transaction(world, shop):
    """PynamoDB sends puts before updates; a failed condition must still name its own
    operation (it once named whichever label sat at that index in the batch)."""
    from openevent.models.base import next_id

    code = world.code(shop.event, [shop.paid], tickets_number=1)
    DiscountCode(int(code.id)).update(actions=[DiscountCode.used_count.set(1)])

    def build() -> inventory.Batch:
        batch = inventory.Batch()
        batch.update("code:1", DiscountCode(int(code.id)), [DiscountCode.used_count.add(1)],
                     DiscountCode.used_count < 1)
        batch.save("order", Order(next_id("order"), identifier="x", event_id=1, user_id=1),
                   Order.id.does_not_exist())
        return batch

    with pytest.raises(inventory.InventoryConflict) as failed:
        inventory.run(build)
    assert failed.value.labels == ["code:1"]


def test_sold_out_mark_is_set_exactly_and_cleared_by_any_seat_coming_back(world, people, shop):
    ticket = Ticket.get(int(_post_ticket(world, people.owner, shop.event, quantity=4,
                                         **{"seat-shards": 2}).json()["data"]["id"]))
    first = world.checkout(people.buyer, [(ticket, 2)]).json()["data"]["id"]
    assert world.checkout(people.coorganizer, [(ticket, 2)]).status == 201
    assert not Ticket.get(ticket.id).shards_empty
    assert world.checkout(people.stranger, [(ticket, 1)]).status == 409  # tried, saw empty
    assert Ticket.get(ticket.id).shards_empty
    assert world.checkout(people.stranger, [(ticket, 1)]).status == 409  # from the mark
    cancel = world.api.patch(f"/v1/orders/{first}",
                             {"data": {"type": "order", "id": first,
                                       "attributes": {"status": "cancelled"}}},
                             token=people.owner.token)
    assert cancel.status == 200, cancel.body
    assert not Ticket.get(ticket.id).shards_empty
    assert world.checkout(people.stranger, [(ticket, 2)]).status == 201
    assert world.checkout(people.admin, [(ticket, 1)]).status == 409
    assert Ticket.get(ticket.id).shards_empty
    assert _patch(world, people.owner, ticket, quantity=5).status == 200
    assert not Ticket.get(ticket.id).shards_empty
    assert world.checkout(people.admin, [(ticket, 1)]).status == 201
    _invariant(ticket.id)


def test_mark_is_not_set_while_a_shard_still_has_seats(world, people, hot):
    inventory.mark_empty(int(hot.id), {i: 0 for i in range(8)})  # shards really hold 5 each
    assert not Ticket.get(hot.id).shards_empty


def test_an_orders_figures_go_to_the_shard_of_its_seats(world, people, hot, shop):
    """Buyers who meet on an order figure item already meet on a seat shard: the figures add
    no conflicts of their own to a sharded on-sale (orders/figures.py)."""
    from openevent.models.orders import OrderFigure
    from openevent.orders import figures as order_counts

    placed = [world.checkout(world.make_user(), [(hot, 1)]).json()["data"]["id"]
              for _ in range(6)]
    seat_shards = {next(iter(world.order(oid).shard_counts()[int(hot.id)]))
                   for oid in placed}
    for figure in (order_counts.event_figure(int(shop.event.id)),
                   order_counts.ticket_figure(int(hot.id))):
        used = {int(item.shard) for item in OrderFigure.query(figure)}
        assert used == seat_shards, figure
    service_cancel = world.api.patch(
        f"/v1/orders/{world.order(placed[0]).identifier}",
        {"data": {"type": "order", "id": placed[0], "attributes": {"status": "cancelled"}}},
        token=people.owner.token)
    assert service_cancel.status == 200, service_cancel.body
    assert {int(i.shard) for i in OrderFigure.query(order_counts.ticket_figure(
        int(hot.id)))} == seat_shards  # the move stays on the same item
