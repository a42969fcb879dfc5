from datetime import UTC, datetime
from decimal import Decimal

from openevent.documents.formatting import (
    format_event_dates,
    format_moment,
    format_money,
    format_price,
)


def test_same_day_event_is_shown_in_its_timezone_with_its_name():
    text = format_event_dates(
        datetime(2026, 11, 14, 8, 0, tzinfo=UTC),
        datetime(2026, 11, 14, 17, 0, tzinfo=UTC),
        "Europe/Berlin",
    )
    assert text == "Saturday 14 November 2026, 09:00–18:00 CET (Europe/Berlin)"


def test_event_is_dated_by_its_local_day_not_the_utc_day():
    text = format_event_dates(
        datetime(2026, 7, 1, 22, 0, tzinfo=UTC),
        datetime(2026, 7, 2, 6, 0, tzinfo=UTC),
        "Asia/Kolkata",
    )
    assert text == "Thursday 2 July 2026, 03:30–11:30 IST (Asia/Kolkata)"


def test_multi_day_event_across_a_dst_switch_names_both_abbreviations():
    text = format_event_dates(
        datetime(2026, 10, 31, 13, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 22, 0, tzinfo=UTC),
        "America/New_York",
    )
    assert text == (
        "Saturday 31 October 2026, 09:00 EDT – Sunday 1 November 2026, 17:00 EST "
        "(America/New_York)"
    )


def test_numeric_zone_abbreviations_read_as_utc_offsets():
    assert format_moment(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "America/Sao_Paulo") == (
        "1 March 2026, 09:00 UTC-03"
    )


def test_money_uses_the_currency_symbol_or_code():
    assert format_money(Decimal("1234.5"), "eur") == "€1,234.50"
    assert format_money(Decimal("12.5"), "CHF") == "CHF 12.50"
    assert format_money(Decimal("1500"), "JPY") == "¥1,500"


def test_zero_price_reads_free():
    assert format_price(Decimal("0.00"), "USD") == "Free"
    assert format_price(Decimal("5"), "USD") == "$5.00"
