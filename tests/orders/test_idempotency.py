"""A retried request never books twice (issue 9, item 19): `Idempotency-Key` on create-order,
POST /v1/orders, POST /v1/attendees and charge — same key and body: the first answer; another
body: 422; another caller's key: theirs alone."""

from __future__ import annotations

import json

from tests.conftest import error_of
from tests.orders.conftest import attendee_doc, order_doc
from tests.orders.test_payments import _paid_order

JSONAPI = "application/vnd.api+json"


def _send(world, path, body, token, key, content_type="application/json"):
    return world.api.request("POST", path, body=json.dumps(body).encode(), headers={
        "Content-Type": content_type, "Authorization": f"JWT {token}",
        "Idempotency-Key": key})


def test_retried_create_order_books_once(world, people, shop):
    body = {"tickets": [{"id": shop.paid.id, "quantity": 2}]}
    first = _send(world, "/v1/orders/create-order", body, people.buyer.token, "k-123")
    again = _send(world, "/v1/orders/create-order", body, people.buyer.token, "k-123")
    assert (first.status, again.status) == (201, 201)
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert world.ticket_state(shop.paid).seats_taken == 2


def test_same_key_with_another_body_is_422(world, people, shop):
    _send(world, "/v1/orders/create-order", {"tickets": [{"id": shop.paid.id, "quantity": 1}]},
          people.buyer.token, "k-1")
    other = _send(world, "/v1/orders/create-order",
                  {"tickets": [{"id": shop.paid.id, "quantity": 3}]}, people.buyer.token, "k-1")
    assert other.status == 422
    assert error_of(other)["source"] == {"parameter": "Idempotency-Key"}
    assert world.ticket_state(shop.paid).seats_taken == 1


def test_one_callers_key_never_answers_another(world, people, shop):
    body = {"tickets": [{"id": shop.paid.id, "quantity": 1}]}
    mine = _send(world, "/v1/orders/create-order", body, people.buyer.token, "shared")
    theirs = _send(world, "/v1/orders/create-order", body, people.stranger.token, "shared")
    assert theirs.status == 201
    assert theirs.json()["data"]["id"] != mine.json()["data"]["id"]
    assert world.ticket_state(shop.paid).seats_taken == 2


def test_without_a_key_each_request_books(world, people, shop):
    body = {"tickets": [{"id": shop.paid.id, "quantity": 1}]}
    world.api.post_json("/v1/orders/create-order", body, token=people.buyer.token)
    world.api.post_json("/v1/orders/create-order", body, token=people.buyer.token)
    assert world.ticket_state(shop.paid).seats_taken == 2


def test_retried_attendee_and_classic_order_book_once(world, people, shop):
    doc = attendee_doc(shop.event, shop.free, firstname="A", lastname="B", email="a@b.c")
    a1 = _send(world, "/v1/attendees", doc, people.buyer.token, "att-1", JSONAPI)
    a2 = _send(world, "/v1/attendees", doc, people.buyer.token, "att-1", JSONAPI)
    assert a1.json()["data"]["id"] == a2.json()["data"]["id"]
    assert world.ticket_state(shop.free).seats_taken == 1
    odoc = order_doc(shop.event, [a1.json()["data"]["id"]])
    o1 = _send(world, "/v1/orders", odoc, people.buyer.token, "ord-1", JSONAPI)
    o2 = _send(world, "/v1/orders", odoc, people.buyer.token, "ord-1", JSONAPI)
    assert (o1.status, o2.status) == (201, 201)
    assert o1.json()["data"]["id"] == o2.json()["data"]["id"]


def test_retried_charge_charges_once(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    path = f"/v1/orders/{order['attributes']['identifier']}/charge"
    body = {"data": {"type": "charge", "attributes": {"stripe": "tok_visa"}}}
    first = _send(world, path, body, people.buyer.token, "pay-1", JSONAPI)
    again = _send(world, path, body, people.buyer.token, "pay-1", JSONAPI)
    assert first.status == again.status == 200
    assert again.json() == first.json()
    charges = [o for _, o in stripe._objects.values() if o["object"] == "charge"]
    assert len(charges) == 1


def test_a_failed_request_is_not_remembered(world, people, shop):
    body = {"tickets": [{"id": shop.paid.id, "quantity": 9}]}  # only 5 seats
    assert _send(world, "/v1/orders/create-order", body, people.buyer.token, "k").status == 409
    ok = {"tickets": [{"id": shop.paid.id, "quantity": 9}]}
    shop.paid.update(actions=[type(shop.paid).quantity.set(20)])
    assert _send(world, "/v1/orders/create-order", ok, people.buyer.token, "k").status == 201



def test_one_key_on_two_routes_gives_two_answers(world, people, shop):
    """Issue 20, item 10: a key is scoped by the route template (API Gateway's
    `requestContext.resourcePath`), as in AWS: the same key on another route is another
    request — not a 422 for "another body" as when the scope was the method alone."""
    doc = attendee_doc(shop.event, shop.free, firstname="A", lastname="B", email="a@b.c")
    held = _send(world, "/v1/attendees", doc, people.buyer.token, "two-routes", JSONAPI)
    body = {"tickets": [{"id": shop.paid.id, "quantity": 1}]}
    order = _send(world, "/v1/orders/create-order", body, people.buyer.token, "two-routes")
    assert held.status == 201, held.body
    assert order.status == 201, order.body
    assert (held.json()["data"]["type"], order.json()["data"]["type"]) == ("attendee", "order")
    again = _send(world, "/v1/orders/create-order", body, people.buyer.token, "two-routes")
    assert again.json()["data"]["id"] == order.json()["data"]["id"]  # still a replay there
    assert world.ticket_state(shop.paid).seats_taken == 1


def test_the_local_gateway_gives_views_the_route_template(world, people, shop, monkeypatch):
    """What the key's scope reads: `request.context['resourcePath']` is the route template
    (e.g. /v1/orders/{order_ref}/charge), as API Gateway sets it — locally too."""
    import chalice.app

    seen: list[str | None] = []
    original = chalice.app.Request.__init__

    def spy(self, event_dict, *args, **kwargs):
        original(self, event_dict, *args, **kwargs)
        seen.append(self.context.get("resourcePath"))

    monkeypatch.setattr(chalice.app.Request, "__init__", spy)
    made = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    world.api.get(f"/v1/orders/{made['attributes']['identifier']}", token=people.buyer.token)
    assert seen == ["/v1/orders/create-order", "/v1/orders/{order_ref}"]
