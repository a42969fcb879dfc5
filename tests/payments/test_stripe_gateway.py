"""StripeGateway against the Stripe fake, over real HTTP on 127.0.0.1."""

import logging
import socket
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from openevent.payments.errors import (
    AlreadyRefunded,
    InvalidRequest,
    PaymentDeclined,
    PaymentNotFound,
    ProviderAuthError,
    ProviderUnavailable,
)
from openevent.payments.stripe_gateway import StripeGateway, StripeSettings


def _session(gateway, account, **overrides):
    args = dict(
        connected_account=account, order_identifier="3fa9c1d2-order", amount=Decimal("12.50"),
        currency="USD", description="2 tickets for PyCon", success_url="https://app/ok",
        cancel_url="https://app/cancel",
    )
    args.update(overrides)
    return gateway.create_checkout_session(**args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connect_code_exchange_returns_the_organizers_account(stripe_fake, stripe_gateway):
    code = stripe_fake.create_connect_code()
    account = stripe_gateway.exchange_connect_code(code)
    expected = stripe_fake.accounts[account.stripe_user_id]
    assert account.publishable_key == expected["stripe_publishable_key"]
    assert account.access_token == expected["access_token"]
    assert account.refresh_token == expected["refresh_token"]
    assert account.livemode is False
    assert account.scope == "read_write"


def test_connect_exchange_goes_over_plain_http_to_the_configured_connect_base(
        stripe_fake, stripe_gateway):
    stripe_gateway.exchange_connect_code(stripe_fake.create_connect_code())
    [request] = stripe_fake.requests_to("/oauth/token")
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {stripe_fake.secret_key}"
    assert b"grant_type=authorization_code" in request.body


def test_connect_code_used_twice_is_an_invalid_grant(stripe_fake, stripe_gateway):
    code = stripe_fake.create_connect_code()
    stripe_gateway.exchange_connect_code(code)
    with pytest.raises(InvalidRequest) as err:
        stripe_gateway.exchange_connect_code(code)
    assert err.value.code == "invalid_grant"
    assert err.value.http_status == 400


def test_connect_account_repr_hides_tokens(stripe_fake, stripe_gateway):
    account = stripe_gateway.exchange_connect_code(stripe_fake.create_connect_code())
    assert account.access_token not in repr(account)
    assert account.refresh_token not in repr(account)


def test_checkout_session_is_created_on_the_connected_account(
        stripe_fake, stripe_gateway, connected_account):
    session = _session(stripe_gateway, connected_account)
    assert session.url == f"{stripe_fake.base_url}/c/pay/{session.id}"
    assert (session.status, session.amount, session.currency) == ("open", 1250, "usd")
    assert stripe_fake.account_of(session.id) == connected_account


def test_checkout_session_carries_the_order_identifier(stripe_fake, stripe_gateway,
                                                       connected_account):
    session = _session(stripe_gateway, connected_account)
    stored = stripe_fake.get_object(session.id)
    assert stored["metadata"] == {"order_identifier": "3fa9c1d2-order"}
    assert stored["client_reference_id"] == "3fa9c1d2-order"
    assert stored["success_url"] == "https://app/ok"


def test_zero_decimal_currency_is_sent_in_whole_units(stripe_gateway, connected_account):
    session = _session(stripe_gateway, connected_account, amount=Decimal("1500"), currency="jpy")
    assert (session.amount, session.currency) == (1500, "jpy")


def test_same_idempotency_key_returns_the_same_session(stripe_gateway, connected_account):
    first = _session(stripe_gateway, connected_account, idempotency_key="checkout-3fa9c1d2")
    second = _session(stripe_gateway, connected_account, idempotency_key="checkout-3fa9c1d2")
    assert second.id == first.id


def test_open_session_is_not_paid(stripe_gateway, connected_account):
    session = _session(stripe_gateway, connected_account)
    payment = stripe_gateway.retrieve_checkout_session(session.id,
                                                       connected_account=connected_account)
    assert (payment.status, payment.paid, payment.payment_intent) == ("open", False, None)


def test_completed_session_is_paid_with_its_payment_intent(stripe_fake, stripe_gateway,
                                                           connected_account):
    session = _session(stripe_gateway, connected_account)
    stripe_fake.complete_checkout(session.id)
    payment = stripe_gateway.retrieve_checkout_session(session.id,
                                                       connected_account=connected_account)
    assert (payment.status, payment.paid, payment.amount) == ("complete", True, 1250)
    assert payment.metadata == {"order_identifier": "3fa9c1d2-order"}
    assert payment.payment_intent == stripe_fake.get_object(session.id)["payment_intent"]


def test_payment_intent_reports_status_amount_currency_metadata(stripe_fake, stripe_gateway,
                                                                connected_account):
    session = _session(stripe_gateway, connected_account)
    pi_id = stripe_fake.complete_checkout(session.id)["payment_intent"]
    pi = stripe_gateway.retrieve_payment_intent(pi_id, connected_account=connected_account)
    assert (pi.object, pi.status, pi.paid) == ("payment_intent", "succeeded", True)
    assert (pi.amount, pi.currency, pi.amount_decimal) == (1250, "usd", Decimal("12.50"))
    assert pi.metadata == {"order_identifier": "3fa9c1d2-order"}
    assert pi.charge == stripe_fake.get_object(pi_id)["latest_charge"]


def test_session_of_another_account_is_not_found(stripe_fake, stripe_gateway,
                                                 connected_account):
    session = _session(stripe_gateway, connected_account)
    other = stripe_gateway.exchange_connect_code(stripe_fake.create_connect_code())
    with pytest.raises(PaymentNotFound) as err:
        stripe_gateway.retrieve_checkout_session(session.id,
                                                 connected_account=other.stripe_user_id)
    assert err.value.code == "resource_missing"


def test_unknown_payment_intent_is_not_found(stripe_gateway, connected_account):
    with pytest.raises(PaymentNotFound):
        stripe_gateway.retrieve_payment_intent("pi_nope", connected_account=connected_account)


def test_token_charge_succeeds_on_the_connected_account(stripe_fake, stripe_gateway,
                                                       connected_account):
    charge = stripe_gateway.charge_token(
        connected_account=connected_account, token="tok_visa", amount=Decimal("20.00"),
        currency="EUR", order_identifier="o-7", description="Order o-7")
    assert (charge.object, charge.status, charge.paid) == ("charge", "succeeded", True)
    assert (charge.amount, charge.currency, charge.metadata) == (2000, "eur",
                                                                 {"order_identifier": "o-7"})
    assert stripe_fake.account_of(charge.id) == connected_account


def test_declined_card_raises_payment_declined_with_the_buyer_message(stripe_gateway,
                                                                      connected_account):
    with pytest.raises(PaymentDeclined) as err:
        stripe_gateway.charge_token(
            connected_account=connected_account, token="tok_chargeDeclined",
            amount=Decimal("20.00"), currency="usd", order_identifier="o-7", description="d")
    assert (err.value.code, err.value.decline_code) == ("card_declined", "generic_decline")
    assert err.value.user_message == "Your card was declined."
    assert err.value.http_status == 402


def test_insufficient_funds_decline_code_is_reported(stripe_gateway, connected_account):
    with pytest.raises(PaymentDeclined) as err:
        stripe_gateway.charge_token(
            connected_account=connected_account, token="tok_chargeDeclinedInsufficientFunds",
            amount=Decimal("20.00"), currency="usd", order_identifier="o-7", description="d")
    assert err.value.decline_code == "insufficient_funds"


def test_refund_by_payment_intent_refunds_in_full(stripe_fake, stripe_gateway,
                                                  connected_account):
    session = _session(stripe_gateway, connected_account)
    pi_id = stripe_fake.complete_checkout(session.id)["payment_intent"]
    refund = stripe_gateway.refund(connected_account=connected_account, payment_intent=pi_id)
    assert (refund.status, refund.amount, refund.currency) == ("succeeded", 1250, "usd")
    assert refund.payment_intent == pi_id
    assert stripe_fake.get_object(refund.charge)["refunded"] is True


def test_partial_refund_by_charge(stripe_gateway, connected_account):
    charge = stripe_gateway.charge_token(
        connected_account=connected_account, token="tok_visa", amount=Decimal("20.00"),
        currency="usd", order_identifier="o-7", description="d")
    refund = stripe_gateway.refund(connected_account=connected_account, charge=charge.id,
                                   amount=Decimal("5.00"), currency="usd")
    assert (refund.amount, refund.charge) == (500, charge.id)
    after = stripe_gateway.retrieve_charge(charge.id, connected_account=connected_account)
    assert after.amount_refunded == 500


def test_refunding_twice_raises_already_refunded(stripe_gateway, connected_account):
    charge = stripe_gateway.charge_token(
        connected_account=connected_account, token="tok_visa", amount=Decimal("20.00"),
        currency="usd", order_identifier="o-7", description="d")
    stripe_gateway.refund(connected_account=connected_account, charge=charge.id)
    with pytest.raises(AlreadyRefunded) as err:
        stripe_gateway.refund(connected_account=connected_account, charge=charge.id)
    assert err.value.code == "charge_already_refunded"


def test_repeated_refund_with_the_same_idempotency_key_replays_the_refund(
        stripe_gateway, connected_account):
    charge = stripe_gateway.charge_token(
        connected_account=connected_account, token="tok_visa", amount=Decimal("20.00"),
        currency="usd", order_identifier="o-7", description="d")
    first = stripe_gateway.refund(connected_account=connected_account, charge=charge.id,
                                  idempotency_key="refund-o-7")
    second = stripe_gateway.refund(connected_account=connected_account, charge=charge.id,
                                   idempotency_key="refund-o-7")
    assert second.id == first.id


def test_wrong_secret_key_raises_auth_error_without_the_key(stripe_fake, stripe_settings):
    wrong = "sk_test_wrongwrongwrongwrong1234"
    gateway = StripeGateway(StripeSettings(
        secret_key=wrong, api_base=stripe_fake.base_url, connect_base=stripe_fake.base_url,
        max_network_retries=0))
    with pytest.raises(ProviderAuthError) as err:
        gateway.retrieve_payment_intent("pi_x", connected_account="acct_x")
    assert err.value.http_status == 401
    assert "1234" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_unreachable_stripe_raises_provider_unavailable():
    base = f"http://127.0.0.1:{_free_port()}"
    gateway = StripeGateway(StripeSettings(secret_key="sk_test_x", api_base=base,
                                           connect_base=base, max_network_retries=0, timeout=2))
    with pytest.raises(ProviderUnavailable):
        gateway.retrieve_payment_intent("pi_x", connected_account="acct_x")


def test_no_secret_reaches_logs_or_exception_text(stripe_fake, stripe_gateway, caplog):
    caplog.set_level(logging.DEBUG)
    account = stripe_gateway.exchange_connect_code(stripe_fake.create_connect_code())
    _session(stripe_gateway, account.stripe_user_id)
    with pytest.raises(PaymentDeclined) as err:
        stripe_gateway.charge_token(
            connected_account=account.stripe_user_id, token="tok_chargeDeclined",
            amount=Decimal("20.00"), currency="usd", order_identifier="o", description="d")
    assert "API response body" in caplog.text  # the SDK did log bodies: the filter scrubbed them
    for secret in (stripe_fake.secret_key, account.access_token, account.refresh_token,
                   stripe_fake.webhook_secret):
        assert secret not in caplog.text
        assert secret not in str(err.value)


def test_connect_authorize_url_leads_back_with_a_code_that_exchanges(stripe_fake,
                                                                     stripe_gateway):
    url = stripe_gateway.connect_authorize_url("state-42", "https://app/stripe/callback")
    response = requests.get(url, allow_redirects=False, timeout=5)
    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert (response.status_code, location.path, query["state"]) == (
        303, "/stripe/callback", ["state-42"])
    account = stripe_gateway.exchange_connect_code(query["code"][0])
    assert account.stripe_user_id in stripe_fake.accounts


# --- issue 20, item 6: Stripe's rule for three-decimal currencies, enforced by the sandbox ---

@pytest.mark.parametrize("currency", ["KWD", "BHD", "JOD", "OMR", "TND"])
def test_three_decimal_amounts_must_end_in_zero_at_stripe(stripe_fake, stripe_gateway,
                                                          connected_account, currency):
    """Stripe takes BHD/JOD/KWD/OMR/TND in thousandths, but only multiples of 10."""
    with pytest.raises(InvalidRequest) as err:
        stripe_gateway.create_payment_intent(
            connected_account=connected_account, order_identifier="o-1",
            amount=Decimal("12.345"), currency=currency, description="x")
    assert err.value.code == "invalid_charge_amount"
    with pytest.raises(InvalidRequest):
        _session(stripe_gateway, connected_account, amount=Decimal("12.345"), currency=currency)
    with pytest.raises(InvalidRequest):
        stripe_gateway.charge_token(connected_account=connected_account, token="tok_visa",
                                    amount=Decimal("12.345"), currency=currency,
                                    order_identifier="o-1", description="x")
    intent = stripe_gateway.create_payment_intent(
        connected_account=connected_account, order_identifier="o-1",
        amount=Decimal("12.34"), currency=currency, description="x")
    assert (intent.amount, intent.currency.upper()) == (12340, currency)


def test_the_three_decimal_refusal_is_in_stripes_error_format(stripe_fake, connected_account):
    resp = requests.post(f"{stripe_fake.base_url}/v1/payment_intents", timeout=5, data={
        "amount": "1001", "currency": "kwd"}, headers={
        "Authorization": f"Bearer {stripe_fake.secret_key}", "Stripe-Account": connected_account})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error", "invalid_charge_amount", "amount")
    assert "KWD" in error["message"] and resp.headers["Request-Id"].startswith("req_")
