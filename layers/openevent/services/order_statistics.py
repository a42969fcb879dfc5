"""Order statistics of an event or a ticket: `tickets`, `orders` and `sales`, each counted per
order status (`draft` is an `initializing` order) plus `total`.

Read through the event's order index (one Query of the event's partition); a ticket's numbers
count only that ticket's seats and their price.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openevent.models.orders import Order
from openevent.services.pricing import money

STATUS_KEYS = {"initializing": "draft", "pending": "pending", "placed": "placed",
               "completed": "completed", "cancelled": "cancelled", "expired": "expired"}
KEYS = ("total", "draft", "cancelled", "pending", "expired", "placed", "completed")


def _empty() -> dict[str, Any]:
    return {key: 0 for key in KEYS}


def _statistics(orders: list[Order], ticket_id: int | None) -> dict[str, dict[str, Any]]:
    tickets, counts, sales = _empty(), _empty(), {k: Decimal(0) for k in KEYS}
    for order in orders:
        key = STATUS_KEYS.get(str(order.status))
        if key is None:
            continue
        if ticket_id is None:
            seats, amount = order.seats, Decimal(order.amount or 0)
            amount = Decimal(amount)
        else:
            lines = [line for line in order.lines or [] if int(line.ticket_id) == ticket_id]
            if not lines:
                continue
            seats = sum(int(line.quantity) for line in lines)
            amount = sum(((Decimal(line.price) - Decimal(line.discount or 0))
                          * int(line.quantity) for line in lines), Decimal(0))
        for k in (key, "total"):
            tickets[k] += seats
            counts[k] += 1
            sales[k] += Decimal(amount)
    return {"tickets": tickets, "orders": counts,
            "sales": {k: float(money(v)) for k, v in sales.items()}}


def event_statistics(event_id: int) -> dict[str, dict[str, Any]]:
    """Statistics over every order of the event."""
    return _statistics(list(Order.event_index.query(int(event_id))), None)


def ticket_statistics(ticket_id: int, event_id: int) -> dict[str, dict[str, Any]]:
    """Statistics over the seats of one ticket."""
    return _statistics(list(Order.event_index.query(int(event_id))), int(ticket_id))
