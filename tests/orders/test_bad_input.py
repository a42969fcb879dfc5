"""Bad input on every route of the orders group is a 4xx in the contract's format, and leaves
no order, attendee or counter behind."""

import pytest

GARBAGE = [b"", b"{", b"[]", b"null", b'{"data": 1}', b'{"data": {"type": "order"}}',
           b'{"data": {"type": "attendee", "attributes": {"email": 5}}}',
           b'{"tickets": "x"}', b'{"tickets": [{"id": "abc", "quantity": -1}]}',
           b'{"tickets": [{"id": 1, "quantity": 1.5}]}',
           b'{"tickets": [{"id": 99999, "quantity": 1}], "discount-code": "x"}',
           b'{"data": {"type": "charge", "attributes": {"stripe": 7}}}',
           b'{"data": {"type": "order", "id": "1", "attributes": {"status": "bogus"}}}',
           b'{"data": {"type": "order", "relationships": {"event": {"data": 5}}}}']


def _routes(order, aid, shop):
    ident = order["attributes"]["identifier"]
    return [("POST", "/v1/attendees"), ("PATCH", f"/v1/attendees/{aid}"),
            ("POST", "/v1/orders"), ("POST", "/v1/orders/calculate-amount"),
            ("POST", "/v1/orders/create-order"), ("PATCH", f"/v1/orders/{ident}"),
            ("DELETE", f"/v1/orders/{ident}"), ("POST", f"/v1/orders/{ident}/charge"),
            ("POST", f"/v1/orders/{ident}/create-paypal-payment"),
            ("POST", "/v1/webhooks/stripe"), ("POST", "/v1/webhooks/paypal"),
            ("GET", "/v1/orders/abc/attendees"), ("GET", "/v1/attendees/x1"),
            ("GET", "/v1/tickets/x/attendees"), ("GET", "/v1/users/x/orders"),
            ("GET", f"/v1/events/{shop.event.id}/orders?page[size]=x"),
            ("GET", f"/v1/events/{shop.event.id}/orders?filter=notjson")]


@pytest.mark.slow
def test_bad_input_is_4xx_and_writes_nothing(world, people, shop):
    from openevent.models.orders import Attendee, Order

    order = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    aid = order["relationships"]["attendees"]["data"][0]["id"]
    before = (world.ticket_state(shop.paid).seats_taken, Order.count(), Attendee.count())
    for method, path in _routes(order, aid, shop):
        for body in GARBAGE:
            for ctype in ("application/vnd.api+json", "application/json", "text/plain"):
                token = people.stranger.token if "/attendees/" in path else people.buyer.token
                resp = world.api.request(method, path, body=body, token=token,
                                         headers={"Content-Type": ctype})
                assert 400 <= resp.status < 500, (method, path, body, resp.status, resp.body)
                if method != "GET":
                    err = resp.json()["errors"][0]
                    assert isinstance(err["status"], int) and err["title"]
    after = (world.ticket_state(shop.paid).seats_taken, Order.count(), Attendee.count())
    assert after == before
    assert world.order(order["id"]).status == "initializing"
