"""Stripe's wire conventions, as the local Stripe answers them.

Guarantees: `decode_form` reads Stripe's form encoding (`a[b][0][c]=v`) into the nested
dicts and lists Stripe's API means; every refusal is built by `api_error` in Stripe's error
shape (`{"error": {type, message, code, doc_url, param}}` with a `Request-Id`);
`payment_amount` refuses what Stripe refuses (a missing amount or currency, an amount below
its minimum, a three-decimal amount whose last digit is not 0). The test tokens, card
numbers and PaymentMethods are Stripe's published ones (docs.stripe.com/testing#cards).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from openevent.sandboxes.http_server import FakeResponse, random_id

API_VERSION = "2025-10-29.clover"

# Stripe's test tokens (https://docs.stripe.com/testing#cards): brand, last4, or a decline.
TOKENS: dict[str, dict[str, str]] = {
    "tok_visa": {"brand": "Visa", "last4": "4242"},
    "tok_mastercard": {"brand": "MasterCard", "last4": "4444"},
    "tok_amex": {"brand": "American Express", "last4": "8431"},
    "tok_chargeDeclined": {"brand": "Visa", "last4": "0002", "decline_code": "generic_decline",
                           "code": "card_declined", "message": "Your card was declined."},
    "tok_chargeDeclinedInsufficientFunds": {
        "brand": "Visa", "last4": "9995", "decline_code": "insufficient_funds",
        "code": "card_declined", "message": "Your card has insufficient funds."},
    "tok_chargeDeclinedExpiredCard": {
        "brand": "Visa", "last4": "0069", "decline_code": "expired_card",
        "code": "expired_card", "message": "Your card has expired."},
}


# Stripe's test card numbers (what a buyer types into the Payment Element) → test tokens;
# test PaymentMethods (`pm_card_visa`, server-side confirms) likewise.
CARD_NUMBERS = {
    "4242424242424242": "tok_visa", "5555555555554444": "tok_mastercard",
    "378282246310005": "tok_amex", "4000000000000002": "tok_chargeDeclined",
    "4000000000009995": "tok_chargeDeclinedInsufficientFunds",
    "4000000000000069": "tok_chargeDeclinedExpiredCard",
}
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "tok_visa", "pm_card_mastercard": "tok_mastercard",
    "pm_card_amex": "tok_amex", "pm_card_chargeDeclined": "tok_chargeDeclined",
    "pm_card_chargeDeclinedInsufficientFunds": "tok_chargeDeclinedInsufficientFunds",
    "pm_card_chargeDeclinedExpiredCard": "tok_chargeDeclinedExpiredCard",
}


def decode_form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) -> nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                if part == "":
                    node.setdefault("", []).append(value)
                else:
                    node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {""}:
        return list(node[""])
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def api_error(status: int, type_: str, message: str, code: str | None = None,
              param: str | None = None, **extra: Any) -> FakeResponse:
    err: dict[str, Any] = {"type": type_, "message": message}
    if code:
        err["code"] = code
        err["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param is not None:
        err["param"] = param
    err.update(extra)
    return FakeResponse.json(status, {"error": err}, {"Request-Id": random_id("req_", 14)})


def missing_param(param: str) -> FakeResponse:
    return api_error(400, "invalid_request_error", f"Missing required param: {param}.",
                     "parameter_missing", param)


# Stripe's three-decimal currencies (docs.stripe.com/currencies#three-decimal): amounts in
# thousandths, but "the least-significant (last) digit must be 0" for its payment partners.
# The sandbox keeps its own copy of the published rule: it stands in for Stripe, so a
# regression of the platform's own rules (payments/currencies.py) is caught here.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def not_tens(amount: int, currency: str, param: str) -> FakeResponse | None:
    """Stripe's refusal of a three-decimal amount whose last digit is not 0."""
    if currency.lower() in THREE_DECIMAL and amount % 10:
        return api_error(400, "invalid_request_error",
                         f"Invalid amount {amount}: {currency.upper()} is a three-decimal "
                         "currency; amounts must be a multiple of 10 (the last digit must be 0).",
                         "invalid_charge_amount", param)
    return None


def payment_amount(params: dict[str, Any]) -> tuple[int, FakeResponse | None]:
    """A payment's amount, or Stripe's answer when the amount or currency is missing, the
    amount is below its minimum or not a multiple of 10 in a three-decimal currency."""
    amount = as_int(params.get("amount"))
    if amount is None:
        return 0, missing_param("amount")
    if not params.get("currency"):
        return amount, missing_param("currency")
    if amount < 50:
        return amount, api_error(400, "invalid_request_error", "Amount must be at least $0.50 usd",
                                 "amount_too_small", "amount")
    return amount, not_tens(amount, str(params["currency"]), "amount")


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
