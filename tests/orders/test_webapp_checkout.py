"""A free ticket bought the way the web app does it: create-order, then PATCH each attendee
with every field of its Ember model, then PATCH the order echoing every order attribute."""

from tests.conftest import error_of

ATTENDEE_ECHO = {
    "same-as-buyer": False, "city": "Berlin", "firstname": "Ada", "lastname": "Lovelace",
    "is-checked-in": False, "checkin-times": None, "checkout-times": None, "state": "BE",
    "address": "Unter den Linden 1", "pdf-url": None, "country": "DE",
    "email": "ada@example.com", "job-title": "Engineer", "phone": "+49 30 1234",
    "company": "Analytical Engines", "tax-business-info": None, "billing-address": None,
    "home-address": None, "shipping-address": None, "work-address": None,
    "work-phone": None, "website": "https://ada.example.com", "blog": None,
    "twitter": "https://twitter.com/ada", "facebook": None, "github": "https://github.com/ada",
    "instagram": None, "linkedin": None, "gender": "female", "age-group": "30-39",
    "accept-receive-emails": True, "accept-video-recording": True,
    "accept-share-details": True, "birth-date": None, "complex-field-values": None,
    "is_consent_of_refund_policy": False, "native_language": None, "fluent_language": None,
    "home_wiki": None, "is_consent_form_field": False, "is_consent_form_field_photo": False,
    "is_consent_form_field_email": False, "wiki_scholarship": None, "tag-id": None,
}


def test_free_ticket_checkout_as_the_web_app_sends_it(world, people, shop):
    created = world.checkout(people.buyer, [(shop.free, 1)])
    assert created.status == 201, created.body
    order = created.json()["data"]
    ident = order["attributes"]["identifier"]
    attendee_id = order["relationships"]["attendees"]["data"][0]["id"]
    resp = world.api.patch(f"/v1/attendees/{attendee_id}", {"data": {
        "type": "attendee", "id": attendee_id, "attributes": ATTENDEE_ECHO,
        "relationships": {"ticket": {"data": {"type": "ticket", "id": str(shop.free.id)}},
                          "event": {"data": {"type": "event", "id": str(shop.event.id)}}}}},
        token=people.buyer.token)
    assert resp.status == 200, resp.body
    stored = resp.json()["data"]["attributes"]
    assert (stored["job-title"], stored["github"], stored["age-group"]) == (
        "Engineer", "https://github.com/ada", "30-39")
    again = world.api.get(f"/v1/attendees/{attendee_id}", token=people.buyer.token).json()
    assert again["data"]["attributes"]["twitter"] == "https://twitter.com/ada"

    echo = dict(order["attributes"])
    echo.update({"status": "completed", "exp-month": None, "exp-year": None, "brand": None,
                 "last4": None, "is-billing-enabled": False})
    resp = world.api.patch(f"/v1/orders/{ident}", {"data": {
        "type": "order", "id": order["id"], "attributes": echo}}, token=people.buyer.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"]["attributes"]["status"] == "completed"


def test_an_attendee_field_of_the_wrong_type_is_422_naming_it(world, people, shop):
    order = world.checkout(people.buyer, [(shop.free, 1)]).json()["data"]
    attendee_id = order["relationships"]["attendees"]["data"][0]["id"]
    resp = world.api.patch(f"/v1/attendees/{attendee_id}", {"data": {
        "type": "attendee", "id": attendee_id, "attributes": {"accept-share-details": "y"}}},
        token=people.buyer.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/accept-share-details"


def test_changing_the_amount_is_still_refused(world, people, shop):
    order = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    resp = world.api.patch(f"/v1/orders/{order['attributes']['identifier']}", {"data": {
        "type": "order", "id": order["id"], "attributes": {"amount": 1}}},
        token=people.buyer.token)
    assert resp.status == 403


def test_the_buyer_includes_their_own_profile_on_their_order(world, people, shop):
    order = world.checkout(people.buyer, [(shop.free, 1)]).json()["data"]
    resp = world.api.get(f"/v1/orders/{order['attributes']['identifier']}?include=user",
                         token=people.buyer.token)
    assert resp.status == 200, resp.body
    assert [(r["type"], r["id"]) for r in resp.json()["included"]] == [
        ("user", str(people.buyer.id))]


def test_organizer_lists_filter_and_sort_as_the_app_sends_them(world, people, shop):
    import json
    from urllib.parse import quote

    world.checkout(people.buyer, [(shop.free, 1)])
    orders = [{"name": "discount_code_id", "op": "isnot", "val": None}]
    resp = world.api.get(f"/v1/events/{shop.event.id}/orders?filter="
                         + quote(json.dumps(orders)), token=people.owner.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"] == []
    attendees = [{"name": "order", "op": "has", "val": {"name": "status", "op": "eq",
                                                       "val": "initializing"}},
                 {"name": "is-checked-in", "op": "eq", "val": False}]
    resp = world.api.get(f"/v1/events/{shop.event.id}/attendees?include=user,ticket"
                         "&sort=-order.completed-at&filter=" + quote(json.dumps(attendees)),
                         token=people.owner.token)
    assert resp.status == 200, resp.body
    assert len(resp.json()["data"]) == 1


def test_my_tickets_query_as_the_app_sends_it(world, people, shop):
    import json
    from urllib.parse import quote

    order = world.checkout(people.buyer, [(shop.free, 1)]).json()["data"]
    spec = [{"and": [
        {"name": "event", "op": "has", "val": {"name": "starts-at", "op": "ge",
                                               "val": "2020-01-01T00:00:00.000Z"}},
        {"or": [{"name": "status", "op": "eq", "val": "pending"},
                {"name": "status", "op": "eq", "val": "initializing"}]},
        {"name": "event", "op": "has", "val": {"name": "deleted-at", "op": "eq",
                                               "val": None}}]}]
    resp = world.api.get(f"/v1/users/{people.buyer.id}/orders?include=event,attendees.ticket,"
                         "user&sort=event.starts-at&page[size]=10&page[number]=1&filter="
                         + quote(json.dumps(spec)), token=people.buyer.token)
    assert resp.status == 200, resp.body
    assert [o["id"] for o in resp.json()["data"]] == [order["id"]]
    assert {r["type"] for r in resp.json()["included"]} == {"event", "attendee", "ticket",
                                                            "user"}


def _pending_paid_order(world, people, shop):
    created = world.checkout(people.buyer, [(shop.paid, 1)])
    assert created.status == 201, created.body
    order = created.json()["data"]
    attendee_id = order["relationships"]["attendees"]["data"][0]["id"]
    world.api.patch(f"/v1/attendees/{attendee_id}", {"data": {
        "type": "attendee", "id": attendee_id,
        "attributes": {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"}}},
        token=people.buyer.token)
    ident = order["attributes"]["identifier"]
    resp = world.api.patch(f"/v1/orders/{ident}", {"data": {
        "type": "order", "id": order["id"], "attributes": {"status": "pending"}}},
        token=people.buyer.token)
    assert resp.status == 200, resp.body
    return resp.json()["data"]


def _buyer_patch(world, people, order, **attrs):
    echo = dict(order["attributes"])
    echo.update(attrs)
    return world.api.patch(f"/v1/orders/{order['attributes']['identifier']}", {"data": {
        "type": "order", "id": order["id"], "attributes": echo}}, token=people.buyer.token)


def test_buyer_places_an_onsite_order_as_the_payment_page_does(world, people, shop):
    order = _pending_paid_order(world, people, shop)
    chosen = _buyer_patch(world, people, order, **{"payment-mode": "onsite"})
    assert chosen.status == 200, chosen.body
    placed = _buyer_patch(world, people, chosen.json()["data"], status="placed")
    assert placed.status == 200, placed.body
    attrs = placed.json()["data"]["attributes"]
    assert (attrs["status"], attrs["payment-mode"]) == ("placed", "onsite")
    stored = world.order(order["id"])
    assert stored.hold_bucket is None  # no longer expires; the organizer completes or cancels
    assert world.ticket_state(shop.paid).seats_taken == 1
    again = _buyer_patch(world, people, placed.json()["data"], status="completed")
    assert again.status == 403  # only the organizer marks the money as received


def test_buyer_cannot_place_an_order_to_be_paid_online(world, people, shop):
    order = _pending_paid_order(world, people, shop)
    chosen = _buyer_patch(world, people, order, **{"payment-mode": "stripe"})
    assert chosen.status == 200, chosen.body
    placed = _buyer_patch(world, people, chosen.json()["data"], status="placed")
    assert placed.status == 403
    assert error_of(placed)["source"]["pointer"] == "/data/attributes/status"
    assert world.order(order["id"]).status == "pending"


def test_buyer_cannot_place_by_a_mode_the_event_does_not_accept(world, people, shop):
    order = _pending_paid_order(world, people, shop)  # the shop takes onsite, not bank
    placed = _buyer_patch(world, people, order, status="placed", **{"payment-mode": "bank"})
    assert placed.status == 422
    assert error_of(placed)["source"]["pointer"] == "/data/attributes/payment-mode"
    assert world.order(order["id"]).status == "pending"


def test_stranger_cannot_place_the_buyers_order(world, people, shop):
    order = _pending_paid_order(world, people, shop)
    resp = world.api.patch(f"/v1/orders/{order['attributes']['identifier']}", {"data": {
        "type": "order", "id": order["id"],
        "attributes": {"status": "placed", "payment-mode": "onsite"}}},
        token=people.stranger.token)
    assert resp.status == 403
    assert world.order(order["id"]).status == "pending"
