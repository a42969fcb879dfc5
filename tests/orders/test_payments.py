"""Charge, verify, webhooks, refunds — against the Stripe and PayPal fakes."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from openevent.models.base import now

from tests.conftest import error_of


def _paid_order(world, people, shop, mode, seats=1):
    ids = [world.attendee(people.buyer, shop.event, shop.paid).json()["data"]["id"]
           for _ in range(seats)]
    resp = world.classic_order(people.buyer, shop.event, ids, **{"payment-mode": mode})
    assert resp.status == 201, resp.body
    return resp.json()["data"]


def _charge(world, people, order, **attrs):
    return world.api.post(f"/v1/orders/{order['attributes']['identifier']}/charge",
                          {"data": {"type": "charge", "attributes": attrs}},
                          token=people.buyer.token)


def _stripe_webhook(world, stripe, kind, obj):
    payload = json.dumps(stripe.event(kind, obj, stripe.account)).encode()
    return world.api.request("POST", "/v1/webhooks/stripe", body=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe.sign(payload)})


def test_stripe_order_gets_a_checkout_session_url(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    assert order["attributes"]["payment-url"].startswith(f"{stripe.base_url}/c/pay/cs_test_")


def test_stripe_token_charge_completes_the_order(world, people, shop, stripe, outbox):
    order = _paid_order(world, people, shop, "stripe")
    resp = _charge(world, people, order, stripe="tok_visa")
    assert resp.status == 200
    assert resp.json()["data"]["attributes"] == {"status": True, "message": "Charge successful"}
    stored = world.order(order["id"])
    assert (stored.status, stored.paid_via) == ("completed", "stripe")
    assert stored.transaction_id.startswith("ch_")
    assert len(list(outbox.glob("*.eml"))) == 1


def test_declined_card_answers_status_false(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    resp = _charge(world, people, order, stripe="tok_chargeDeclined")
    assert resp.status == 200
    assert resp.json()["data"]["attributes"] == {"status": False,
                                                 "message": "Your card was declined."}
    assert world.order(order["id"]).status == "pending"


def test_charge_with_an_empty_token_is_422(world, people, shop, stripe):
    """No `stripe` at all asks for a PaymentIntent (tests/orders/test_payment_intents.py);
    an empty one is a mistake."""
    order = _paid_order(world, people, shop, "stripe")
    resp = _charge(world, people, order, stripe=" ")
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/stripe"


def test_charge_of_completed_order_is_409(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    assert _charge(world, people, order, stripe="tok_visa").status == 200
    assert _charge(world, people, order, stripe="tok_visa").status == 409


def test_charge_of_free_order_is_409(world, people, shop):
    aid = world.attendee(people.buyer, shop.event, shop.free).json()["data"]["id"]
    order = world.classic_order(people.buyer, shop.event, [aid],
                                status="pending").json()["data"]
    assert _charge(world, people, order, stripe="tok_visa").status == 409


def test_charge_by_stranger_is_403(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    resp = world.api.post(f"/v1/orders/{order['id']}/charge",
                          {"data": {"type": "charge", "attributes": {"stripe": "tok_visa"}}},
                          token=people.stranger.token)
    assert resp.status == 403


def test_stripe_webhook_with_bad_signature_is_400(world, people, shop, stripe):
    payload = json.dumps(stripe.event("checkout.session.completed", {"id": "cs_x"})).encode()
    resp = world.api.request("POST", "/v1/webhooks/stripe", body=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=deadbeef"})
    assert resp.status == 400


def test_ten_concurrent_webhook_replays_complete_once(world, people, shop, stripe, outbox):
    order = _paid_order(world, people, shop, "stripe")
    session_id = world.order(order["id"]).stripe_session_id
    session = stripe.complete_checkout(session_id, send_webhook=False)
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: _stripe_webhook(world, stripe,
                                                          "checkout.session.completed",
                                                          session), range(10)))
    assert [r.status for r in results] == [200] * 10
    applied = sorted(r.json()["applied"] for r in results)
    assert applied == ["completed"] + ["duplicate"] * 9
    assert world.order(order["id"]).status == "completed"
    assert len(list(outbox.glob("*.eml"))) == 1


def test_verify_rechecks_the_checkout_session(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    resp = world.api.post_json(f"/v1/orders/{order['id']}/verify", {}, token=people.buyer.token)
    assert resp.json() == {"payment_status": "pending"}
    stripe.complete_checkout(world.order(order["id"]).stripe_session_id, send_webhook=False)
    resp = world.api.post_json(f"/v1/orders/{order['id']}/verify", {}, token=people.buyer.token)
    assert resp.json() == {"payment_status": "completed"}


def test_late_payment_of_expired_order_retakes_free_seats(world, people, shop, stripe):
    from openevent.orders.lifecycle import expire_due_orders

    order = _paid_order(world, people, shop, "stripe")
    expire_due_orders(now() + timedelta(minutes=20))
    assert world.ticket_state(shop.paid).seats_taken == 0
    session = stripe.complete_checkout(world.order(order["id"]).stripe_session_id,
                                       send_webhook=False)
    resp = _stripe_webhook(world, stripe, "checkout.session.completed", session)
    assert resp.json()["applied"] == "completed"
    assert world.order(order["id"]).status == "completed"
    assert world.ticket_state(shop.paid).seats_taken == 1


def test_late_payment_of_expired_order_without_seats_is_refunded(world, people, shop, stripe,
                                                                 outbox):
    from openevent.orders.lifecycle import expire_due_orders

    order = _paid_order(world, people, shop, "stripe")
    expire_due_orders(now() + timedelta(minutes=20))
    for _ in range(5):
        world.attendee(people.stranger, shop.event, shop.paid)
    session = stripe.complete_checkout(world.order(order["id"]).stripe_session_id,
                                       send_webhook=False)
    resp = _stripe_webhook(world, stripe, "checkout.session.completed", session)
    assert resp.json()["applied"] == "refunded"
    assert world.order(order["id"]).status == "expired"
    assert world.ticket_state(shop.paid).seats_taken == 5
    charge = stripe.get_object(stripe.get_object(session["payment_intent"])["latest_charge"])
    assert charge["refunded"] is True
    assert any("refunded" in m.read_text() for m in outbox.glob("*.eml"))


def test_cancelling_a_paid_order_refunds_it_and_mails_the_note(world, people, shop, stripe,
                                                               outbox):
    order = _paid_order(world, people, shop, "stripe")
    _charge(world, people, order, stripe="tok_visa")
    resp = world.api.delete(f"/v1/orders/{order['id']}", {"data": {
        "type": "order", "id": order["id"], "attributes": {"cancel-note": "Event moved"}}},
        token=people.owner.token)
    assert resp.status == 200
    stored = world.order(order["id"])
    assert (stored.status, stored.cancel_note) == ("cancelled", "Event moved")
    assert stripe.get_object(stored.stripe_charge_id)["refunded"] is True
    assert world.ticket_state(shop.paid).seats_taken == 0
    assert any("Event moved" in m.read_text() for m in outbox.glob("*.eml"))


def test_patch_status_cancelled_with_note_cancels(world, people, shop):
    aid = world.attendee(people.buyer, shop.event, shop.paid).json()["data"]["id"]
    order = world.classic_order(people.buyer, shop.event, [aid],
                                **{"payment-mode": "onsite"}).json()["data"]
    resp = world.api.patch(f"/v1/orders/{order['id']}", {"data": {
        "type": "order", "id": order["id"],
        "attributes": {"status": "cancelled", "cancel-note": "No"}}}, token=people.owner.token)
    assert resp.status == 200
    assert resp.json()["data"]["attributes"]["cancel-note"] == "No"
    assert world.ticket_state(shop.paid).seats_taken == 0


@pytest.mark.slow
def test_paypal_charge_completes_the_order(world, people, shop, paypal):
    order = _paid_order(world, people, shop, "paypal")
    url = order["attributes"]["payment-url"]
    assert url.startswith(f"{paypal.base_url}/checkoutnow?token=")
    paypal_id = url.split("token=")[1]
    resp = _charge(world, people, order, **{"paypal-payer-id": "P1",
                                            "paypal-payment-id": paypal_id})
    assert resp.json()["data"]["attributes"] == {
        "status": False, "message": "The payer has not approved the payment yet"}
    paypal.approve_order(paypal_id)
    resp = _charge(world, people, order, **{"paypal-payer-id": "P1",
                                            "paypal-payment-id": paypal_id})
    assert resp.json()["data"]["attributes"]["status"] is True
    assert world.order(order["id"]).paid_via == "paypal"


def test_paypal_charge_without_ids_is_422(world, people, shop, paypal):
    order = _paid_order(world, people, shop, "paypal")
    resp = _charge(world, people, order, **{"paypal-payer-id": "P1"})
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/paypal-payment-id"


@pytest.mark.slow
def test_paypal_webhook_replays_complete_once(world, people, shop, paypal):
    order = _paid_order(world, people, shop, "paypal")
    paypal_id = world.order(order["id"]).paypal_order_id
    approved = paypal.approve_order(paypal_id)
    body = json.dumps(paypal.event("CHECKOUT.ORDER.APPROVED", approved)).encode()
    results = [world.api.request("POST", "/v1/webhooks/paypal", body=body, headers={
        "Content-Type": "application/json", **paypal.signed_headers(body)}) for _ in range(3)]
    assert [r.json()["applied"] for r in results] == ["completed", "duplicate", "duplicate"]
    bad = world.api.request("POST", "/v1/webhooks/paypal", body=body + b" ", headers={
        "Content-Type": "application/json", **paypal.signed_headers(body)})
    assert bad.status == 400


def test_create_paypal_payment(world, people, shop, paypal):
    order = _paid_order(world, people, shop, "paypal")
    resp = world.api.post_json(f"/v1/orders/{order['id']}/create-paypal-payment", {
        "data": {"attributes": {"return-url": "http://frontend.test/ok",
                                "cancel-url": "http://frontend.test/no"}}},
        token=people.buyer.token)
    assert resp.status == 200
    assert resp.json()["status"] is True
    assert resp.json()["payment_id"] in paypal.orders
