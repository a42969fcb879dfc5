"""Access codes (issue 23, item 4): organizers create, list, edit and delete them; a code
unlocks hidden tickets of its event; a buyer who checked the code sees and orders them, a
stranger does not; valid from/till, active, per-order quantities and max uses hold, also
under concurrent buyers. Attackers: strangers, buyers, other organizers, guessed ids."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from openevent.models.base import now

from tests.conftest import error_of


def code_doc(event, tickets=(), **attrs):
    base = {"code": "CREW", "tickets-number": 10, "min-quantity": 0, "max-quantity": 10,
            "is-active": True, "valid-from": (now() - timedelta(days=1)).isoformat()}
    base.update(attrs)
    return {"data": {"type": "access-code", "attributes": base, "relationships": {
        "event": {"data": {"type": "event", "id": str(event.id)}},
        "tickets": {"data": [{"type": "ticket", "id": str(t.id)} for t in tickets]}}}}


@pytest.fixture
def hidden(world, shop):
    return world.ticket(shop.event, name="Crew", price="5.00", quantity=10, is_hidden=True)


@pytest.fixture
def code(world, people, shop, hidden):
    resp = world.api.post("/v1/access-codes", code_doc(shop.event, [hidden]),
                          token=people.owner.token)
    assert resp.status == 201, resp.body
    return resp.json()["data"]


def check(world, shop, account, text="CREW"):
    return world.api.get(f"/v1/events/{shop.event.identifier}/access-codes/{text}",
                         token=account.token if account else None)


# --- organizers manage them ---------------------------------------------------------------

def test_organizer_creates_lists_edits_and_deletes(world, people, shop, hidden, code):
    assert isinstance(code["id"], int)
    assert code["attributes"]["tickets-number"] == 10
    assert code["relationships"]["tickets"]["data"] == [{"type": "ticket", "id": str(hidden.id)}]
    co = people.coorganizer.token
    listed = world.api.get(f"/v1/events/{shop.event.identifier}/access-codes", token=co)
    assert [c["id"] for c in listed.json()["data"]] == [code["id"]]
    assert listed.json()["meta"]["count"] == 1
    by_ticket = world.api.get(f"/v1/tickets/{hidden.id}/access-codes", token=co)
    assert [c["id"] for c in by_ticket.json()["data"]] == [code["id"]]
    patched = world.api.patch(f"/v1/access-codes/{code['id']}", {"data": {
        "type": "access-code", "id": code["id"], "attributes": {"max-quantity": 2}}}, token=co)
    assert patched.status == 200, patched.body
    assert patched.json()["data"]["attributes"]["max-quantity"] == 2
    tickets = world.api.get(f"/v1/access-codes/{code['id']}/tickets", token=co)
    assert [t["id"] for t in tickets.json()["data"]] == [str(hidden.id)]
    assert world.api.delete(f"/v1/access-codes/{code['id']}", token=co).status == 200
    assert world.api.get(f"/v1/access-codes/{code['id']}", token=co).status == 404
    assert check(world, shop, people.buyer).status == 404


def test_the_apps_filters_on_the_access_code_tab(world, people, shop, code):
    """The organizer's tab filters `valid_till` (snake case) and `is-active`."""
    import json

    flt = json.dumps([{"name": "valid_till", "op": "lt", "val": now().isoformat()}])
    resp = world.api.get(f"/v1/events/{shop.event.identifier}/access-codes?filter={flt}",
                         token=people.owner.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"] == []


def test_a_code_unlocks_only_hidden_tickets_of_its_event(world, people, shop, hidden):
    public = world.api.post("/v1/access-codes", code_doc(shop.event, [shop.paid]),
                            token=people.owner.token)
    assert public.status == 422
    assert error_of(public)["source"]["pointer"] == "/data/relationships/tickets"
    other = world.event(people.owner)
    foreign = world.ticket(other, name="Theirs", price="5.00", is_hidden=True)
    resp = world.api.post("/v1/access-codes", code_doc(shop.event, [foreign]),
                          token=people.owner.token)
    assert resp.status == 422


def test_duplicate_text_and_bad_values_name_the_field(world, people, shop, hidden, code):
    dup = world.api.post("/v1/access-codes", code_doc(shop.event, [hidden], code="crew"),
                         token=people.owner.token)
    assert dup.status == 409
    assert error_of(dup)["source"]["pointer"] == "/data/attributes/code"
    for attrs, pointer in [({"min-quantity": 5, "max-quantity": 2}, "min-quantity"),
                           ({"valid-till": (now() - timedelta(days=2)).isoformat()},
                            "valid-till"),
                           ({"tickets-number": "many"}, "tickets-number")]:
        resp = world.api.post("/v1/access-codes",
                              code_doc(shop.event, [hidden], code="X1", **attrs),
                              token=people.owner.token)
        assert resp.status == 422, (attrs, resp.body)
        assert error_of(resp)["source"]["pointer"] == f"/data/attributes/{pointer}"


@pytest.mark.parametrize("who", ["stranger", "buyer", "other_organizer", "anonymous"])
def test_nobody_else_manages_codes(world, people, shop, hidden, code, who):
    if who == "other_organizer":
        account = world.make_user()
        world.grant(world.event(account), account, "organizer")
    else:
        account = getattr(people, who, None)
    token = account.token if account else None
    expected = 401 if account is None else 403
    cid = code["id"]
    assert world.api.post("/v1/access-codes", code_doc(shop.event, [hidden], code="MINE"),
                          token=token).status == expected
    for method, path in [("GET", f"/v1/access-codes/{cid}"),
                         ("GET", f"/v1/events/{shop.event.identifier}/access-codes"),
                         ("GET", f"/v1/access-codes/{cid}/marketer"),
                         ("GET", f"/v1/access-codes/{cid}/relationships/tickets"),
                         ("DELETE", f"/v1/access-codes/{cid}")]:
        assert world.api.request(method, path, token=token).status == expected, path
    patch = world.api.patch(f"/v1/access-codes/{cid}", {"data": {
        "type": "access-code", "id": cid, "attributes": {"tickets-number": 1000}}}, token=token)
    assert patch.status == expected
    assert world.api.get(f"/v1/access-codes/{cid}",
                         token=people.owner.token).json()["data"]["attributes"][
        "tickets-number"] == 10


def test_guessed_ids_are_404(world, people, shop, code):
    for path in (f"/v1/access-codes/{code['id'] + 1}", f"/v1/access-codes/{code['id'] + 1}/tickets",
                 "/v1/access-codes/abc/event"):
        assert world.api.get(path, token=people.buyer.token).status == 404, path


# --- buyers with the code, strangers without -------------------------------------------------

def test_the_check_shows_the_code_without_its_uses(world, people, shop, hidden, code):
    resp = check(world, shop, people.buyer, "crew")
    assert resp.status == 200, resp.body
    data = resp.json()["data"]
    assert data["id"] == code["id"]
    assert "tickets-number" not in data["attributes"]
    assert "marketer" not in data.get("relationships", {})
    tickets = world.api.get(data["relationships"]["tickets"]["links"]["related"],
                            token=people.buyer.token)
    assert [t["id"] for t in tickets.json()["data"]] == [str(hidden.id)]
    assert check(world, shop, people.buyer, "NOPE").status == 404


def test_a_stranger_does_not_see_or_order_the_hidden_ticket(world, people, shop, hidden, code):
    listed = world.api.get(f"/v1/events/{shop.event.identifier}/tickets",
                           token=people.stranger.token).json()["data"]
    assert str(hidden.id) not in [t["id"] for t in listed]
    assert world.api.get(f"/v1/tickets/{hidden.id}", token=people.stranger.token).status == 404
    resp = world.checkout(people.stranger, [(hidden, 1)])
    assert resp.status == 422
    price = world.api.post_json("/v1/orders/calculate-amount",
                                {"tickets": [{"id": hidden.id, "quantity": 1}]},
                                token=people.stranger.token)
    assert price.status == 422
    assert world.ticket_state(hidden).seats_taken in (None, 0)


def test_a_buyer_who_checked_the_code_orders_the_hidden_ticket(world, people, shop, hidden,
                                                               code):
    assert check(world, shop, people.buyer).status == 200
    price = world.api.post_json("/v1/orders/calculate-amount",
                                {"tickets": [{"id": hidden.id, "quantity": 2}]},
                                token=people.buyer.token)
    assert price.status == 200, price.body
    assert price.json()["total"] == 10.0
    resp = world.checkout(people.buyer, [(hidden, 2)])
    assert resp.status == 201, resp.body
    order = world.order(resp.json()["data"]["attributes"]["identifier"])
    assert (order.access_code_id, order.access_uses) == (code["id"], 2)
    from openevent.models.access_codes import AccessCode

    assert AccessCode.get(code["id"]).used_count == 2
    # someone else's check does not unlock anything for the stranger
    assert world.checkout(people.stranger, [(hidden, 1)]).status == 422


def test_naming_the_code_in_the_order_works_too(world, people, shop, hidden, code):
    resp = world.checkout(people.buyer, [(hidden, 1)], **{"access-code": "CREW"})
    assert resp.status == 201, resp.body
    wrong = world.checkout(people.stranger, [(hidden, 1)], **{"access-code": "WRONG"})
    assert wrong.status == 422
    assert error_of(wrong)["source"]["pointer"] == "/access-code"


def test_a_code_of_another_event_unlocks_nothing(world, people, shop, hidden):
    other = world.event(people.stranger)
    theirs = world.ticket(other, name="Theirs", price="5.00", is_hidden=True)
    resp = world.api.post("/v1/access-codes", code_doc(other, [theirs], code="CREW"),
                          token=people.stranger.token)
    assert resp.status == 201
    assert check(world, shop, people.buyer).status == 404
    assert world.checkout(people.buyer, [(hidden, 1)], **{
        "access-code": resp.json()["data"]["id"]}).status == 422


@pytest.mark.parametrize("attrs", [
    {"is-active": False},
    {"valid-from": (now() + timedelta(days=1)).isoformat()},
    {"valid-from": (now() - timedelta(days=3)).isoformat(),
     "valid-till": (now() - timedelta(days=1)).isoformat()},
])
def test_an_unusable_code_neither_checks_nor_unlocks(world, people, shop, hidden, attrs):
    made = world.api.post("/v1/access-codes", code_doc(shop.event, [hidden], **attrs),
                          token=people.owner.token)
    assert made.status == 201, made.body
    assert check(world, shop, people.buyer).status == 405
    assert world.checkout(people.buyer, [(hidden, 1)]).status == 422
    cid = made.json()["data"]["id"]
    assert world.api.get(f"/v1/access-codes/{cid}/tickets",
                         token=people.buyer.token).status == 403


def test_a_code_switched_off_after_the_check_unlocks_nothing(world, people, shop, hidden, code):
    assert check(world, shop, people.buyer).status == 200
    world.api.patch(f"/v1/access-codes/{code['id']}", {"data": {
        "type": "access-code", "id": code["id"], "attributes": {"is-active": False}}},
        token=people.owner.token)
    assert world.checkout(people.buyer, [(hidden, 1)]).status == 422


def test_per_order_quantities(world, people, shop, hidden):
    world.api.post("/v1/access-codes", code_doc(shop.event, [hidden], **{
        "min-quantity": 2, "max-quantity": 3}), token=people.owner.token)
    assert check(world, shop, people.buyer).status == 200
    assert world.checkout(people.buyer, [(hidden, 1)]).status == 422
    assert world.checkout(people.buyer, [(hidden, 4)]).status == 422
    assert world.checkout(people.buyer, [(hidden, 2)]).status == 201


def test_max_uses_hold_and_come_back_when_an_order_is_cancelled(world, people, shop, hidden):
    made = world.api.post("/v1/access-codes", code_doc(shop.event, [hidden], **{
        "tickets-number": 3, "max-quantity": 3}), token=people.owner.token).json()["data"]
    assert check(world, shop, people.buyer).status == 200
    first = world.checkout(people.buyer, [(hidden, 3)])
    assert first.status == 201
    over = world.checkout(people.buyer, [(hidden, 1)])
    assert over.status == 422
    assert error_of(over)["source"]["pointer"] == "/access-code"
    from openevent.models.access_codes import AccessCode
    from openevent.orders.lifecycle import transition

    order = world.order(first.json()["data"]["attributes"]["identifier"])
    transition(order, "cancelled")
    assert AccessCode.get(made["id"]).used_count == 0
    assert world.checkout(people.buyer, [(hidden, 1)]).status == 201


def test_tickets_number_cannot_drop_below_the_uses(world, people, shop, hidden, code):
    assert check(world, shop, people.buyer).status == 200
    assert world.checkout(people.buyer, [(hidden, 3)]).status == 201
    resp = world.api.patch(f"/v1/access-codes/{code['id']}", {"data": {
        "type": "access-code", "id": code["id"], "attributes": {"tickets-number": 2}}},
        token=people.owner.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/tickets-number"


def test_concurrent_buyers_never_pass_max_uses(world, people, shop, hidden):
    made = world.api.post("/v1/access-codes", code_doc(shop.event, [hidden], **{
        "tickets-number": 3, "max-quantity": 1}), token=people.owner.token).json()["data"]
    buyers = [world.make_user() for _ in range(6)]
    for buyer in buyers:
        assert check(world, shop, buyer).status == 200
    results: list[int] = []

    def buy(account):
        results.append(world.checkout(account, [(hidden, 1)]).status)

    threads = [threading.Thread(target=buy, args=(b,)) for b in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from openevent.models.access_codes import AccessCode

    assert results.count(201) == 3, results
    assert AccessCode.get(made["id"]).used_count == 3
    assert world.ticket_state(hidden).seats_taken == 3


def test_the_holder_and_the_seat_holder_see_the_hidden_ticket_nobody_else(world, people, shop,
                                                                        hidden, code):
    path = f"/v1/tickets/{hidden.id}"
    assert world.api.get(path, token=people.buyer.token).status == 404
    assert world.api.get(path + "/event", token=people.buyer.token).status == 404
    assert check(world, shop, people.buyer).status == 200
    assert world.api.get(path, token=people.buyer.token).status == 200
    assert world.api.get(path + "/event", token=people.buyer.token).status == 200
    order = world.checkout(people.buyer, [(hidden, 1)]).json()["data"]
    # the code is switched off and deleted: the buyer still sees the ticket they hold
    assert world.api.delete(f"/v1/access-codes/{code['id']}",
                            token=people.owner.token).status == 200
    assert world.api.get(path, token=people.buyer.token).status == 200
    tickets = world.api.get(f"/v1/orders/{order['attributes']['identifier']}/tickets",
                            token=people.buyer.token).json()["data"]
    assert [t["id"] for t in tickets] == [str(hidden.id)]
    for account in (people.stranger, None):
        assert world.api.get(path, token=account.token if account else None).status == 404
