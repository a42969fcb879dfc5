"""The attacker's side of discount codes, hidden tickets and seat holds (issue 9, items 7-11).

Each test is what someone without the right would try: guess a secret code's id, buy a
hidden ticket by id, hold a whole ticket before sales open, get a different price quoted
than charged, buy where the organizer switched ticketing off."""

from __future__ import annotations

from datetime import timedelta

from openevent.models.base import now

from tests.conftest import error_of


def _quote(world, body, token=None):
    return world.api.post_json("/v1/orders/calculate-amount", body, token=token)


# --- 7. a secret code is used only by someone who knows it ------------------------------

def test_code_ids_cannot_be_guessed_in_sequence(world, people, shop):
    a = world.code(shop.event, [shop.paid], code="SPKR-9f3k2", value=10)
    b = world.code(shop.event, [shop.paid], code="OTHER", value=10)
    assert abs(int(a.id) - int(b.id)) > 1_000_000
    assert 2**52 <= int(a.id) < 2**53  # JavaScript-safe, 16 digits


def test_anonymous_guessing_code_ids_learns_nothing(world, people, shop):
    secret = world.code(shop.event, [shop.paid], code="SPKR-9f3k2", type="percent", value=100)
    for guess in (1, 2, 3, int(secret.id) + 1, int(secret.id) - 1, "2"):
        resp = _quote(world, {"tickets": [{"id": shop.paid.id, "quantity": 1}],
                              "discount-code": guess})
        assert resp.status == 422
        assert error_of(resp)["detail"] == "Invalid Discount Code"
        assert b"SPKR" not in resp.body


def test_code_applied_by_id_is_not_echoed_to_the_buyer(world, people, shop):
    secret = world.code(shop.event, [shop.paid], code="SPKR-9f3k2", type="percent", value=50)
    resp = _quote(world, {"tickets": [{"id": shop.paid.id, "quantity": 1}],
                          "discount-code": secret.id})
    assert resp.status == 200
    assert resp.json()["total"] == 5.0
    assert b"SPKR" not in resp.body


def test_buyer_applies_a_code_by_its_text(world, people, shop):
    world.code(shop.event, [shop.paid], code="SPKR-9f3k2", type="percent", value=50)
    resp = world.checkout(people.buyer, [(shop.paid, 1)], **{"discount-code": "spkr-9f3k2"})
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["attributes"]["amount"] == 5.0


def test_code_of_another_event_is_invalid_even_by_text(world, people, shop):
    other = world.event(people.stranger, can_pay_by_stripe=True)
    other_ticket = world.ticket(other, price="10")
    world.code(other, [other_ticket], code="MINE", type="percent", value=100)
    resp = world.checkout(people.buyer, [(shop.paid, 1)], **{"discount-code": "MINE"})
    assert resp.status == 422
    assert error_of(resp)["detail"] == "Invalid Discount Code"


# --- 8. hidden tickets are never sold by id ------------------------------------------------

def test_hidden_ticket_is_not_sold_by_id_through_any_route(world, people, shop):
    hidden = world.ticket(shop.event, name="Speakers", quantity=5, is_hidden=True)
    assert world.checkout(people.buyer, [(hidden, 1)]).status == 422
    assert _quote(world, {"tickets": [{"id": hidden.id, "quantity": 1}]}).status == 422
    assert world.attendee(people.buyer, shop.event, hidden).status == 422
    assert world.ticket_state(hidden).seats_taken == 0


def test_organizer_still_issues_hidden_tickets(world, people, shop):
    hidden = world.ticket(shop.event, name="Speakers", quantity=5, is_hidden=True)
    assert world.checkout(people.coorganizer, [(hidden, 1)]).status == 201


# --- 9. seat holds obey the sales rules ----------------------------------------------------

def test_no_hold_before_sales_open_or_after_they_end(world, people, shop):
    early = world.ticket(shop.event, name="Later", quantity=5,
                         sales_starts_at=now() + timedelta(days=1))
    late = world.ticket(shop.event, name="Over", quantity=5,
                        sales_starts_at=now() - timedelta(days=3),
                        sales_ends_at=now() - timedelta(days=1))
    for ticket in (early, late):
        resp = world.attendee(people.stranger, shop.event, ticket)
        assert resp.status == 422, resp.body
        assert world.ticket_state(ticket).seats_taken == 0


def test_a_stranger_cannot_hold_a_whole_ticket(world, people, shop):
    ticket = world.ticket(shop.event, name="Small", quantity=20, max_order=3)
    statuses = [world.attendee(people.stranger, shop.event, ticket).status for _ in range(6)]
    assert statuses == [201, 201, 201, 422, 422, 422]
    assert world.ticket_state(ticket).seats_taken == 3


def test_concurrent_holds_never_pass_the_cap(world, people, shop):
    from concurrent.futures import ThreadPoolExecutor

    ticket = world.ticket(shop.event, name="Hot", quantity=50, max_order=2)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda _: world.attendee(people.stranger, shop.event, ticket).status, range(12)))
    assert statuses.count(201) == 2
    assert world.ticket_state(ticket).seats_taken == 2


def test_ordering_held_seats_frees_the_cap(world, people, shop):
    ticket = world.ticket(shop.event, name="Small", quantity=20, max_order=2)
    ids = [world.attendee(people.buyer, shop.event, ticket).json()["data"]["id"]
           for _ in range(2)]
    assert world.attendee(people.buyer, shop.event, ticket).status == 422
    assert world.classic_order(people.buyer, shop.event, ids).status == 201
    assert world.attendee(people.buyer, shop.event, ticket).status == 201


def test_expired_and_deleted_holds_free_the_cap(world, people, shop):
    from openevent.orders.lifecycle import expire_due_orders

    ticket = world.ticket(shop.event, name="Small", quantity=20, max_order=2)
    first = world.attendee(people.buyer, shop.event, ticket).json()["data"]["id"]
    world.attendee(people.buyer, shop.event, ticket)
    assert world.api.delete(f"/v1/attendees/{first}", token=people.buyer.token).status == 200
    assert world.attendee(people.buyer, shop.event, ticket).status == 201
    assert expire_due_orders(now() + timedelta(minutes=16))["attendees"] == 2
    assert world.ticket_state(ticket).seats_taken == 0
    assert [world.attendee(people.buyer, shop.event, ticket).status for _ in range(3)] == [
        201, 201, 422]


# --- 10. the organizer's quote is what the order charges ---------------------------------

def test_organizer_quote_and_order_amount_agree(world, people, shop):
    world.code(shop.event, [shop.paid], code="HALF", type="percent", value=50)
    body = {"tickets": [{"id": shop.paid.id, "quantity": 2}], "discount-code": "HALF"}
    quote = _quote(world, body, token=people.owner.token)
    assert quote.status == 200
    order = world.checkout(people.owner, [(shop.paid, 2)], **{"discount-code": "HALF"})
    assert order.status == 201, order.body
    assert order.json()["data"]["attributes"]["amount"] == quote.json()["total"] == 20.0
    buyer_quote = _quote(world, body, token=people.buyer.token).json()["total"]
    buyer_order = world.checkout(people.buyer, [(shop.paid, 2)], **{"discount-code": "HALF"})
    assert buyer_order.json()["data"]["attributes"]["amount"] == buyer_quote == 10.0


# --- 11. ticketing switched off means no sales ---------------------------------------------

def test_no_sales_when_ticketing_is_off(world, people, shop):
    from openevent.models.events import Event

    Event(shop.event.id).update(actions=[Event.is_ticketing_enabled.set(False)])
    assert world.checkout(people.buyer, [(shop.free, 1)]).status == 422
    assert world.attendee(people.buyer, shop.event, shop.free).status == 422
    assert _quote(world, {"tickets": [{"id": shop.free.id, "quantity": 1}]}).status == 422
    assert world.ticket_state(shop.free).seats_taken == 0


def test_an_order_cannot_take_over_someone_elses_held_attendee(world, people, shop):
    """The classic flow: attendees first, then the order. Another user's hold, and an
    attendee already in an order, are refused before anything is written."""
    theirs = world.attendee(people.stranger, shop.event, shop.paid).json()["data"]["id"]
    resp = world.classic_order(people.buyer, shop.event, [theirs], **{"payment-mode": "onsite"})
    assert resp.status == 403, resp.body
    assert resp.json()["errors"][0]["source"]["pointer"] == "/data/relationships/attendees"
    from openevent.models.orders import Attendee

    assert Attendee.get(int(theirs)).order_id is None
    mine = world.attendee(people.buyer, shop.event, shop.paid).json()["data"]["id"]
    onsite = {"payment-mode": "onsite"}
    assert world.classic_order(people.buyer, shop.event, [mine], **onsite).status == 201
    again = world.classic_order(people.buyer, shop.event, [mine], **onsite)
    assert again.status == 409, again.body


# --- issue 20, item 1: an event-wide code's id is shown only to who may see the code ------

def _event_code(world, shop, **values):
    """The admin-made event-wide code of the shop's event, linked from the event."""
    from openevent.models.events import Event

    code = world.code(shop.event, [], code="STAFF90", type="amount", value=9,
                      used_for="event", **values)
    Event.get(shop.event.id).update(actions=[Event.discount_code_id.set(int(code.id))])
    return code


def test_event_code_id_is_not_linked_for_strangers(world, people, shop):
    code = _event_code(world, shop)
    for token in (None, people.stranger.token, people.buyer.token, people.owner.token,
                  people.coorganizer.token):
        for path in (f"/v1/events/{shop.event.id}?include=discount-code",
                     f"/v1/events/{shop.event.identifier}",
                     "/v1/events?include=discount-code"):
            resp = world.api.get(path, token=token)
            assert resp.status == 200, resp.body
            assert str(code.id) not in resp.body.decode(), (path, token)
    admin = world.api.get(f"/v1/events/{shop.event.id}", token=people.admin.token).json()
    assert admin["data"]["relationships"]["discount-code"]["data"] == {
        "type": "discount-code", "id": int(code.id)}


def test_stranger_cannot_apply_an_event_code_read_from_the_event(world, people, shop):
    """The attack of the report: read the code's id from the public event, order with it."""
    _event_code(world, shop)
    event = world.api.get(f"/v1/events/{shop.event.id}").json()["data"]
    linked = event["relationships"]["discount-code"]["data"]
    body = {"discount-code": linked["id"]} if linked else {}
    resp = world.checkout(people.stranger, [(shop.paid, 1)], **body)
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["attributes"]["amount"] == 10.0


def test_event_code_is_listed_to_admins_only(world, people, shop):
    code = _event_code(world, shop)
    world.code(shop.event, [shop.paid], code="TICKETCODE", value=1)
    for account, expected in ((people.coorganizer, ["TICKETCODE"]),
                              (people.owner, ["TICKETCODE"]),
                              (people.admin, ["STAFF90", "TICKETCODE"])):
        resp = world.api.get(f"/v1/events/{shop.event.id}/discount-codes",
                             token=account.token)
        assert resp.status == 200
        assert sorted(c["attributes"]["code"] for c in resp.json()["data"]) == expected
        listed = world.api.get(f"/v1/tickets/{shop.paid.id}/discount-codes",
                               token=account.token).json()["data"]
        assert str(code.id) not in str(listed)


def test_event_code_id_of_an_order_is_shown_to_its_buyer_not_the_organizers(world, people,
                                                                             shop):
    """The buyer typed the code; the event's organizers may not see the event-wide code."""
    code = _event_code(world, shop)
    made = world.checkout(people.buyer, [(shop.paid, 1)], **{"discount-code": "staff90"})
    assert made.status == 201, made.body
    assert made.json()["data"]["attributes"]["amount"] == 1.0
    identifier = made.json()["data"]["attributes"]["identifier"]
    mine = world.api.get(f"/v1/orders/{identifier}", token=people.buyer.token).json()["data"]
    assert mine["relationships"]["discount-code"]["data"]["id"] == int(code.id)
    for account in (people.coorganizer, people.owner):
        for path in (f"/v1/orders/{identifier}?include=discount-code",
                     f"/v1/events/{shop.event.id}/orders"):
            resp = world.api.get(path, token=account.token)
            assert resp.status == 200, resp.body
            assert str(code.id) not in resp.body.decode(), path


def test_buyer_who_typed_the_event_code_applies_it_as_the_web_app_does(world, people, shop):
    """The web app looks the typed code up by its text, then orders with the id it got."""
    code = _event_code(world, shop)
    looked = world.api.get(f"/v1/events/{shop.event.identifier}/discount-codes/staff90",
                           token=people.buyer.token)
    assert looked.status == 200, looked.body
    assert looked.json()["data"]["id"] == int(code.id)
    resp = world.checkout(people.buyer, [(shop.paid, 1)],
                          **{"discount-code": looked.json()["data"]["id"]})
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["attributes"]["amount"] == 1.0
