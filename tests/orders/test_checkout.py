"""calculate-amount, create-order, completion by the buyer, expiry, statistics."""

import json
from datetime import timedelta

import boto3
from openevent.models.base import now
from openevent.settings import get_settings

from tests.conftest import error_of
from tests.orders.conftest import patch_doc


def test_calculate_amount_shape_with_discount_and_added_tax(world, people, shop):
    world.code(shop.event, [shop.paid], code="TEN", type="percent", value=10)
    world.tax(shop.event, "19", included=False)
    resp = world.api.post_json("/v1/orders/calculate-amount", {
        "tickets": [{"id": shop.paid.id, "quantity": 3}, {"id": shop.free.id, "quantity": 1}],
        "discount-code": "ten"})
    assert resp.status == 200
    assert resp.json() == {
        "sub_total": 27.0, "total": 32.13, "discount": 3.0,
        "tax": {"included": False, "amount": 5.13, "percent": 19.0, "name": "VAT"},
        "tickets": [
            {"id": shop.paid.id, "name": "Paid", "price": 10.0, "quantity": 3,
             "sub_total": 27.0,
             "discount": {"code": "TEN", "percent": 10.0, "amount": 1.0, "total": 3.0}},
            {"id": shop.free.id, "name": "Free", "price": 0.0, "quantity": 1,
             "sub_total": 0.0, "discount": None}]}


def test_calculate_amount_included_tax_rounds_half_up(world, shop):
    world.tax(shop.event, "7", included=True)
    resp = world.api.post_json("/v1/orders/calculate-amount",
                               {"tickets": [{"id": shop.paid.id, "quantity": 1}]})
    body = resp.json()
    assert (body["total"], body["tax"]["amount"], body["tax"]["included"]) == (10.0, 0.65, True)


def test_calculate_amount_donation_price_bounds(world, people, shop):
    gift = world.ticket(shop.event, name="Gift", type="donation", min_price=5, max_price=50)
    ok = world.api.post_json("/v1/orders/calculate-amount",
                             {"tickets": [{"id": gift.id, "quantity": 2, "price": 12.5}]})
    assert ok.json()["total"] == 25.0
    bad = world.api.post_json("/v1/orders/calculate-amount",
                              {"tickets": [{"id": gift.id, "quantity": 1, "price": 1}]})
    assert bad.status == 422


def test_create_order_makes_blank_attendees_and_holds_seats(world, people, shop):
    resp = world.checkout(people.buyer, [(shop.paid, 2)])
    assert resp.status == 201
    data = resp.json()["data"]
    assert (data["attributes"]["status"], data["attributes"]["amount"]) == ("initializing", 20.0)
    assert len(data["relationships"]["attendees"]["data"]) == 2
    assert world.ticket_state(shop.paid).seats_taken == 2
    att = world.api.get(f"/v1/orders/{data['attributes']['identifier']}/attendees",
                        token=people.buyer.token).json()["data"]
    assert [a["attributes"]["firstname"] for a in att] == [None, None]


def test_create_order_needs_login(world, shop):
    resp = world.api.post_json("/v1/orders/create-order",
                               {"tickets": [{"id": shop.paid.id, "quantity": 1}]})
    assert resp.status == 401


def test_create_order_sold_out_is_409_and_writes_nothing(world, people, shop):
    resp = world.checkout(people.buyer, [(shop.free, 1), (shop.paid, 6)])
    assert resp.status == 409
    assert world.ticket_state(shop.free).seats_taken == 0
    from openevent.models.orders import Order

    assert list(Order.user_index.query(people.buyer.id)) == []


def test_zero_order_completion_names_missing_attendee_fields(world, people, shop):
    order = world.checkout(people.buyer, [(shop.free, 1)]).json()["data"]
    resp = world.api.patch(f"/v1/orders/{order['attributes']['identifier']}",
                           patch_doc(order, status="completed"), token=people.buyer.token)
    assert resp.status == 422
    err = error_of(resp)
    aid = order["relationships"]["attendees"]["data"][0]["id"]
    assert err["detail"] == (f"Missing required attendee fields: attendee {aid}: firstname, "
                             f"attendee {aid}: lastname, attendee {aid}: email")
    assert err["source"]["pointer"] == "/data/relationships/attendees"


def test_buyer_fills_attendees_then_completes_zero_order(world, people, shop, outbox):
    order = world.checkout(people.buyer, [(shop.free, 1)]).json()["data"]
    ident = order["attributes"]["identifier"]
    aid = order["relationships"]["attendees"]["data"][0]["id"]
    resp = world.api.patch(f"/v1/attendees/{aid}", {"data": {"type": "attendee", "id": aid,
                           "attributes": {"firstname": "Grace", "lastname": "Hopper",
                                          "email": "grace@example.com"}}},
                           token=people.buyer.token)
    assert resp.status == 200
    resp = world.api.patch(f"/v1/orders/{ident}", patch_doc(order, status="completed"),
                           token=people.buyer.token)
    assert resp.status == 200
    assert resp.json()["data"]["attributes"]["status"] == "completed"
    s3 = boto3.client("s3", region_name="us-east-1")
    manifest = json.loads(s3.get_object(Bucket=get_settings().documents_bucket,
                                        Key=f"manifests/{ident}.json")["Body"].read())
    assert (manifest["identifier"], manifest["status"], manifest["attendees"][0]["firstname"]) \
        == (ident, "completed", "Grace")
    mails = list(outbox.glob("*.eml"))
    assert len(mails) == 1 and people.buyer.email in mails[0].read_text()


def test_buyer_cannot_complete_a_paid_order(world, people, shop):
    order = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    resp = world.api.patch(f"/v1/orders/{order['id']}", patch_doc(order, status="completed"),
                           token=people.buyer.token)
    assert resp.status == 403


def test_sweeper_expires_due_orders_once_and_releases_seats(world, people, shop):
    from openevent.orders.lifecycle import expire_due_orders

    code = world.code(shop.event, [shop.paid], tickets_number=5)
    order = world.checkout(people.buyer, [(shop.paid, 2)],
                           **{"discount-code": code.id}).json()["data"]
    world.attendee(people.buyer, shop.event, shop.paid)
    assert world.ticket_state(shop.paid).seats_taken == 3
    assert expire_due_orders() == {"orders": 0, "attendees": 0}
    later = now() + timedelta(minutes=16)
    assert expire_due_orders(later) == {"orders": 1, "attendees": 1}
    assert expire_due_orders(later) == {"orders": 0, "attendees": 0}
    assert world.order(order["id"]).status == "expired"
    assert world.ticket_state(shop.paid).seats_taken == 0
    assert world.code_state(code).used_count == 0


def test_reading_an_overdue_order_expires_it(world, people, shop):
    from openevent.models.orders import Order

    order = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]
    Order(int(order["id"])).update(actions=[Order.expires_at.set(now() - timedelta(seconds=1))])
    resp = world.api.get(f"/v1/orders/{order['id']}", token=people.buyer.token)
    assert resp.json()["data"]["attributes"]["status"] == "expired"
    assert world.ticket_state(shop.paid).seats_taken == 0


def test_order_expiry_time_comes_from_settings(world, people, shop):
    world.settings(order_expiry_time=5)
    order = world.order(world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]["id"])
    minutes = (order.expires_at - order.created_at).total_seconds() / 60
    assert round(minutes) == 5


def test_order_statistics(world, people, shop):
    world.checkout(people.buyer, [(shop.paid, 2)])
    aid = world.attendee(people.buyer, shop.event, shop.free).json()["data"]["id"]
    world.classic_order(people.buyer, shop.event, [aid])
    assert world.api.get(f"/v1/events/{shop.event.id}/order-statistics",
                         token=people.buyer.token).status == 403
    resp = world.api.get(f"/v1/events/{shop.event.identifier}/order-statistics",
                         token=people.coorganizer.token)
    assert resp.status == 200
    data = resp.json()["data"]
    assert data["type"] == "order-statistics-event"
    assert data["attributes"]["tickets"] == {"total": 3, "draft": 2, "cancelled": 0,
                                             "pending": 0, "expired": 0, "placed": 0,
                                             "completed": 1}
    assert data["attributes"]["sales"]["draft"] == 20.0
    resp = world.api.get(f"/v1/tickets/{shop.paid.id}/order-statistics",
                         token=people.owner.token)
    assert resp.json()["data"]["type"] == "order-statistics-ticket"
    assert resp.json()["data"]["attributes"]["orders"]["total"] == 1
