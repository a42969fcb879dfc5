"""Each payment provider's published currency rules, in one place.

Stripe (https://docs.stripe.com/currencies): amounts go in the currency's minor unit; the
zero-decimal currencies in whole units; the three-decimal currencies (BHD, JOD, KWD, OMR,
TND) in thousandths, but "the least-significant (last) digit must be 0" — only multiples of
10 are taken.
PayPal (https://developer.paypal.com/api/rest/reference/currency-codes/): only the currencies
listed there (none of the three-decimal ones); HUF, JPY and TWD without decimals.

What the platform makes of them:
- an amount is kept in the finest step every provider takes (`payments.money.amount_exponent`):
  hundredths for the three-decimal currencies (Stripe's tens of thousandths), whole units for
  HUF, JPY, TWD, ..., so every price, discount, tax and total can be paid;
- an event's currency must be one every online payment method it accepts takes
  (`refusal`), checked when an event is created or changed and when a paid ticket is added
  (422 naming the field; events/lifecycle.py, events/tickets.py).
Not checked here: Stripe's list of ~135 presentment currencies and its minimum charge per
currency — Stripe refuses those when the payment is created, which the API answers as a 422.

The payment sandboxes (openevent/sandboxes) keep their own copies of these published rules, so
that a regression here is caught by the tests instead of mirrored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# https://docs.stripe.com/currencies#zero-decimal
STRIPE_ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
# https://docs.stripe.com/currencies#three-decimal: thousandths, the last digit 0.
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
STRIPE_THREE_DECIMAL_STEP = 10  # minor units

# https://developer.paypal.com/api/rest/reference/currency-codes/ (RUB is no longer listed)
PAYPAL_CURRENCIES = frozenset(
    "AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD SEK CHF "
    "THB USD".split())
PAYPAL_ZERO_DECIMAL = frozenset("HUF JPY TWD".split())

# The event flags of the online methods, and whose rules each follows.
ONLINE_METHODS = {"can_pay_by_stripe": "Stripe", "can_pay_by_paypal": "PayPal"}


def takes(provider: str, currency: str) -> bool:
    """Whether `provider` ("Stripe", "PayPal") takes payments in `currency` at all."""
    if provider == "PayPal":
        return currency.upper() in PAYPAL_CURRENCIES
    return True  # Stripe's list is not kept here (see the module docstring)


def refusal(currency: str | None, methods: Mapping[str, Any]) -> tuple[str, str] | None:
    """(flag, reason) for the first enabled online method (`methods`: event flag -> on)
    whose provider does not take `currency`; None when every one does."""
    code = (currency or "USD").upper()
    for flag, provider in ONLINE_METHODS.items():
        if methods.get(flag) and not takes(provider, code):
            extra = " (it takes no three-decimal currency)" if code in THREE_DECIMAL else ""
            return flag, (f"{provider} does not take payments in {code}{extra}; choose "
                          f"another currency or turn {provider} off for this event")
    return None
