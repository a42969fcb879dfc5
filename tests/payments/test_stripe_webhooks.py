"""Stripe-Signature verification, and the fake delivering signed events."""

import json
import time
from decimal import Decimal

import pytest
import requests
from openevent.payments.errors import SignatureError
from openevent.payments.stripe_gateway import verify_webhook


def _event_payload(stripe_fake) -> bytes:
    obj = {"id": "cs_test_1", "object": "checkout.session", "payment_status": "paid"}
    return json.dumps(stripe_fake.event("checkout.session.completed", obj, "acct_1")).encode()


def test_valid_signature_returns_the_event(stripe_fake):
    payload = _event_payload(stripe_fake)
    event = verify_webhook(payload, stripe_fake.sign(payload), stripe_fake.webhook_secret)
    assert event["type"] == "checkout.session.completed"
    assert event["account"] == "acct_1"
    assert event["data"]["object"]["id"] == "cs_test_1"


def test_tampered_body_is_rejected(stripe_fake):
    payload = _event_payload(stripe_fake)
    header = stripe_fake.sign(payload)
    with pytest.raises(SignatureError):
        verify_webhook(payload.replace(b"paid", b"unpaid"), header, stripe_fake.webhook_secret)


def test_wrong_secret_is_rejected(stripe_fake):
    payload = _event_payload(stripe_fake)
    with pytest.raises(SignatureError):
        verify_webhook(payload, stripe_fake.sign(payload, secret="whsec_other"),
                       stripe_fake.webhook_secret)


def test_stale_timestamp_is_rejected(stripe_fake):
    payload = _event_payload(stripe_fake)
    header = stripe_fake.sign(payload, timestamp=int(time.time()) - 301)
    with pytest.raises(SignatureError):
        verify_webhook(payload, header, stripe_fake.webhook_secret, tolerance=300)


def test_missing_header_is_rejected(stripe_fake):
    with pytest.raises(SignatureError):
        verify_webhook(_event_payload(stripe_fake), None, stripe_fake.webhook_secret)


def test_garbage_header_is_rejected(stripe_fake):
    with pytest.raises(SignatureError):
        verify_webhook(_event_payload(stripe_fake), "nonsense", stripe_fake.webhook_secret)


def test_non_utf8_body_is_rejected(stripe_fake):
    payload = b"\xff\xfe"
    with pytest.raises(SignatureError):
        verify_webhook(payload, stripe_fake.sign(payload), stripe_fake.webhook_secret)


def test_signature_error_does_not_echo_the_secret(stripe_fake):
    with pytest.raises(SignatureError) as err:
        verify_webhook(b"{}", "t=1,v1=00", stripe_fake.webhook_secret)
    assert stripe_fake.webhook_secret not in str(err.value)


def test_gateway_verifies_with_its_configured_secret(stripe_fake, stripe_gateway):
    payload = _event_payload(stripe_fake)
    assert stripe_gateway.verify_webhook(payload, stripe_fake.sign(payload))["type"] == (
        "checkout.session.completed")


def test_sent_webhook_arrives_signed_and_verifiable(stripe_fake, receiver):
    response = stripe_fake.send_webhook(receiver.url, "payment_intent.succeeded",
                                        {"id": "pi_1", "object": "payment_intent"}, "acct_1")
    assert response.status_code == 200
    [delivery] = receiver.requests_to("/v1/webhooks/test")
    event = verify_webhook(delivery.body, delivery.headers["stripe-signature"],
                           stripe_fake.webhook_secret)
    assert (event["type"], event["data"]["object"]["id"]) == ("payment_intent.succeeded", "pi_1")


def test_paying_on_the_checkout_page_redirects_and_sends_the_completed_event(
        stripe_fake, stripe_gateway, connected_account, receiver):
    stripe_fake.webhook_url = receiver.url
    session = stripe_gateway.create_checkout_session(
        connected_account=connected_account, order_identifier="o-9", amount=Decimal("5.00"),
        currency="usd", description="d", success_url="https://app/ok?s={CHECKOUT_SESSION_ID}",
        cancel_url="https://app/cancel")
    assert "Pay" in requests.get(session.url, timeout=5).text
    response = requests.post(session.url, timeout=5, allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (
        303, f"https://app/ok?s={session.id}")
    [delivery] = receiver.requests_to("/v1/webhooks/test")
    event = verify_webhook(delivery.body, delivery.headers["stripe-signature"],
                           stripe_fake.webhook_secret)
    assert event["type"] == "checkout.session.completed"
    assert event["account"] == connected_account
    assert event["data"]["object"]["metadata"] == {"order_identifier": "o-9"}
    assert event["data"]["object"]["payment_status"] == "paid"
