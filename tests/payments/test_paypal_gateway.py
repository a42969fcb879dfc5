"""PayPalGateway against the PayPal fake, over real HTTP on 127.0.0.1."""

import logging
import socket
from decimal import Decimal

import pytest
from openevent.payments.errors import (
    AlreadyRefunded,
    InvalidRequest,
    PaymentDeclined,
    PaymentNotFound,
    ProviderAuthError,
    ProviderUnavailable,
)
from openevent.payments.paypal_gateway import PayPalGateway, PayPalSettings


def _order(gateway, amount="12.50", currency="USD"):
    return gateway.create_order(Decimal(amount), currency, "3fa9c1d2-order",
                                "https://app/return", "https://app/cancel")


def _captured(fake, gateway):
    order_id, _ = _order(gateway)
    fake.approve_order(order_id, "PAYER123")
    return gateway.capture_order(order_id)


def test_create_order_returns_id_and_approval_url(paypal_fake, paypal_gateway):
    order_id, approve_url = _order(paypal_gateway)
    assert approve_url == f"{paypal_fake.base_url}/checkoutnow?token={order_id}"
    assert paypal_fake.orders[order_id]["status"] == "PAYER_ACTION_REQUIRED"


def test_create_order_sends_amount_reference_and_urls(paypal_fake, paypal_gateway):
    _order(paypal_gateway)
    [request] = paypal_fake.requests_to("/v2/checkout/orders")
    body = request.json()
    unit = body["purchase_units"][0]
    assert body["intent"] == "CAPTURE"
    assert unit["amount"] == {"currency_code": "USD", "value": "12.50"}
    assert (unit["reference_id"], unit["custom_id"]) == ("3fa9c1d2-order", "3fa9c1d2-order")
    context = body["payment_source"]["paypal"]["experience_context"]
    assert (context["return_url"], context["cancel_url"]) == ("https://app/return",
                                                              "https://app/cancel")
    assert request.headers["paypal-request-id"]


def test_zero_decimal_currency_is_sent_without_decimals(paypal_fake, paypal_gateway):
    order_id, _ = _order(paypal_gateway, "1500", "JPY")
    assert paypal_fake.orders[order_id]["purchase_units"][0]["amount"]["value"] == "1500"


def test_access_token_is_fetched_once_and_cached(paypal_fake, paypal_gateway):
    _order(paypal_gateway)
    _order(paypal_gateway)
    assert len(paypal_fake.requests_to("/v1/oauth2/token")) == 1


def test_access_token_is_renewed_once_it_expires(paypal_fake, paypal_settings):
    now = [1_000_000.0]
    gateway = PayPalGateway(paypal_settings, clock=lambda: now[0])
    _order(gateway)
    now[0] += paypal_fake.token_ttl
    _order(gateway)
    assert len(paypal_fake.requests_to("/v1/oauth2/token")) == 2


def test_token_rejected_by_paypal_is_renewed_and_the_call_retried(paypal_fake, paypal_gateway):
    _order(paypal_gateway)
    paypal_fake.expire_tokens()
    order_id, _ = _order(paypal_gateway)
    assert order_id in paypal_fake.orders
    assert len(paypal_fake.requests_to("/v1/oauth2/token")) == 2


def test_wrong_client_secret_raises_auth_error_without_the_secret(paypal_fake):
    secret = "EWrongSecretValue123456789"
    gateway = PayPalGateway(PayPalSettings(client_id=paypal_fake.client_id,
                                           client_secret=secret, api_base=paypal_fake.base_url))
    with pytest.raises(ProviderAuthError) as err:
        _order(gateway)
    assert (err.value.http_status, err.value.code) == (401, "invalid_client")
    assert secret not in str(err.value)


def test_get_order_reports_status_amount_and_reference(paypal_gateway):
    order_id, approve_url = _order(paypal_gateway)
    order = paypal_gateway.get_order(order_id)
    assert (order.status, order.amount, order.currency) == ("PAYER_ACTION_REQUIRED",
                                                            Decimal("12.50"), "USD")
    assert (order.reference_id, order.approve_url, order.capture_id) == (
        "3fa9c1d2-order", approve_url, None)


def test_unknown_order_is_not_found(paypal_gateway):
    with pytest.raises(PaymentNotFound) as err:
        paypal_gateway.get_order("0ABCDEF123456789X")
    assert err.value.code == "INVALID_RESOURCE_ID"


def test_malformed_order_id_is_refused_before_any_request(paypal_fake, paypal_gateway):
    with pytest.raises(InvalidRequest):
        paypal_gateway.get_order("../../v1/oauth2/token")
    assert paypal_fake.requests == []


def test_capture_before_approval_is_order_not_approved(paypal_gateway):
    order_id, _ = _order(paypal_gateway)
    with pytest.raises(InvalidRequest) as err:
        paypal_gateway.capture_order(order_id)
    assert (err.value.code, err.value.http_status) == ("ORDER_NOT_APPROVED", 422)


def test_capture_after_approval_completes(paypal_fake, paypal_gateway):
    order_id, _ = _order(paypal_gateway)
    paypal_fake.approve_order(order_id, "PAYER123")
    capture = paypal_gateway.capture_order(order_id)
    assert (capture.status, capture.amount, capture.currency) == ("COMPLETED", Decimal("12.50"),
                                                                  "USD")
    assert (capture.order_id, capture.reference_id, capture.payer_id) == (
        order_id, "3fa9c1d2-order", "PAYER123")
    assert capture.already_captured is False
    assert capture.capture_id in paypal_fake.captures


def test_capturing_again_reports_the_earlier_capture(paypal_fake, paypal_gateway):
    first = _captured(paypal_fake, paypal_gateway)
    again = paypal_gateway.capture_order(first.order_id)
    assert (again.capture_id, again.status, again.already_captured) == (
        first.capture_id, "COMPLETED", True)


def test_capture_with_the_same_request_id_replays_the_first_answer(paypal_fake, paypal_gateway):
    order_id, _ = _order(paypal_gateway)
    paypal_fake.approve_order(order_id)
    first = paypal_gateway.capture_order(order_id, request_id="capture-attempt-1")
    again = paypal_gateway.capture_order(order_id, request_id="capture-attempt-1")
    assert (again.capture_id, again.already_captured) == (first.capture_id, False)
    assert len(paypal_fake.captures) == 1


def test_declined_instrument_raises_payment_declined(paypal_fake, paypal_gateway):
    order_id, _ = _order(paypal_gateway)
    paypal_fake.approve_order(order_id, instrument_declined=True)
    with pytest.raises(PaymentDeclined) as err:
        paypal_gateway.capture_order(order_id)
    assert (err.value.code, err.value.http_status) == ("INSTRUMENT_DECLINED", 422)


def test_full_refund_of_a_capture(paypal_fake, paypal_gateway):
    capture = _captured(paypal_fake, paypal_gateway)
    refund = paypal_gateway.refund_capture(capture.capture_id)
    assert (refund.status, refund.amount, refund.currency) == ("COMPLETED", Decimal("12.50"),
                                                               "USD")
    assert paypal_gateway.get_order(capture.order_id).capture_status == "REFUNDED"


def test_partial_refund_sends_the_amount(paypal_fake, paypal_gateway):
    capture = _captured(paypal_fake, paypal_gateway)
    refund = paypal_gateway.refund_capture(capture.capture_id, Decimal("2.50"), "USD")
    assert refund.amount == Decimal("2.50")
    assert paypal_fake.captures[capture.capture_id]["status"] == "PARTIALLY_REFUNDED"


def test_refunding_a_fully_refunded_capture_raises_already_refunded(paypal_fake,
                                                                    paypal_gateway):
    capture = _captured(paypal_fake, paypal_gateway)
    paypal_gateway.refund_capture(capture.capture_id)
    with pytest.raises(AlreadyRefunded) as err:
        paypal_gateway.refund_capture(capture.capture_id)
    assert err.value.code == "CAPTURE_FULLY_REFUNDED"


def test_unreachable_paypal_raises_provider_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gateway = PayPalGateway(PayPalSettings(client_id="id", client_secret="secret",
                                           api_base=f"http://127.0.0.1:{port}", timeout=2))
    with pytest.raises(ProviderUnavailable):
        _order(gateway)


def test_no_secret_reaches_logs_or_exception_text(paypal_fake, paypal_gateway, caplog):
    caplog.set_level(logging.DEBUG)
    order_id, _ = _order(paypal_gateway)
    with pytest.raises(InvalidRequest) as err:
        paypal_gateway.capture_order(order_id)
    token = paypal_gateway.access_token()
    for secret in (paypal_fake.client_secret, token):
        assert secret not in caplog.text
        assert secret not in str(err.value)
    assert "127.0.0.1" in caplog.text  # urllib3 did log the requests


# --- issue 20, item 6: PayPal's currency list, enforced by the sandbox ----------------------

@pytest.mark.parametrize("currency", ["KWD", "BHD", "JOD", "OMR", "TND", "AED", "INR"])
def test_currencies_paypal_does_not_take_are_refused_as_paypal_does(paypal_fake,
                                                                    paypal_gateway, currency):
    with pytest.raises(InvalidRequest) as err:
        _order(paypal_gateway, "12.00", currency)
    assert err.value.code == "CURRENCY_NOT_SUPPORTED"
    assert paypal_fake.orders == {}


def test_the_currency_refusal_is_in_paypals_error_format(paypal_fake):
    import requests

    token = requests.post(f"{paypal_fake.base_url}/v1/oauth2/token", timeout=5,
                          data={"grant_type": "client_credentials"},
                          auth=(paypal_fake.client_id, paypal_fake.client_secret)
                          ).json()["access_token"]
    resp = requests.post(f"{paypal_fake.base_url}/v2/checkout/orders", timeout=5, json={
        "intent": "CAPTURE", "purchase_units": [
            {"amount": {"currency_code": "KWD", "value": "12.00"}}]},
        headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["name"] == "UNPROCESSABLE_ENTITY"
    [detail] = body["details"]
    assert (detail["issue"], detail["field"], detail["location"]) == (
        "CURRENCY_NOT_SUPPORTED",
        "/purchase_units/@reference_id=='default'/amount/currency_code", "body")


@pytest.mark.parametrize("currency", ["AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD",
                                      "ILS", "MYR", "MXN", "NZD", "NOK", "PHP", "PLN", "GBP",
                                      "SGD", "SEK", "CHF", "THB", "USD"])
def test_every_currency_on_paypals_list_is_taken(paypal_gateway, currency):
    order_id, _ = _order(paypal_gateway, "12.00", currency)
    assert order_id
