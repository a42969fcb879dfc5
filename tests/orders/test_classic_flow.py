"""Attendees first, then POST /v1/orders (API.md §6)."""

from datetime import timedelta

from openevent.models.base import now

from tests.conftest import error_of


def _attendee(world, people, shop, ticket=None):
    resp = world.attendee(people.buyer, shop.event, ticket or shop.paid)
    assert resp.status == 201, resp.body
    return resp.json()["data"]["id"]


def test_attendee_creation_holds_a_seat(world, people, shop):
    resp = world.attendee(people.buyer, shop.event, shop.paid)
    assert resp.status == 201
    assert resp.headers["Location"] == f"/v1/attendees/{resp.json()['data']['id']}"
    assert resp.json()["data"]["attributes"]["firstname"] == "Ada"
    assert world.ticket_state(shop.paid).seats_taken == 1


def test_attendee_ticket_of_another_event_is_422(world, people, shop):
    other = world.event(people.owner)
    ticket = world.ticket(other)
    resp = world.attendee(people.buyer, shop.event, ticket)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/relationships/ticket"


def test_attendee_for_sold_out_ticket_is_409(world, people, shop):
    for _ in range(5):
        _attendee(world, people, shop)
    resp = world.attendee(people.buyer, shop.event, shop.paid)
    assert resp.status == 409
    assert error_of(resp)["detail"].startswith("Ticket sold out")
    assert world.ticket_state(shop.paid).seats_taken == 5


def test_attendee_creation_needs_login(world, people, shop):
    from tests.orders.conftest import attendee_doc

    resp = world.api.post("/v1/attendees", attendee_doc(shop.event, shop.paid))
    assert resp.status == 401


def test_paid_classic_order_is_pending_with_server_amount(world, people, shop):
    ids = [_attendee(world, people, shop), _attendee(world, people, shop)]
    resp = world.classic_order(people.buyer, shop.event, ids, amount=1,
                               status="completed", **{"payment-mode": "onsite"})
    assert resp.status == 201
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["status"], attrs["amount"], attrs["payment-mode"]) == ("pending", 20.0,
                                                                          "onsite")
    assert resp.headers["Location"] == f"/v1/orders/{attrs['identifier']}"
    # the attendees' seats passed to the order: no extra seats taken
    assert world.ticket_state(shop.paid).seats_taken == 2


def test_zero_amount_classic_order_is_completed_by_the_server(world, people, shop, outbox):
    aid = _attendee(world, people, shop, shop.free)
    resp = world.classic_order(people.buyer, shop.event, [aid])
    assert resp.status == 201
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["status"], attrs["amount"], attrs["payment-mode"]) == ("completed", 0.0,
                                                                          "free")
    assert len(list(outbox.glob("*.eml"))) == 1


def test_attendee_already_in_an_order_is_409(world, people, shop):
    aid = _attendee(world, people, shop, shop.free)
    assert world.classic_order(people.buyer, shop.event, [aid]).status == 201
    resp = world.classic_order(people.buyer, shop.event, [aid])
    assert resp.status == 409
    assert error_of(resp)["source"]["pointer"] == "/data/relationships/attendees"


def test_unknown_attendee_is_404(world, people, shop):
    resp = world.classic_order(people.buyer, shop.event, ["999999"])
    assert resp.status == 404


def test_free_mode_with_amount_is_422(world, people, shop):
    aid = _attendee(world, people, shop)
    resp = world.classic_order(people.buyer, shop.event, [aid], **{"payment-mode": "free"})
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/payment-mode"
    assert world.order(1) is None


def test_paid_mode_with_zero_amount_is_422(world, people, shop):
    aid = _attendee(world, people, shop, shop.free)
    resp = world.classic_order(people.buyer, shop.event, [aid], **{"payment-mode": "onsite"})
    assert resp.status == 422


def test_payment_mode_not_enabled_on_event_is_422(world, people, shop):
    aid = _attendee(world, people, shop)
    resp = world.classic_order(people.buyer, shop.event, [aid], **{"payment-mode": "bank"})
    assert resp.status == 422
    assert "not enabled" in error_of(resp)["detail"]


def test_ticketing_module_off_forbids_orders(world, people, shop):
    aid = _attendee(world, people, shop, shop.free)
    world.modules(ticket=False)
    resp = world.classic_order(people.buyer, shop.event, [aid])
    assert resp.status == 403
    assert error_of(resp)["detail"] == "Ticketing is not enabled in the system"


def test_payment_module_off_forbids_paid_orders(world, people, shop):
    aid = _attendee(world, people, shop)
    world.modules(payment=False)
    resp = world.classic_order(people.buyer, shop.event, [aid], **{"payment-mode": "onsite"})
    assert resp.status == 403
    assert error_of(resp)["detail"] == "Payment is not enabled in the system"


def test_organizer_sets_amount_and_status_and_coupon_is_not_consumed(world, people, shop):
    code = world.code(shop.event, [shop.paid], tickets_number=1)
    resp = world.attendee(people.owner, shop.event, shop.paid)
    aid = resp.json()["data"]["id"]
    resp = world.classic_order(people.owner, shop.event, [aid], code, amount=3,
                               status="placed", **{"payment-mode": "onsite"})
    assert resp.status == 201
    attrs = resp.json()["data"]["attributes"]
    assert (attrs["status"], attrs["amount"]) == ("placed", 3.0)
    assert resp.json()["data"]["relationships"]["discount-code"]["data"] == {
        "type": "discount-code", "id": code.id}
    assert world.code_state(code).used_count == 0


def test_discount_code_is_applied_and_consumed(world, people, shop):
    code = world.code(shop.event, [shop.paid], value=2.5, tickets_number=3)
    ids = [_attendee(world, people, shop), _attendee(world, people, shop)]
    resp = world.classic_order(people.buyer, shop.event, ids, code,
                               **{"payment-mode": "onsite"})
    assert resp.status == 201
    assert resp.json()["data"]["attributes"]["amount"] == 15.0
    assert world.code_state(code).used_count == 2


def test_inactive_discount_code_is_422(world, people, shop):
    code = world.code(shop.event, [shop.paid], is_active=False)
    aid = _attendee(world, people, shop)
    resp = world.classic_order(people.buyer, shop.event, [aid], code,
                               **{"payment-mode": "onsite"})
    assert resp.status == 422
    assert error_of(resp) == {"status": 422, "title": "Unprocessable Entity",
                              "detail": "Inactive Discount Code",
                              "source": {"pointer": "/data/relationships/discount-code"}}


def test_expired_discount_code_window_is_422(world, people, shop):
    code = world.code(shop.event, [shop.paid], valid_till=now() - timedelta(days=1))
    aid = _attendee(world, people, shop)
    resp = world.classic_order(people.buyer, shop.event, [aid], code,
                               **{"payment-mode": "onsite"})
    assert error_of(resp)["detail"] == "Inactive Discount Code"


def test_discount_code_without_uses_left_is_422(world, people, shop):
    code = world.code(shop.event, [shop.paid], tickets_number=1)
    ids = [_attendee(world, people, shop), _attendee(world, people, shop)]
    resp = world.classic_order(people.buyer, shop.event, ids, code,
                               **{"payment-mode": "onsite"})
    assert resp.status == 422
    assert error_of(resp)["detail"] == "Discount Usage Exceeded"
    assert world.code_state(code).used_count == 0


def test_discount_code_quantity_outside_min_max_is_422(world, people, shop):
    code = world.code(shop.event, [shop.paid], min_quantity=2)
    aid = _attendee(world, people, shop)
    resp = world.classic_order(people.buyer, shop.event, [aid], code,
                               **{"payment-mode": "onsite"})
    assert error_of(resp)["detail"] == "Discount Usage Exceeded"


def test_discount_code_of_other_tickets_is_422(world, people, shop):
    code = world.code(shop.event, [shop.free])
    aid = _attendee(world, people, shop)
    resp = world.classic_order(people.buyer, shop.event, [aid], code,
                               **{"payment-mode": "onsite"})
    assert error_of(resp)["detail"] == "Invalid Discount Code"


def test_attendee_patch_by_buyer_after_checkout_is_403(world, people, shop):
    aid = _attendee(world, people, shop, shop.free)
    world.classic_order(people.buyer, shop.event, [aid])
    doc = {"data": {"type": "attendee", "id": aid, "attributes": {"city": "Berlin"}}}
    assert world.api.patch(f"/v1/attendees/{aid}", doc, token=people.buyer.token).status == 403
    resp = world.api.patch(f"/v1/attendees/{aid}", doc, token=people.coorganizer.token)
    assert resp.status == 200
    assert resp.json()["data"]["attributes"]["city"] == "Berlin"


def test_attendee_delete_gives_the_seat_back(world, people, shop):
    aid = _attendee(world, people, shop)
    resp = world.api.delete(f"/v1/attendees/{aid}", token=people.buyer.token)
    assert resp.status == 200
    assert resp.json()["meta"] == {"message": "Object successfully deleted"}
    assert world.ticket_state(shop.paid).seats_taken == 0
    assert world.api.get(f"/v1/attendees/{aid}", token=people.buyer.token).status == 404


def test_attendee_lists(world, people, shop):
    aid = _attendee(world, people, shop)
    for path in (f"/v1/events/{shop.event.id}/attendees", f"/v1/tickets/{shop.paid.id}/attendees"):
        resp = world.api.get(path, token=people.coorganizer.token)
        assert resp.status == 200
        assert [a["id"] for a in resp.json()["data"]] == [aid]
    assert world.api.get(f"/v1/events/{shop.event.id}/attendees",
                         token=people.buyer.token).status == 403


def test_a_ticket_lists_only_the_callers_own_holders_below_coorganizer(world, people, shop):
    aid = _attendee(world, people, shop)
    path = f"/v1/tickets/{shop.paid.id}/attendees"
    mine = world.api.get(path, token=people.buyer.token)
    assert mine.status == 200
    assert [a["id"] for a in mine.json()["data"]] == [aid]
    theirs = world.api.get(path, token=people.stranger.token)
    assert (theirs.status, theirs.json()["data"]) == (200, [])
    assert world.api.get(path).status == 401
