"""How dates and money read on tickets and in ticket mail (pure stdlib, shared by both)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

# Symbols for the currencies people meet most; anything else prints its ISO code.
_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "INR": "₹",
    "JPY": "¥",
    "CNY": "¥",
    "KRW": "₩",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "C$",
    "VND": "₫",
}
# ISO 4217 minor units where they are not 2.
_ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}


def format_money(amount: Decimal, currency: str) -> str:
    """``Decimal("12.5"), "EUR"`` → ``"€12.50"``; unknown codes → ``"CHF 12.50"``."""
    code = currency.upper()
    exponent = Decimal("1") if code in _ZERO_DECIMAL else Decimal("0.01")
    number = f"{amount.quantize(exponent):,}"
    symbol = _SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{code} {number}"


def format_price(amount: Decimal, currency: str) -> str:
    """Like :func:`format_money`, but a zero price reads ``"Free"``."""
    return "Free" if amount == 0 else format_money(amount, currency)


def _zone_label(moment: datetime) -> str:
    # zoneinfo abbreviations are sometimes bare offsets ("+03"); print those as UTC+03.
    abbreviation = moment.tzname() or ""
    if abbreviation[:1] in "+-":
        return f"UTC{abbreviation}"
    return abbreviation


def format_event_dates(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """The event's span in its own timezone, naming the zone.

    Same day: ``"Saturday 14 November 2026, 09:00–18:00 CET (Europe/Berlin)"``.
    Several days: ``"Saturday 14 November 2026, 09:00 – Sunday 15 November 2026, 17:00 CET
    (Europe/Berlin)"``. If the abbreviation changes inside the span (a DST switch), both are shown.
    """
    zone = ZoneInfo(timezone)
    start = starts_at.astimezone(zone)
    end = ends_at.astimezone(zone)
    start_day = f"{start:%A} {start.day} {start:%B %Y}"
    start_label, end_label = _zone_label(start), _zone_label(end)
    if start.date() == end.date():
        span = f"{start_day}, {start:%H:%M}–{end:%H:%M}"
    else:
        end_day = f"{end:%A} {end.day} {end:%B %Y}"
        span = f"{start_day}, {start:%H:%M} – {end_day}, {end:%H:%M}"
    if start_label != end_label:
        span = span.replace(f"{start:%H:%M}", f"{start:%H:%M} {start_label}", 1)
    return f"{span} {end_label} ({timezone})"


def format_moment(moment: datetime, timezone: str) -> str:
    """One instant in the event's timezone: ``"2 November 2026, 11:00 CET"``."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.day} {local:%B %Y, %H:%M} {_zone_label(local)}"
