"""Issue 20, item 11: a new id another container took in the same millisecond is drawn again
inside the request (models.base.retry_id_clash) — never surfaced, never an overwrite. The clash
is forced: the first id drawn for the kind is one that already exists."""

from __future__ import annotations

import itertools

import pytest
from openevent.models import base

from tests.conftest import error_of


@pytest.fixture
def clash(monkeypatch):
    """`clash(kind, taken_id, times=1)`: the next `times` ids drawn for `kind` are `taken_id`."""
    real = base.next_id
    forced: dict[str, list[int]] = {}
    drawn: list[tuple[str, int]] = []

    def next_id(kind):
        value = forced[kind].pop(0) if forced.get(kind) else real(kind)
        drawn.append((kind, value))
        return value

    import openevent.accounts.users as users
    import openevent.events.lifecycle as events
    import openevent.events.tickets as tickets
    import openevent.orders.attendees as attendees
    import openevent.orders.placing as placing

    # every module that draws ids (orders and attendees are drawn where they are made)
    for module in (base, placing, attendees, events, tickets, users):
        monkeypatch.setattr(module, "next_id", next_id)

    def force(kind, taken, times=1):
        forced[kind] = list(itertools.repeat(int(taken), times))
        return drawn

    return force


def test_checkout_order_whose_id_is_taken_is_made_with_another(world, people, shop, clash):
    earlier = world.checkout(people.stranger, [(shop.free, 1)]).json()["data"]
    drawn = clash("order", earlier["id"])
    before = len(drawn)
    resp = world.checkout(people.buyer, [(shop.paid, 2)])
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["id"] != earlier["id"]
    assert [k for k, _ in drawn[before:]].count("order") == 2  # drawn again, once
    assert world.ticket_state(shop.paid).seats_taken == 2  # booked once
    assert world.ticket_state(shop.free).seats_taken == 1
    mine = world.order(earlier["attributes"]["identifier"])
    assert int(mine.user_id) == int(people.stranger.id)  # the earlier order is untouched


def test_checkout_attendee_whose_id_is_taken_is_made_with_another(world, people, shop, clash):
    earlier = world.checkout(people.stranger, [(shop.free, 1)]).json()["data"]
    taken = earlier["relationships"]["attendees"]["data"][0]["id"]
    clash("attendee", taken)
    resp = world.checkout(people.buyer, [(shop.free, 2)])
    assert resp.status == 201, resp.body
    ids = [a["id"] for a in resp.json()["data"]["relationships"]["attendees"]["data"]]
    assert taken not in ids and len(set(ids)) == 2
    assert world.ticket_state(shop.free).seats_taken == 3


def test_classic_attendee_and_order_clashes_are_retried(world, people, shop, clash):
    earlier = world.checkout(people.stranger, [(shop.free, 1)]).json()["data"]
    clash("attendee", earlier["relationships"]["attendees"]["data"][0]["id"])
    held = world.attendee(people.buyer, shop.event, shop.free)
    assert held.status == 201, held.body
    clash("order", earlier["id"])
    resp = world.classic_order(people.buyer, shop.event, [held.json()["data"]["id"]])
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["id"] != earlier["id"]


def test_event_ticket_and_user_clashes_are_retried(world, people, shop, clash):
    clash("event", shop.event.id)
    doc = {"data": {"type": "event", "attributes": {
        "name": "Second", "starts-at": "2031-01-01T00:00:00Z",
        "ends-at": "2031-01-02T00:00:00Z", "timezone": "UTC"}}}
    made = world.api.post("/v1/events", doc, token=people.owner.token)
    assert made.status == 201, made.body
    assert made.json()["data"]["id"] != str(shop.event.id)
    clash("ticket", shop.paid.id)
    ticket = {"data": {"type": "ticket", "attributes": {"name": "New", "type": "free",
                                                        "quantity": 5},
                       "relationships": {"event": {"data": {"type": "event",
                                                            "id": str(shop.event.id)}}}}}
    resp = world.api.post("/v1/tickets", ticket, token=people.owner.token)
    assert resp.status == 201, resp.body
    assert world.ticket_state(shop.paid).name == "Paid"
    clash("user", people.buyer.id)
    signup = {"data": {"type": "user", "attributes": {"email": "new@example.com",
                                                      "password": "long-enough-pw"}}}
    resp = world.api.post("/v1/users", signup)
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["id"] != str(people.buyer.id)


def test_a_clash_every_time_is_a_clear_503_with_nothing_written(world, people, shop, clash):
    earlier = world.checkout(people.stranger, [(shop.free, 1)]).json()["data"]
    clash("order", earlier["id"], times=10)
    resp = world.checkout(people.buyer, [(shop.paid, 1)])
    assert resp.status == 503, resp.body
    assert "try again" in error_of(resp)["detail"].lower()
    assert int(world.ticket_state(shop.paid).seats_taken or 0) == 0
