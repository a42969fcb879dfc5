"""Orders and attendees through relationships (issue 9, item 13), from the attacker's side:
an `include=` shows an order only to whom `GET /v1/orders/<id>` shows it."""

from __future__ import annotations

from tests.orders.conftest import attendee_doc, order_doc


def test_hold_creator_does_not_read_an_organizers_order_through_the_attendee(
        api, people, shop):
    """A stranger's seat hold, taken into an order the co-organizer placed: the stranger
    still manages the attendee, but the order (billing details, amount) is not theirs."""
    held = api.post("/v1/attendees", attendee_doc(shop.event, shop.free, firstname="S",
                                                  lastname="T", email="s@example.com"),
                    token=people.stranger.token)
    assert held.status == 201, held.body
    aid = held.json()["data"]["id"]
    order = api.post("/v1/orders", order_doc(shop.event, [aid], company="Secret Corp",
                                             address="1 Private Road"),
                     token=people.coorganizer.token)
    assert order.status == 201, order.body
    identifier = order.json()["data"]["attributes"]["identifier"]
    assert api.get(f"/v1/orders/{identifier}", token=people.stranger.token).status == 403
    resp = api.get(f"/v1/attendees/{aid}?include=order", token=people.stranger.token)
    assert resp.status == 200
    assert resp.json().get("included", []) == []
    assert "Secret Corp" not in resp.body.decode()
    assert api.get(f"/v1/attendees/{aid}/order", token=people.stranger.token).status == 403


def test_buyer_still_includes_their_own_order_and_attendees(api, people, shop):
    held = api.post("/v1/attendees", attendee_doc(shop.event, shop.free, firstname="B",
                                                  lastname="Y", email="b@example.com"),
                    token=people.buyer.token)
    aid = held.json()["data"]["id"]
    order = api.post("/v1/orders", order_doc(shop.event, [aid]), token=people.buyer.token)
    identifier = order.json()["data"]["attributes"]["identifier"]
    body = api.get(f"/v1/attendees/{aid}?include=order", token=people.buyer.token).json()
    assert [i["type"] for i in body["included"]] == ["order"]
    body = api.get(f"/v1/orders/{identifier}?include=attendees,event,tickets",
                   token=people.buyer.token).json()
    assert sorted(i["type"] for i in body["included"]) == ["attendee", "event", "ticket"]
    me = api.get(f"/v1/users/{people.buyer.id}?include=orders", token=people.buyer.token)
    assert [i["type"] for i in me.json()["included"]] == ["order"]


def test_organizer_sees_the_buyer_of_their_orders_but_not_the_owner(api, people, shop):
    held = api.post("/v1/attendees", attendee_doc(shop.event, shop.free, firstname="B",
                                                  lastname="Y", email="b@example.com"),
                    token=people.buyer.token)
    aid = held.json()["data"]["id"]
    api.post("/v1/orders", order_doc(shop.event, [aid]), token=people.buyer.token)
    resp = api.get(f"/v1/events/{shop.event.id}/orders?include=user,attendees,event.owner",
                   token=people.coorganizer.token)
    assert resp.status == 200
    included = resp.json()["included"]
    assert sorted({i["type"] for i in included}) == ["attendee", "event", "user"]
    users = [i for i in included if i["type"] == "user"]
    assert [u["id"] for u in users] == [str(people.buyer.id)]  # the buyer, not the owner


def test_buyer_profile_is_not_shown_through_an_order_of_another_event(api, people, shop, world):
    """An organizer of another event sees no buyer of this one, whatever path they take."""
    other = world.event(people.stranger)
    held = api.post("/v1/attendees", attendee_doc(shop.event, shop.free, firstname="B",
                                                  lastname="Y", email="b@example.com"),
                    token=people.buyer.token)
    order = api.post("/v1/orders", order_doc(shop.event, [held.json()["data"]["id"]]),
                     token=people.buyer.token).json()["data"]
    for path in (f"/v1/orders/{order['id']}?include=user", f"/v1/orders/{order['id']}/user",
                 f"/v1/events/{other.id}/orders?include=user"):
        resp = api.get(path, token=people.stranger.token)
        assert people.buyer.email not in resp.body.decode(), path
