"""The attacker's side of payments (issue 9, items 1-5): a foreign Stripe account, payments
without or with someone else's order metadata, a payment id reused for another order, cancel
racing a payment, refunds that fail, partial refunds, and replayed PayPal deliveries."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from tests.conftest import error_of, mails_to
from tests.orders.test_payments import _charge, _paid_order


def _stripe_api(stripe, path, account, **form):
    return requests.post(f"{stripe.base_url}{path}", data=form, timeout=10, headers={
        "Authorization": f"Bearer {stripe.secret_key}", "Stripe-Account": account}).json()


def _deliver(world, stripe, kind, obj, account):
    payload = json.dumps(stripe.event(kind, obj, account)).encode()
    return world.api.request("POST", "/v1/webhooks/stripe", body=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe.sign(payload)})


def _attacker_account(world, people, stripe):
    """The attacker organizes an event of their own and connects their own Stripe account
    to it: the platform's Connect webhook now receives their account's events."""
    from openevent.events.stripe_connect import authorize
    from openevent.models.users import User

    own = world.event(people.stranger, can_pay_by_stripe=True)
    return authorize(User.get(people.stranger.id), own, stripe.create_connect_code()
                     ).stripe_user_id


# --- 1. a Stripe payment must land in the event's own account ----------------------------

def test_payment_on_a_foreign_account_never_completes_the_order(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    ident = order["attributes"]["identifier"]
    acct = _attacker_account(world, people, stripe)
    charge = _stripe_api(stripe, "/v1/charges", acct, amount=1000, currency="usd",
                         source="tok_visa", **{"metadata[order_identifier]": ident})
    assert charge["status"] == "succeeded"
    resp = _deliver(world, stripe, "charge.succeeded", charge, acct)
    assert (resp.status, resp.json()["applied"]) == (200, "foreign account")
    assert world.order(order["id"]).status == "pending"


def test_event_from_a_foreign_account_claiming_the_event_account_is_refused(world, people, shop,
                                                                            stripe):
    """The envelope says the event's account but the charge lives on the attacker's: the
    re-check on the event's account does not find it."""
    order = _paid_order(world, people, shop, "stripe")
    acct = _attacker_account(world, people, stripe)
    charge = _stripe_api(stripe, "/v1/charges", acct, amount=1000, currency="usd",
                         source="tok_visa",
                         **{"metadata[order_identifier]": order["attributes"]["identifier"]})
    resp = _deliver(world, stripe, "charge.succeeded", charge, stripe.account)
    assert resp.json()["applied"] == "unknown payment"
    assert world.order(order["id"]).status == "pending"


def test_wrong_amount_or_currency_is_never_applied(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    ident = order["attributes"]["identifier"]
    for amount, currency in ((100, "usd"), (1000, "eur")):
        charge = _stripe_api(stripe, "/v1/charges", stripe.account, amount=amount,
                             currency=currency, source="tok_visa",
                             **{"metadata[order_identifier]": ident})
        resp = _deliver(world, stripe, "charge.succeeded", charge, stripe.account)
        assert resp.json()["applied"] == "refunded"
        assert stripe.get_object(charge["id"])["refunded"] is True
    assert world.order(order["id"]).status == "pending"


# --- 2. no order metadata, or another order's payment ------------------------------------

def test_charge_with_a_payment_naming_no_order_is_refused(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    with stripe.lock:
        pi = stripe._new_payment_intent(stripe.account, 1000, "usd", {}, None)
    resp = _charge(world, people, order, stripe=pi["id"])
    assert resp.status == 422
    assert "does not name this order" in error_of(resp)["detail"]
    assert world.order(order["id"]).status == "pending"


def test_one_payment_never_pays_two_orders(world, people, shop, stripe):
    first = _paid_order(world, people, shop, "stripe")
    second = _paid_order(world, people, shop, "stripe")
    session = world.order(first["id"]).stripe_session_id
    paid = stripe.complete_checkout(session, send_webhook=False)
    assert _charge(world, people, first, stripe=paid["payment_intent"]).status == 200
    resp = _charge(world, people, second, stripe=paid["payment_intent"])
    assert resp.status == 422
    assert "another order" in error_of(resp)["detail"]
    assert world.order(second["id"]).status == "pending"


# --- 3. cancel racing a payment ------------------------------------------------------------

def test_payment_landing_between_cancel_read_and_write_is_refunded(world, people, shop, stripe,
                                                                   outbox, monkeypatch):
    from openevent.orders import lifecycle as orders

    order = _paid_order(world, people, shop, "stripe")
    session = world.order(order["id"]).stripe_session_id
    real = orders.transition
    landed = []

    def payment_lands_first(current, to, **kw):
        if to == "cancelled" and not landed:
            landed.append(True)  # the webhook completes the order after cancel read it
            paid = stripe.complete_checkout(session, send_webhook=False)
            assert _deliver(world, stripe, "checkout.session.completed", paid,
                            stripe.account).json()["applied"] == "completed"
        return real(current, to, **kw)

    monkeypatch.setattr(orders, "transition", payment_lands_first)
    resp = world.api.delete(f"/v1/orders/{order['id']}", token=people.owner.token)
    assert resp.status == 200, resp.body
    stored = world.order(order["id"])
    assert stored.status == "cancelled" and stored.refund_id and stored.refunded_at
    assert stripe.get_object(stored.stripe_charge_id)["amount_refunded"] == 1000
    replay = _deliver(world, stripe, "checkout.session.completed",
                      stripe.get_object(session), stripe.account)
    assert replay.json()["applied"] == "duplicate"
    assert world.ticket_state(shop.paid).seats_taken == 0


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_cancel_and_payment_in_flight_at_once_never_keep_money(world, people, shop, stripe,
                                                               round_):
    order = _paid_order(world, people, shop, "stripe")
    session = world.order(order["id"]).stripe_session_id
    paid = stripe.complete_checkout(session, send_webhook=False)
    start = threading.Barrier(2)

    def cancel():
        start.wait()
        return world.api.delete(f"/v1/orders/{order['id']}", token=people.owner.token).status

    def webhook():
        start.wait()
        return _deliver(world, stripe, "checkout.session.completed", paid,
                        stripe.account).json()["applied"]

    with ThreadPoolExecutor(2) as pool:
        c, w = pool.submit(cancel), pool.submit(webhook)
        assert c.result() == 200
        assert w.result() in ("completed", "refunded")
    stored = world.order(order["id"])
    pi = stripe.get_object(paid["payment_intent"])
    assert stored.status == "cancelled"
    assert stripe.get_object(pi["latest_charge"])["amount_refunded"] == 1000  # every cent back
    assert world.ticket_state(shop.paid).seats_taken == 0


# --- 4. refunds are claimed only after the provider confirmed them ------------------------

def test_failed_refund_stays_pending_until_the_provider_confirms(world, people, shop, stripe,
                                                                 outbox, monkeypatch):
    from openevent.orders import payments
    from openevent.payments import errors as perr
    from openevent.payments.stripe_gateway import StripeGateway

    order = _paid_order(world, people, shop, "stripe")
    session = world.order(order["id"]).stripe_session_id
    assert world.api.delete(f"/v1/orders/{order['id']}", token=people.owner.token).status == 200
    paid = stripe.complete_checkout(session, send_webhook=False)  # a late payment

    def down(self, **kw):
        raise perr.ProviderUnavailable("stripe is down", provider="stripe")

    with monkeypatch.context() as m:
        m.setattr(StripeGateway, "refund", down)
        first = _deliver(world, stripe, "checkout.session.completed", paid, stripe.account)
        assert first.status == 503  # Stripe delivers again
        assert payments.retry_pending_refunds() == {"refunded": 0, "pending": 1}
    assert mails_to(outbox, people.buyer.email) == [] or all(
        "refunded" not in m["Subject"] for m in mails_to(outbox, people.buyer.email))
    pi = stripe.get_object(paid["payment_intent"])
    assert stripe.get_object(pi["latest_charge"])["amount_refunded"] == 0
    again = _deliver(world, stripe, "checkout.session.completed", paid, stripe.account)
    assert again.json()["applied"] == "refunded"
    assert stripe.get_object(pi["latest_charge"])["amount_refunded"] == 1000
    assert payments.retry_pending_refunds() == {"refunded": 0, "pending": 0}
    refunded = [m for m in mails_to(outbox, people.buyer.email)
                if "refunded" in m["Subject"]]
    assert len(refunded) == 1


def test_scheduled_job_retries_a_pending_refund(world, people, shop, stripe, outbox,
                                                monkeypatch):
    from openevent.orders import payments
    from openevent.payments import errors as perr
    from openevent.payments.stripe_gateway import StripeGateway

    order = _paid_order(world, people, shop, "stripe")
    session = world.order(order["id"]).stripe_session_id
    world.api.delete(f"/v1/orders/{order['id']}", token=people.owner.token)
    paid = stripe.complete_checkout(session, send_webhook=False)
    with monkeypatch.context() as m:
        m.setattr(StripeGateway, "refund", lambda self, **kw: (_ for _ in ()).throw(
            perr.ProviderUnavailable("down", provider="stripe")))
        _deliver(world, stripe, "checkout.session.completed", paid, stripe.account)
    assert payments.retry_pending_refunds() == {"refunded": 1, "pending": 0}
    pi = stripe.get_object(paid["payment_intent"])
    assert stripe.get_object(pi["latest_charge"])["amount_refunded"] == 1000


def test_cancel_whose_refund_fails_leaves_the_order_paid_and_says_so(world, people, shop,
                                                                     stripe, outbox,
                                                                     monkeypatch):
    from openevent.payments import errors as perr
    from openevent.payments.stripe_gateway import StripeGateway

    order = _paid_order(world, people, shop, "stripe")
    assert _charge(world, people, order, stripe="tok_visa").status == 200
    monkeypatch.setattr(StripeGateway, "refund", lambda self, **kw: (_ for _ in ()).throw(
        perr.ProviderUnavailable("down", provider="stripe")))
    resp = world.api.delete(f"/v1/orders/{order['id']}", token=people.owner.token)
    assert resp.status == 503
    stored = world.order(order["id"])
    assert (stored.status, stored.refund_id) == ("completed", None)
    assert not any("cancelled" in m["Subject"].lower()
                   for m in mails_to(outbox, people.buyer.email))


def test_partial_and_reordered_refund_webhooks_update_the_order(world, people, shop, stripe):
    order = _paid_order(world, people, shop, "stripe")
    assert _charge(world, people, order, stripe="tok_visa").status == 200
    charge_id = world.order(order["id"]).stripe_charge_id
    _stripe_api(stripe, "/v1/refunds", stripe.account, charge=charge_id, amount=300)
    partial = stripe.get_object(charge_id)
    _stripe_api(stripe, "/v1/refunds", stripe.account, charge=charge_id)
    full = stripe.get_object(charge_id)
    assert _deliver(world, stripe, "charge.refunded", full, stripe.account).json()[
        "applied"] == "refund recorded"
    late = _deliver(world, stripe, "charge.refunded", partial, stripe.account)
    assert late.json()["applied"] == "duplicate"  # an older total never lowers it
    stored = world.order(order["id"])
    assert stored.refunded_amount == Decimal("10.00") and stored.refunded_at is not None


def test_partial_refund_is_recorded_without_marking_the_order_refunded(world, people, shop,
                                                                       stripe):
    order = _paid_order(world, people, shop, "stripe")
    _charge(world, people, order, stripe="tok_visa")
    charge_id = world.order(order["id"]).stripe_charge_id
    _stripe_api(stripe, "/v1/refunds", stripe.account, charge=charge_id, amount=250)
    _deliver(world, stripe, "charge.refunded", stripe.get_object(charge_id), stripe.account)
    stored = world.order(order["id"])
    assert (stored.refunded_amount, stored.refunded_at) == (Decimal("2.50"), None)


def test_paypal_refund_webhooks_count_each_refund_once(world, people, shop, paypal):
    from openevent.orders.payments import paypal_gateway

    order = _paid_order(world, people, shop, "paypal")
    paypal_id = world.order(order["id"]).paypal_order_id
    paypal.approve_order(paypal_id)
    assert _charge(world, people, order, **{"paypal-payer-id": "P", "paypal-payment-id":
                                            paypal_id}).status == 200
    capture = world.order(order["id"]).paypal_capture_id
    refund = paypal_gateway()._api("POST", f"/v2/payments/captures/{capture}/refund",
                                   {"amount": {"value": "4.00", "currency_code": "USD"}})
    body = json.dumps(paypal.event("PAYMENT.CAPTURE.REFUNDED", refund)).encode()
    results = [world.api.request("POST", "/v1/webhooks/paypal", body=body, headers={
        "Content-Type": "application/json", **paypal.signed_headers(body)}).json()["applied"]
        for _ in range(2)]
    assert results == ["refund recorded", "duplicate"]
    assert world.order(order["id"]).refunded_amount == Decimal("4.00")


# --- 5. replayed PayPal deliveries ---------------------------------------------------------

def test_paypal_delivery_outside_the_time_tolerance_is_400(world, people, shop, paypal):
    order = _paid_order(world, people, shop, "paypal")
    approved = paypal.approve_order(world.order(order["id"]).paypal_order_id)
    body = json.dumps(paypal.event("CHECKOUT.ORDER.APPROVED", approved)).encode()
    old = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = world.api.request("POST", "/v1/webhooks/paypal", body=body, headers={
        "Content-Type": "application/json", **paypal.signed_headers(body, transmission_time=old)})
    assert resp.status == 400
    assert world.order(order["id"]).status == "pending"


def test_stripe_delivery_outside_the_time_tolerance_is_400(world, people, shop, stripe):
    import time

    order = _paid_order(world, people, shop, "stripe")
    paid = stripe.complete_checkout(world.order(order["id"]).stripe_session_id,
                                    send_webhook=False)
    payload = json.dumps(stripe.event("checkout.session.completed", paid,
                                      stripe.account)).encode()
    resp = world.api.request("POST", "/v1/webhooks/stripe", body=payload, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": stripe.sign(payload, timestamp=int(time.time()) - 3600)})
    assert resp.status == 400


# --- issue 20, item 9: PayPal sends the payer back only to the platform's own origins --------

def _create_paypal_payment(world, people, order, return_url, cancel_url):
    return world.api.post(f"/v1/orders/{order['attributes']['identifier']}/"
                          "create-paypal-payment", {"data": {"type": "paypal-payment",
                          "attributes": {"return-url": return_url, "cancel-url": cancel_url}}},
                          token=people.buyer.token)


@pytest.mark.parametrize("evil", [
    "https://evil.example/orders/x/view",
    "http://frontend.test.evil.example/orders/x/view",
    "http://frontend.test@evil.example/orders/x/view",
    "http://evil.example/?next=http://frontend.test/",
    "https://frontend.test/orders/x/view",            # another scheme is another origin
    "http://frontend.test:8443/orders/x/view",        # another port too
    "http://frontend.test\\@evil.example/",
    "http://frontend.test/orders/x/view\r\nLocation: http://evil.example/",
    "javascript:alert(1)//http://frontend.test/",
    "//evil.example/orders/x/view",
])
@pytest.mark.parametrize("field", ["return-url", "cancel-url"])
def test_paypal_return_urls_off_the_platform_are_422(world, people, shop, paypal, evil, field):
    order = _paid_order(world, people, shop, "paypal")
    before = set(paypal.orders)
    ok = "http://frontend.test/orders/x/view"
    urls = {"return-url": ok, "cancel-url": ok, field: evil}
    resp = _create_paypal_payment(world, people, order, urls["return-url"], urls["cancel-url"])
    assert resp.status == 422, resp.body
    assert error_of(resp)["source"]["pointer"] == f"/data/attributes/{field}"
    assert set(paypal.orders) == before  # nothing was sent to PayPal


@pytest.mark.parametrize("base", ["http://frontend.test", "http://FRONTEND.test:80",
                                  "http://127.0.0.1:8000"])
def test_paypal_return_urls_on_the_web_app_or_api_origin_are_accepted(world, people, shop,
                                                                       paypal, base):
    order = _paid_order(world, people, shop, "paypal")
    ident = order["attributes"]["identifier"]
    resp = _create_paypal_payment(world, people, order, f"{base}/orders/{ident}/view",
                                  f"{base}/orders/{ident}/pending")
    assert resp.status == 200, resp.body
    assert resp.json()["status"] is True
    made = paypal.orders[resp.json()["payment_id"]]
    assert made["_return_url"] == f"{base}/orders/{ident}/view"


def test_paypal_return_urls_follow_the_admins_frontend_url(world, people, shop, paypal):
    order = _paid_order(world, people, shop, "paypal")
    world.settings(frontend_url="https://events.example.org/")
    here = "https://events.example.org/orders/x/view"
    assert _create_paypal_payment(world, people, order, here, here).status == 200
    old = "http://frontend.test/orders/x/view"
    resp = _create_paypal_payment(world, people, order, old, here)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/return-url"
