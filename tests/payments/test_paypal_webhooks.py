"""PayPal webhook verification (SHA256withRSA, cert from an allow-listed origin)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from openevent.payments.errors import SignatureError
from openevent.payments.paypal_gateway import PayPalGateway, PayPalSettings


def _body(paypal_fake) -> bytes:
    resource = {"id": "8MC585209K746392H", "status": "COMPLETED",
                "amount": {"currency_code": "USD", "value": "12.50"}}
    return json.dumps(paypal_fake.event("PAYMENT.CAPTURE.COMPLETED", resource)).encode()


def test_valid_signature_returns_the_event(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    event = paypal_gateway.verify_webhook(paypal_fake.signed_headers(body), body)
    assert event["event_type"] == "PAYMENT.CAPTURE.COMPLETED"
    assert event["resource"]["id"] == "8MC585209K746392H"


def test_tampered_body_is_rejected(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    headers = paypal_fake.signed_headers(body)
    with pytest.raises(SignatureError):
        paypal_gateway.verify_webhook(headers, body.replace(b"12.50", b"99.50"))


def test_signature_for_another_webhook_id_is_rejected(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    with pytest.raises(SignatureError):
        paypal_gateway.verify_webhook(paypal_fake.signed_headers(body, webhook_id="OTHER"), body)


def test_cert_url_off_the_allow_list_is_rejected_without_fetching(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    evil = paypal_fake.cert_url.replace("127.0.0.1", "localhost")
    with pytest.raises(SignatureError, match="allow-list"):
        paypal_gateway.verify_webhook(paypal_fake.signed_headers(body, cert_url=evil), body)
    assert paypal_fake.requests == []


def test_cert_url_with_userinfo_trick_is_rejected(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    evil = paypal_fake.cert_url.replace("http://", "http://127.0.0.1@")
    with pytest.raises(SignatureError, match="allow-list"):
        paypal_gateway.verify_webhook(paypal_fake.signed_headers(body, cert_url=evil), body)


def test_cert_url_outside_the_certs_path_is_rejected(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    evil = f"{paypal_fake.base_url}/v2/checkout/orders/X"
    with pytest.raises(SignatureError, match="allow-list"):
        paypal_gateway.verify_webhook(paypal_fake.signed_headers(body, cert_url=evil), body)


def test_production_allow_list_refuses_a_local_cert_url(paypal_fake):
    gateway = PayPalGateway(PayPalSettings(client_id="id", client_secret="s",
                                           webhook_id=paypal_fake.webhook_id))
    body = _body(paypal_fake)
    with pytest.raises(SignatureError, match="allow-list"):
        gateway.verify_webhook(paypal_fake.signed_headers(body), body)


def test_certificate_is_fetched_once_and_cached(paypal_fake, paypal_gateway):
    for _ in range(3):
        body = _body(paypal_fake)
        paypal_gateway.verify_webhook(paypal_fake.signed_headers(body), body)
    assert len(paypal_fake.requests_to(f"/v1/notifications/certs/{paypal_fake.cert_name}")) == 1


def test_stale_transmission_time_is_rejected_when_a_tolerance_is_set(paypal_fake,
                                                                     paypal_gateway):
    body = _body(paypal_fake)
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=600)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = paypal_fake.signed_headers(body, transmission_time=old)
    with pytest.raises(SignatureError, match="stale"):
        paypal_gateway.verify_webhook(headers, body, tolerance=300)


def test_unsupported_algorithm_is_rejected(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    headers = {**paypal_fake.signed_headers(body), "PAYPAL-AUTH-ALGO": "SHA1withRSA"}
    with pytest.raises(SignatureError, match="algorithm"):
        paypal_gateway.verify_webhook(headers, body)


def test_missing_headers_are_named(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    headers = paypal_fake.signed_headers(body)
    del headers["PAYPAL-TRANSMISSION-SIG"]
    with pytest.raises(SignatureError, match="PAYPAL-TRANSMISSION-SIG"):
        paypal_gateway.verify_webhook(headers, body)


def test_signature_that_is_not_base64_is_rejected(paypal_fake, paypal_gateway):
    body = _body(paypal_fake)
    headers = {**paypal_fake.signed_headers(body), "PAYPAL-TRANSMISSION-SIG": "%%%"}
    with pytest.raises(SignatureError, match="base64"):
        paypal_gateway.verify_webhook(headers, body)


def test_sent_webhook_arrives_signed_and_verifiable(paypal_fake, paypal_gateway, receiver):
    response = paypal_fake.send_webhook(receiver.url, "CHECKOUT.ORDER.APPROVED",
                                        {"id": "5O190127TN364715T", "status": "APPROVED"})
    assert response.status_code == 200
    [delivery] = receiver.requests_to("/v1/webhooks/test")
    event = paypal_gateway.verify_webhook(delivery.headers, delivery.body)
    assert (event["event_type"], event["resource"]["id"]) == ("CHECKOUT.ORDER.APPROVED",
                                                              "5O190127TN364715T")


def test_capture_sends_a_verifiable_capture_completed_event(paypal_fake, paypal_gateway,
                                                           receiver):
    paypal_fake.webhook_url = receiver.url
    order_id, _ = paypal_gateway.create_order(Decimal("5.00"), "USD", "o-1", "https://a/r",
                                              "https://a/c")
    paypal_fake.approve_order(order_id)
    capture = paypal_gateway.capture_order(order_id)
    events = [paypal_gateway.verify_webhook(d.headers, d.body)
              for d in receiver.requests_to("/v1/webhooks/test")]
    assert [e["event_type"] for e in events] == ["CHECKOUT.ORDER.APPROVED",
                                                 "PAYMENT.CAPTURE.COMPLETED"]
    resource = events[1]["resource"]
    assert (resource["id"], resource["custom_id"]) == (capture.capture_id, "o-1")
    assert resource["supplementary_data"]["related_ids"]["order_id"] == order_id
