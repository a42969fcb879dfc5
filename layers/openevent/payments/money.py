"""Decimal amounts <-> the providers' wire formats (Stripe minor units, PayPal decimal strings).

Money is never rounded silently here: an amount the currency cannot represent (1000.50 JPY)
is a ValueError, so a pricing bug surfaces instead of charging a different sum.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from openevent.payments import currencies as rules

_STRIPE_ZERO_DECIMAL = rules.STRIPE_ZERO_DECIMAL
_PAYPAL_ZERO_DECIMAL = rules.PAYPAL_ZERO_DECIMAL
_THREE_DECIMAL = rules.THREE_DECIMAL


def currency_exponent(currency: str, provider: str = "stripe") -> int:
    """Digits after the decimal point the provider uses for `currency` (0, 2 or 3)."""
    code = currency.upper()
    zero = _PAYPAL_ZERO_DECIMAL if provider == "paypal" else _STRIPE_ZERO_DECIMAL
    if code in zero:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


# ISO 4217 currencies without minor units, and those PayPal or Stripe payouts take only whole
# (HUF, TWD, ISK, UGX: Stripe wants them divisible by 100 minor units).
_WHOLE_ON_SOME_PROVIDER = _STRIPE_ZERO_DECIMAL | _PAYPAL_ZERO_DECIMAL | frozenset(
    "ISK UGX".split())
MAX_DECIMALS = 3  # no currency we take has more


def amount_exponent(currency: str | None) -> int:
    """Decimals an amount in `currency` has on this platform: the fewest any provider needs,
    so every amount the server computes can be paid by Stripe and PayPal alike
    (JPY, KRW, HUF: 0; most: 2; BHD, KWD, ...: 2 as well — Stripe takes their thousandths
    only in multiples of 10, see payments/currencies.py)."""
    code = (currency or "USD").upper()
    if code in _WHOLE_ON_SOME_PROVIDER:
        return 0
    return 2


def round_amount(value: Decimal | int | str, currency: str | None) -> Decimal:
    """Round half-up to the currency's step (1062.5 JPY -> 1063, 1.2345 KWD -> 1.23)."""
    quantum = Decimal(1).scaleb(-amount_exponent(currency))
    return Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)


def fits_currency(value: Decimal, currency: str | None) -> bool:
    """True when `value` has no more decimals than `currency` allows (10.50 JPY: False)."""
    return value == round_amount(value, currency)


def _exact(amount: Decimal, exponent: int, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"invalid amount {amount} {currency.upper()}")
    quantum = Decimal(1).scaleb(-exponent)
    try:
        exact = amount.quantize(quantum)
    except InvalidOperation as exc:
        raise ValueError(f"invalid amount {amount} {currency.upper()}") from exc
    if exact != amount:
        raise ValueError(
            f"{amount} {currency.upper()} has more decimals than the currency allows ({exponent})"
        )
    return exact


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Decimal amount -> Stripe's integer minor units (10.50 USD -> 1050, 1000 JPY -> 1000)."""
    exponent = currency_exponent(currency)
    return int(_exact(amount, exponent, currency).scaleb(exponent))


def from_minor_units(units: int, currency: str) -> Decimal:
    """Stripe's integer minor units -> Decimal with the currency's decimals (1050 USD -> 10.50)."""
    exponent = currency_exponent(currency)
    return Decimal(units).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def to_paypal_value(amount: Decimal, currency: str) -> str:
    """Decimal amount -> PayPal's `value` string ("10.50", "1000" for JPY)."""
    exponent = currency_exponent(currency, "paypal")
    return f"{_exact(amount, exponent, currency):f}"


def from_paypal_value(value: str) -> Decimal:
    """PayPal's `value` string -> Decimal, exactly as sent."""
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"invalid PayPal amount {value!r}") from exc
