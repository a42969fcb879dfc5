from decimal import Decimal

import pytest
from openevent.payments.money import (
    from_minor_units,
    from_paypal_value,
    to_minor_units,
    to_paypal_value,
)


def test_usd_amount_becomes_cents():
    assert to_minor_units(Decimal("10.50"), "usd") == 1050


def test_jpy_is_zero_decimal_for_stripe():
    assert to_minor_units(Decimal("1000"), "JPY") == 1000


def test_kwd_is_three_decimal_for_stripe():
    assert to_minor_units(Decimal("1.234"), "KWD") == 1234


def test_amount_finer_than_the_currency_is_refused_not_rounded():
    with pytest.raises(ValueError, match="more decimals"):
        to_minor_units(Decimal("1000.50"), "JPY")


def test_negative_amount_is_refused():
    with pytest.raises(ValueError):
        to_minor_units(Decimal("-1"), "USD")


def test_float_amount_is_refused():
    with pytest.raises(TypeError):
        to_minor_units(10.5, "USD")  # type: ignore[arg-type]


def test_minor_units_back_to_decimal_keeps_currency_places():
    assert from_minor_units(1050, "usd") == Decimal("10.50")
    assert str(from_minor_units(1050, "usd")) == "10.50"
    assert str(from_minor_units(1000, "jpy")) == "1000"


def test_paypal_value_has_two_places_for_usd():
    assert to_paypal_value(Decimal("12.5"), "USD") == "12.50"


def test_paypal_value_has_no_places_for_huf():
    assert to_paypal_value(Decimal("1500"), "HUF") == "1500"


def test_paypal_value_parses_exactly():
    assert from_paypal_value("12.50") == Decimal("12.50")
