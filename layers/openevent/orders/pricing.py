"""Pricing, in one place: price × seats − discount, plus tax — and the discount-code checks.

`quote()` is used by calculate-amount, create-order and POST /v1/orders alike, so the amount a
buyer is shown is the amount they are charged. Money is `Decimal` throughout; per-seat
discounts and the tax are rounded half-up to the event currency's step (0 decimals for JPY,
2 for most and for KWD — Stripe takes its thousandths only in tens: `payments.money.
amount_exponent`, payments/currencies.py), sub-totals are then exact, so every total can be
paid.

Tax (the event's `Tax`, at most one) is either included in the prices (the tax is the part of
the total it contains: total − total / (1 + rate)) or added on top (total × rate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from openevent.errors import Unprocessable
from openevent.models.base import now as utcnow
from openevent.models.events import DiscountCode, Event, Ticket
from openevent.payments.money import amount_exponent, fits_currency, round_amount

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# Keep an order's transactions under DynamoDB's 100 items. Creating one writes the order,
# an attendee per seat, the seat counters, the code, the event's order figure and each
# ticket's (1 + 50 + 20 + 1 + 1 + 20 = 93). Cancelling or expiring it gives back at most one
# counter per seat and moves the same figures (1 + 50 + 1 + 1 + 20 = 73).
MAX_SEATS_PER_ORDER = 50
MAX_TICKETS_PER_ORDER = 20

INACTIVE = "Inactive Discount Code"
EXCEEDED = "Discount Usage Exceeded"
INVALID = "Invalid Discount Code"


def money(value: Decimal | int | str, currency: str | None = None) -> Decimal:
    """Round half-up to the currency's minor unit (USD when none is given)."""
    return round_amount(value, currency)


@dataclass(frozen=True)
class SeatRequest:
    """`quantity` seats of `ticket`; `price` only for donation tickets."""

    ticket: Ticket
    quantity: int
    price: Decimal | None = None


@dataclass
class QuoteLine:
    ticket: Ticket
    quantity: int
    price: Decimal  # unit price
    discount: Decimal = ZERO  # per seat
    discounted: bool = False
    currency: str = "USD"

    @property
    def sub_total(self) -> Decimal:
        return money((self.price - self.discount) * self.quantity, self.currency)


@dataclass
class TaxInfo:
    name: str
    rate: Decimal  # percent
    included: bool


@dataclass
class Quote:
    lines: list[QuoteLine]
    code: DiscountCode | None = None
    tax: TaxInfo | None = None
    sub_total: Decimal = ZERO
    discount: Decimal = ZERO
    tax_amount: Decimal = ZERO
    total: Decimal = ZERO
    counts: dict[int, int] = field(default_factory=dict)
    currency: str = "USD"

    @property
    def seats(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def code_seats(self) -> int:
        """Seats the discount code is applied to (its uses)."""
        return sum(line.quantity for line in self.lines if line.discounted)

    def to_json(self) -> dict[str, Any]:
        """The calculate-amount response shape of the contract."""
        tax = None
        if self.tax is not None:
            tax = {"included": self.tax.included, "amount": float(self.tax_amount),
                   "percent": float(self.tax.rate), "name": self.tax.name}
        tickets = []
        for line in self.lines:
            discount = None
            if line.discounted and self.code is not None:
                discount = {
                    "code": self.code.code,
                    "percent": float(self.code.value) if self.code.type == "percent" else None,
                    "amount": float(line.discount),
                    "total": float(money(line.discount * line.quantity, self.currency)),
                }
            tickets.append({"id": line.ticket.id, "name": line.ticket.name,
                            "price": float(line.price), "quantity": line.quantity,
                            "sub_total": float(line.sub_total), "discount": discount})
        return {"sub_total": float(self.sub_total), "total": float(self.total),
                "discount": float(self.discount), "tax": tax, "tickets": tickets}


def code_applies(code: DiscountCode, ticket: Ticket) -> bool:
    """An event-level code covers every ticket of its event; a ticket code its tickets."""
    if code.used_for == "event":
        return int(code.event_id) == int(ticket.event_id)
    return int(ticket.id) in {int(t) for t in (code.ticket_ids or [])}  # type: ignore[call-overload]


def check_discount_code(code: DiscountCode | None, event: Event, counts: Mapping[int, int],
                        tickets: Mapping[int, Ticket], pointer: str,
                        at: datetime | None = None) -> int:
    """The discount checks of API.md §6 for a non-organizer; returns the uses needed.

    Inactive or outside valid-from..valid-till → "Inactive Discount Code"; not enough uses
    left, or the covered quantity outside min/max-quantity → "Discount Usage Exceeded"; another
    event's code, or none of these tickets → "Invalid Discount Code". All 422 at `pointer`.
    """
    if code is None or code.deleted_at is not None or int(code.event_id) != int(event.id):
        raise Unprocessable(INVALID, pointer)
    at = at or utcnow()
    if not code.is_active:
        raise Unprocessable(INACTIVE, pointer)
    if (code.valid_from and at < code.valid_from) or (code.valid_till and at > code.valid_till):
        raise Unprocessable(INACTIVE, pointer)
    seats = sum(n for tid, n in counts.items() if code_applies(code, tickets[tid]))
    if seats == 0:
        raise Unprocessable(INVALID, pointer)
    if code.min_quantity is not None and seats < int(code.min_quantity):
        raise Unprocessable(EXCEEDED, pointer)
    if code.max_quantity is not None and seats > int(code.max_quantity):
        raise Unprocessable(EXCEEDED, pointer)
    if code.tickets_number is not None and int(code.used_count or 0) + seats > int(
            code.tickets_number):
        raise Unprocessable(EXCEEDED, pointer)
    return seats


def event_tax(event_id: int) -> TaxInfo | None:
    """The event's tax, if the events group's Tax model exists and the event has one."""
    try:
        from openevent.models.event_content import Tax
    except ImportError:  # pragma: no cover - the model ships with the events group
        return None
    for tax in Tax.event_index.query(int(event_id), limit=1):
        return TaxInfo(name=str(tax.name), rate=Decimal(tax.rate),
                       included=bool(tax.is_tax_included_in_price))
    return None


def unit_price(ticket: Ticket, donation: Decimal | None, pointer: str,
               currency: str | None = None) -> Decimal:
    """The price of one seat: the ticket's, 0 for free, the buyer's within min..max for
    donations — in the currency's minor units (a donation with more decimals is 422)."""
    if ticket.type == "free":
        return ZERO
    if ticket.type == "donation":
        low = Decimal(ticket.min_price or 0)
        high = Decimal(ticket.max_price) if ticket.max_price is not None else None
        if donation is None:
            return money(low, currency)
        if donation < low or (high is not None and donation > high):
            raise Unprocessable(f"Donation for '{ticket.name}' must be between {low} and "
                                f"{high if high is not None else 'any amount'}", pointer)
        if not fits_currency(donation, currency):
            raise Unprocessable(f"A donation in {(currency or 'USD').upper()} has at most "
                                f"{amount_exponent(currency)} decimals", pointer)
        return money(donation, currency)
    return money(ticket.price or 0, currency)


def quote(event: Event, requests: Iterable[SeatRequest], code: DiscountCode | None = None,
          *, tax: TaxInfo | None = None, load_tax: bool = True) -> Quote:
    """Price `requests`; `code` (already checked, or None) discounts the tickets it covers."""
    currency = str(event.payment_currency or "USD").upper()
    lines: list[QuoteLine] = []
    for req in requests:
        line = QuoteLine(req.ticket, req.quantity, unit_price(req.ticket, req.price,
                                                              "/tickets", currency),
                         currency=currency)
        if code is not None and code_applies(code, req.ticket) and line.price > 0:
            value = Decimal(code.value or 0)
            off = value if code.type == "amount" else line.price * value / HUNDRED
            line.discount = min(money(off, currency), line.price)
            line.discounted = True
        lines.append(line)
    result = Quote(lines=lines, code=code, currency=currency)
    result.counts = {}
    for line in lines:
        result.counts[int(line.ticket.id)] = result.counts.get(int(line.ticket.id), 0) \
            + line.quantity
    result.sub_total = money(sum((line.sub_total for line in lines), ZERO), currency)
    result.discount = money(sum((line.discount * line.quantity for line in lines), ZERO),
                            currency)
    result.tax = tax if tax is not None or not load_tax else event_tax(event.id)
    total = result.sub_total
    if result.tax is not None:
        rate = result.tax.rate / HUNDRED
        if result.tax.included:
            result.tax_amount = money(total - total / (1 + rate), currency)
        else:
            result.tax_amount = money(total * rate, currency)
            total += result.tax_amount
    result.total = money(total, currency)
    return result
