"""Checkout as the Open Event web app does it (issue 10, item 5): a paid `create-order` leaves
the payment mode unset; on the payment step the buyer chooses Stripe (PATCH payment-mode),
`charge` without a token answers a PaymentIntent on the event's connected account, Stripe.js
confirms it with the publishable key and client secret, and only the verified webhook or
`verify` — both asking Stripe — completes the order. The attacker tests come first."""

from __future__ import annotations

import json

import requests

from tests.conftest import error_of
from tests.orders.conftest import patch_doc


def _checkout(world, people, shop, seats=1):
    """create-order for the paid ticket, holders filled, moved to `pending` as the app's
    order form does (echoing the unset payment mode)."""
    created = world.checkout(people.buyer, [(shop.paid, seats)])
    assert created.status == 201, created.body
    order = created.json()["data"]
    for ref in order["relationships"]["attendees"]["data"]:
        resp = world.api.patch(f"/v1/attendees/{ref['id']}", {"data": {
            "type": "attendee", "id": ref["id"], "attributes": {
                "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"}}},
            token=people.buyer.token)
        assert resp.status == 200, resp.body
    resp = _patch(world, people.buyer, order, status="pending", **{"payment-mode": None})
    assert resp.status == 200, resp.body
    return resp.json()["data"]


def _patch(world, account, order, **attrs):
    return world.api.patch(f"/v1/orders/{order['attributes']['identifier']}",
                           patch_doc(order, **attrs), token=account.token)


def _stripe_order(world, people, shop):
    order = _checkout(world, people, shop)
    resp = _patch(world, people.buyer, order, status="pending", **{"payment-mode": "stripe"})
    assert resp.status == 200, resp.body
    return resp.json()["data"]


def _charge(world, account, order, **attrs):
    body = {"data": {"type": "charge"}}
    if attrs:
        body["data"]["attributes"] = attrs
    return world.api.post(f"/v1/orders/{order['attributes']['identifier']}/charge", body,
                          token=account.token)


def _intent(world, people, order):
    resp = _charge(world, people.buyer, order)
    assert resp.status == 200, resp.body
    return json.loads(resp.json()["data"]["attributes"]["message"])


def _publishable_key(stripe, account):
    return stripe.accounts[account]["stripe_publishable_key"]


def _confirm(stripe, intent, account, number="4242 4242 4242 4242"):
    """What Stripe.js does when the buyer presses Pay: the card, the publishable key and the
    client secret, form-encoded, from the browser."""
    return requests.post(f"{stripe.base_url}/v1/payment_intents/{intent['id']}/confirm", data={
        "key": _publishable_key(stripe, account), "client_secret": intent["client_secret"],
        "return_url": "http://frontend.test/orders/x/view",
        "payment_method_data[type]": "card", "payment_method_data[card][number]": number},
        timeout=10)


def _deliver(world, stripe, kind, obj, account):
    payload = json.dumps(stripe.event(kind, obj, account)).encode()
    return world.api.request("POST", "/v1/webhooks/stripe", body=payload, headers={
        "Content-Type": "application/json", "Stripe-Signature": stripe.sign(payload)})


def _stripe_api(stripe, path, account, **form):
    return requests.post(f"{stripe.base_url}{path}", data=form, timeout=10, headers={
        "Authorization": f"Bearer {stripe.secret_key}", "Stripe-Account": account}).json()


def _attacker_account(world, people, stripe):
    from openevent.events.stripe_connect import authorize
    from openevent.models.users import User

    own = world.event(people.stranger, can_pay_by_stripe=True)
    return authorize(User.get(people.stranger.id), own, stripe.create_connect_code()
                     ).stripe_user_id


# --- attacks ---------------------------------------------------------------------------------

def test_a_stranger_cannot_get_the_intent_of_someone_elses_order(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    resp = _charge(world, people.stranger, order)
    assert resp.status == 403
    assert stripe.requests_to("/v1/payment_intents") == []
    assert "client_secret" not in resp.body.decode()


def test_an_intent_made_before_the_amount_changed_never_completes_the_order(
        world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    old = _intent(world, people, order)
    assert old["amount"] == 1000
    resp = _patch(world, people.admin, order, amount=5)
    assert resp.status == 200, resp.body
    new = _intent(world, people, order)
    assert (new["amount"], new["id"] != old["id"]) == (500, True)

    assert _confirm(stripe, old, stripe.account).status_code == 200  # the stale 10.00 intent
    paid = stripe.get_object(old["id"])
    resp = _deliver(world, stripe, "payment_intent.succeeded", paid, stripe.account)
    assert (resp.status, resp.json()["applied"]) == (200, "refunded")
    assert stripe.get_object(paid["latest_charge"])["refunded"] is True
    assert world.order(order["id"]).status == "pending"


def test_an_intent_on_another_account_naming_the_order_is_refused(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    ident = order["attributes"]["identifier"]
    acct = _attacker_account(world, people, stripe)
    forged = _stripe_api(stripe, "/v1/payment_intents", acct, amount=1000, currency="usd",
                         **{"metadata[order_identifier]": ident})
    assert _confirm(stripe, forged, acct).status_code == 200
    paid = stripe.get_object(forged["id"])

    resp = _deliver(world, stripe, "payment_intent.succeeded", paid, acct)
    assert resp.json()["applied"] == "foreign account"
    resp = _deliver(world, stripe, "payment_intent.succeeded", paid, stripe.account)
    assert resp.json()["applied"] == "unknown payment"  # re-checked on the event's account
    resp = _charge(world, people.buyer, order, stripe=forged["id"])
    assert resp.status == 422
    assert world.order(order["id"]).status == "pending"


def test_a_replayed_webhook_completes_the_order_once(world, people, shop, stripe, outbox):
    order = _stripe_order(world, people, shop)
    intent = _intent(world, people, order)
    assert _confirm(stripe, intent, stripe.account).status_code == 200
    paid = stripe.get_object(intent["id"])
    first = _deliver(world, stripe, "payment_intent.succeeded", paid, stripe.account)
    assert first.json()["applied"] == "completed"
    mails = len(list(outbox.glob("*.eml")))
    assert mails >= 1
    again = _deliver(world, stripe, "payment_intent.succeeded", paid, stripe.account)
    charge = _deliver(world, stripe, "charge.succeeded",
                      stripe.get_object(paid["latest_charge"]), stripe.account)
    verify = world.api.post(f"/v1/orders/{order['attributes']['identifier']}/verify", {},
                            token=people.buyer.token)
    assert (again.json()["applied"], charge.json()["applied"]) == ("duplicate", "duplicate")
    assert verify.json() == {"payment_status": "completed"}
    assert len(list(outbox.glob("*.eml"))) == mails
    stored = world.order(order["id"])
    assert (stored.status, stored.transaction_id, stored.stripe_payment_intent) == (
        "completed", intent["id"], intent["id"])


def test_the_clients_word_does_not_complete_an_unconfirmed_intent(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    intent = _intent(world, people, order)
    resp = _charge(world, people.buyer, order, stripe=intent["id"])
    assert resp.status == 200
    assert resp.json()["data"]["attributes"] == {
        "status": False, "message": "The payment has not been completed"}
    unsigned = json.dumps(stripe.event("payment_intent.succeeded",
                                       {**stripe.get_object(intent["id"]), "status": "succeeded"},
                                       stripe.account)).encode()
    resp = world.api.request("POST", "/v1/webhooks/stripe", body=unsigned, headers={
        "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=forged"})
    assert resp.status == 400
    # signed, but the intent itself is still unpaid at Stripe
    resp = _deliver(world, stripe, "payment_intent.succeeded",
                    {**stripe.get_object(intent["id"]), "status": "succeeded"}, stripe.account)
    assert resp.json()["applied"] == "unpaid"
    assert world.order(order["id"]).status == "pending"


def test_the_browser_needs_the_client_secret_of_the_intent(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    intent = _intent(world, people, order)
    resp = _confirm(stripe, {**intent, "client_secret": intent["id"] + "_secret_guess"},
                    stripe.account)
    assert resp.status_code == 400
    resp = _confirm(stripe, intent, _attacker_account(world, people, stripe))
    assert resp.status_code == 404  # another account's publishable key
    assert stripe.get_object(intent["id"])["status"] == "requires_payment_method"


# --- the flow --------------------------------------------------------------------------------

def test_a_paid_create_order_leaves_the_payment_mode_unset(world, people, shop):
    paid = world.checkout(people.buyer, [(shop.paid, 1)]).json()["data"]["attributes"]
    free = world.checkout(people.buyer, [(shop.free, 1)]).json()["data"]["attributes"]
    assert (paid["payment-mode"], free["payment-mode"]) == (None, "free")


def test_the_buyer_chooses_stripe_on_the_payment_step(world, people, shop):
    order = _checkout(world, people, shop)
    assert (order["attributes"]["status"], order["attributes"]["payment-mode"]) == (
        "pending", None)
    resp = _patch(world, people.buyer, order, status="pending", **{"payment-mode": "stripe"})
    assert resp.status == 200, resp.body
    assert resp.json()["data"]["attributes"]["payment-mode"] == "stripe"
    resp = _patch(world, people.buyer, order, status="pending", **{"payment-mode": "paypal"})
    assert resp.json()["data"]["attributes"]["payment-mode"] == "paypal"


def test_the_payment_step_accepts_only_what_the_event_takes(world, people, shop):
    order = _checkout(world, people, shop)
    for mode, status in (("bank", 422), ("free", 422), ("bitcoin", 422)):
        resp = _patch(world, people.buyer, order, **{"payment-mode": mode})
        assert resp.status == status, (mode, resp.body)
        assert error_of(resp)["source"]["pointer"] == "/data/attributes/payment-mode"
    assert _patch(world, people.buyer, order, **{"payment-mode": "stripe"}).status == 200
    resp = _patch(world, people.buyer, order, **{"payment-mode": None})
    assert resp.status == 422
    assert _patch(world, people.stranger, order, **{"payment-mode": "paypal"}).status == 403
    # nothing else changes on a pending order
    assert _patch(world, people.buyer, order, **{"order-notes": "x"}).status == 403


def test_charging_before_a_mode_is_chosen_is_422(world, people, shop, stripe):
    order = _checkout(world, people, shop)
    resp = _charge(world, people.buyer, order)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/payment-mode"


def test_charge_without_a_token_answers_an_intent_on_the_connected_account(
        world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    resp = _charge(world, people.buyer, order)
    assert resp.status == 200, resp.body
    attrs = resp.json()["data"]["attributes"]
    assert attrs["status"] is True
    intent = json.loads(attrs["message"])
    assert set(intent) == {"id", "object", "amount", "currency", "status", "client_secret",
                           "livemode"}
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        1000, "usd", "requires_payment_method")
    assert intent["client_secret"].startswith(intent["id"] + "_secret_")
    assert stripe.account_of(intent["id"]) == stripe.account  # a direct charge
    assert stripe.get_object(intent["id"])["metadata"] == {
        "order_identifier": order["attributes"]["identifier"]}
    assert world.order(order["id"]).status == "pending"


def test_a_repeated_charge_hands_out_the_same_intent(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    first, second = _intent(world, people, order), _intent(world, people, order)
    assert first == second
    assert len(stripe.requests_to("/v1/payment_intents")) == 1


def test_the_confirmed_intent_completes_the_order_by_the_webhook(world, people, shop, stripe,
                                                                 outbox):
    order = _stripe_order(world, people, shop)
    intent = _intent(world, people, order)
    confirmed = _confirm(stripe, intent, stripe.account)
    assert confirmed.status_code == 200
    assert confirmed.headers["Access-Control-Allow-Origin"] == "*"
    assert confirmed.json()["status"] == "succeeded"
    assert world.order(order["id"]).status == "pending"  # nothing until Stripe says so
    resp = _deliver(world, stripe, "payment_intent.succeeded", confirmed.json(), stripe.account)
    assert resp.json() == {"received": True, "applied": "completed"}
    stored = world.order(order["id"])
    assert (stored.status, stored.paid_via, stored.stripe_account) == (
        "completed", "stripe", stripe.account)
    assert stored.stripe_charge_id == confirmed.json()["latest_charge"]
    assert list(outbox.glob("*.eml"))


def test_verify_completes_a_confirmed_intent_without_the_webhook(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    intent = _intent(world, people, order)
    ident = order["attributes"]["identifier"]
    before = world.api.post(f"/v1/orders/{ident}/verify", {}, token=people.buyer.token)
    assert before.json() == {"payment_status": "pending"}
    assert _confirm(stripe, intent, stripe.account).status_code == 200
    after = world.api.post(f"/v1/orders/{ident}/verify", {}, token=people.buyer.token)
    assert after.json() == {"payment_status": "completed"}


def test_a_declined_card_leaves_the_intent_open_for_another_card(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    intent = _intent(world, people, order)
    declined = _confirm(stripe, intent, stripe.account, number="4000 0000 0000 0002")
    assert declined.status_code == 402
    assert declined.json()["error"]["decline_code"] == "generic_decline"
    assert _intent(world, people, order)["id"] == intent["id"]  # still open: reused
    assert _confirm(stripe, intent, stripe.account).status_code == 200
    ident = order["attributes"]["identifier"]
    assert world.api.post(f"/v1/orders/{ident}/verify", {}, token=people.buyer.token
                          ).json() == {"payment_status": "completed"}


def test_the_sandbox_serves_its_stripe_js_stand_in(stripe):
    resp = requests.get(f"{stripe.base_url}/v3", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/javascript")
    assert f"var API_BASE = '{stripe.base_url}';" in resp.text
    assert "window.Stripe = StripeSandbox" in resp.text


# --- PayPal, as the app's PayPal button calls the API -----------------------------------------

def test_paypal_on_the_payment_step_as_the_apps_button_calls_it(world, people, shop, paypal):
    """The PayPal button (paypal-checkout) saves the order, asks create-paypal-payment for
    the PayPal order id, and after the payer approves at PayPal posts charge with the payer
    and payment ids (and `stripe: null`); the capture at PayPal completes the order."""
    order = _checkout(world, people, shop)
    resp = _patch(world, people.buyer, order, status="pending", **{"payment-mode": "paypal"})
    assert resp.status == 200, resp.body
    ident = order["attributes"]["identifier"]
    created = world.api.post(f"/v1/orders/{ident}/create-paypal-payment", {"data": {
        "type": "paypal-payment", "attributes": {
            "return-url": f"http://frontend.test/orders/{ident}/view",
            "cancel-url": f"http://frontend.test/orders/{ident}/pending"}}},
        token=people.buyer.token)
    assert created.status == 200, created.body
    assert created.json()["status"] is True
    paypal_id = created.json()["payment_id"]
    charge = {"stripe": None, "paypal_payer_id": "PAYER1", "paypal_payment_id": paypal_id}
    early = _charge(world, people.buyer, order, **charge)
    assert early.json()["data"]["attributes"] == {
        "status": False, "message": "The payer has not approved the payment yet"}
    paypal.approve_order(paypal_id, "PAYER1")
    done = _charge(world, people.buyer, order, **charge)
    assert done.status == 200, done.body
    assert done.json()["data"]["attributes"] == {"status": True,
                                                 "message": "Charge successful"}
    stored = world.order(order["id"])
    assert (stored.status, stored.paid_via, stored.payment_mode) == (
        "completed", "paypal", "paypal")


def test_a_paypal_order_of_another_checkout_does_not_pay_this_one(world, people, shop, paypal):
    mine = _checkout(world, people, shop)
    other = _checkout(world, people, shop)
    for order in (mine, other):
        assert _patch(world, people.buyer, order, **{"payment-mode": "paypal"}).status == 200
    made = world.api.post(f"/v1/orders/{other['attributes']['identifier']}/"
                          "create-paypal-payment", {"data": {"type": "paypal-payment",
                          "attributes": {"return-url": "http://frontend.test/r",
                                         "cancel-url": "http://frontend.test/c"}}},
                          token=people.buyer.token).json()["payment_id"]
    paypal.approve_order(made, "PAYER1")
    resp = _charge(world, people.buyer, mine, stripe=None, paypal_payer_id="PAYER1",
                   paypal_payment_id=made)
    assert resp.status == 422
    assert world.order(mine["id"]).status == "pending"


def test_charging_with_the_payment_that_already_completed_the_order_answers_success(
        world, people, shop, stripe, paypal):
    """The provider's webhook may complete the order before the app's own charge call: the
    same payment then answers success again; any other payment is still 409."""
    order = _stripe_order(world, people, shop)
    intent = _intent(world, people, order)
    assert _confirm(stripe, intent, stripe.account).status_code == 200
    paid = stripe.get_object(intent["id"])
    assert _deliver(world, stripe, "payment_intent.succeeded", paid,
                    stripe.account).json()["applied"] == "completed"
    again = _charge(world, people.buyer, order, stripe=intent["id"])
    assert again.json()["data"]["attributes"] == {"status": True,
                                                  "message": "Charge successful"}
    assert _charge(world, people.buyer, order, stripe="tok_visa").status == 409
    assert _charge(world, people.buyer, order).status == 409

    other = _checkout(world, people, shop)
    assert _patch(world, people.buyer, other, **{"payment-mode": "paypal"}).status == 200
    ident = other["attributes"]["identifier"]
    paypal_id = world.api.post(f"/v1/orders/{ident}/create-paypal-payment", {"data": {
        "type": "paypal-payment", "attributes": {"return-url": "http://frontend.test/r",
                                                 "cancel-url": "http://frontend.test/c"}}},
        token=people.buyer.token).json()["payment_id"]
    approved = paypal.approve_order(paypal_id, "PAYER1")
    body = json.dumps(paypal.event("CHECKOUT.ORDER.APPROVED", approved)).encode()
    hook = world.api.request("POST", "/v1/webhooks/paypal", body=body, headers={
        "Content-Type": "application/json", **paypal.signed_headers(body)})
    assert hook.json()["applied"] == "completed"
    charge = {"stripe": None, "paypal_payer_id": "PAYER1", "paypal_payment_id": paypal_id}
    assert _charge(world, people.buyer, other, **charge).json()["data"]["attributes"] == {
        "status": True, "message": "Charge successful"}
    charge["paypal_payment_id"] = "5O190127TN364715T"
    assert _charge(world, people.buyer, other, **charge).status == 409


# --- issue 20, item 7: a payment the platform does not apply is refunded, never kept ---------

def _replace_connection(world, people, shop, stripe):
    """The organizer disconnects the event's Stripe account and connects another one."""
    from openevent.events.stripe_connect import (
        authorization_of,
        authorize,
        delete_authorization,
    )
    from openevent.models.users import User

    owner = User.get(people.owner.id)
    delete_authorization(owner, authorization_of(shop.event.id), shop.event)
    return authorize(owner, shop.event, stripe.create_connect_code()).stripe_user_id


def _paid_on(world, stripe, account, order, amount=1000):
    """A PaymentIntent on `account` naming the order, confirmed as Stripe.js does."""
    intent = _stripe_api(stripe, "/v1/payment_intents", account, amount=amount, currency="usd",
                         **{"metadata[order_identifier]": order["attributes"]["identifier"]})
    assert _confirm(stripe, intent, account).status_code == 200
    return stripe.get_object(intent["id"])


def test_a_payment_on_the_events_new_account_completes_the_pending_order(
        world, people, shop, stripe):
    """The order's intent was made on the old account; the organizer replaced the connection
    and the payment for this order arrives on the new one: it provably pays this order (this
    event's account, this order, this amount), so it is applied — never ignored."""
    order = _stripe_order(world, people, shop)
    old = _intent(world, people, order)
    assert stripe.account_of(old["id"]) == stripe.account
    new_account = _replace_connection(world, people, shop, stripe)
    paid = _paid_on(world, stripe, new_account, order)
    resp = _deliver(world, stripe, "payment_intent.succeeded", paid, new_account)
    assert (resp.status, resp.json()["applied"]) == (200, "completed")
    stored = world.order(order["id"])
    assert (stored.status, stored.stripe_account) == ("completed", new_account)


def test_a_payment_on_the_events_former_account_is_applied_or_refunded(
        world, people, shop, stripe):
    """After the connection was replaced, a payment still made on the former account (the
    buyer's page held its intent): applied to the pending order; a second one refunded."""
    order = _stripe_order(world, people, shop)
    old = _intent(world, people, order)
    new_account = _replace_connection(world, people, shop, stripe)
    assert _confirm(stripe, old, stripe.account).status_code == 200
    paid = stripe.get_object(old["id"])
    resp = _deliver(world, stripe, "payment_intent.succeeded", paid, stripe.account)
    assert resp.json()["applied"] == "completed"
    assert world.order(order["id"]).status == "completed"
    again = _paid_on(world, stripe, new_account, order)
    resp = _deliver(world, stripe, "payment_intent.succeeded", again, new_account)
    assert (resp.status, resp.json()["applied"]) == (200, "refunded")
    assert stripe.get_object(again["latest_charge"])["refunded"] is True
    assert world.order(order["id"]).transaction_id == paid["id"]


def test_a_wrong_amount_on_the_events_new_account_is_refunded(world, people, shop, stripe):
    order = _stripe_order(world, people, shop)
    _intent(world, people, order)
    new_account = _replace_connection(world, people, shop, stripe)
    paid = _paid_on(world, stripe, new_account, order, amount=700)
    resp = _deliver(world, stripe, "charge.succeeded",
                    stripe.get_object(paid["latest_charge"]), new_account)
    assert (resp.status, resp.json()["applied"]) == (200, "refunded")
    assert stripe.get_object(paid["latest_charge"])["refunded"] is True
    assert world.order(order["id"]).status == "pending"


def test_an_account_that_was_never_the_events_is_still_foreign(world, people, shop, stripe):
    """Replacing connections widens nothing: another organizer's account stays foreign."""
    order = _stripe_order(world, people, shop)
    _intent(world, people, order)
    _replace_connection(world, people, shop, stripe)
    acct = _attacker_account(world, people, stripe)
    paid = _paid_on(world, stripe, acct, order)
    resp = _deliver(world, stripe, "payment_intent.succeeded", paid, acct)
    assert resp.json()["applied"] == "foreign account"
    assert world.order(order["id"]).status == "pending"


def test_after_a_replaced_connection_the_next_intent_is_on_the_new_account(
        world, people, shop, stripe):
    """The payment step asks again after the organizer replaced the connection: the new
    intent is made on the event's account now, and the stale one, if paid too, is refunded."""
    order = _stripe_order(world, people, shop)
    old = _intent(world, people, order)
    new_account = _replace_connection(world, people, shop, stripe)
    new = _intent(world, people, order)
    assert new["id"] != old["id"] and stripe.account_of(new["id"]) == new_account
    assert world.order(order["id"]).stripe_account == new_account
    assert _confirm(stripe, new, new_account).status_code == 200
    resp = _deliver(world, stripe, "payment_intent.succeeded", stripe.get_object(new["id"]),
                    new_account)
    assert resp.json()["applied"] == "completed"
    assert _confirm(stripe, old, stripe.account).status_code == 200
    stale = stripe.get_object(old["id"])
    resp = _deliver(world, stripe, "payment_intent.succeeded", stale, stripe.account)
    assert resp.json()["applied"] == "refunded"
    assert stripe.get_object(stale["latest_charge"])["refunded"] is True
