"""Order statistics of an event or a ticket: `tickets`, `orders` and `sales`, each counted per
order status (`draft` is an `initializing` order) plus `total`.

From the figures kept by the transactions that create and move orders
(`openevent.orders.figures`): one BatchGetItem, whatever the number of orders. A
ticket's numbers count only that ticket's seats and their price.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openevent.models.orders import OrderFigure
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders.pricing import money
from openevent.rules.permissions import get_with_event_role

STATUS_KEYS = {"initializing": "draft", "pending": "pending", "placed": "placed",
               "completed": "completed", "cancelled": "cancelled", "expired": "expired"}
KEYS = ("total", "draft", "cancelled", "pending", "expired", "placed", "completed")


def _statistics(figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    tickets = dict.fromkeys(KEYS, 0)
    counts = dict.fromkeys(KEYS, 0)
    sales = {k: Decimal(0) for k in KEYS}
    for status, key in STATUS_KEYS.items():
        figure = figures[status]
        for k in (key, "total"):
            tickets[k] += int(figure["seats"])
            counts[k] += int(figure["orders"])
            sales[k] += Decimal(figure["sales"])
    return {"tickets": tickets, "orders": counts,
            "sales": {k: float(money(v)) for k, v in sales.items()}}


def statistics(user: User | None, event_id: int,
               ticket_id: int | None = None) -> dict[str, dict[str, Any]]:
    """Statistics over every order of the event, or over one ticket's seats. The figures and
    the caller's role in the event (for the role check that follows) in one BatchGetItem."""
    figure = order_counts.event_figure(event_id) if ticket_id is None \
        else order_counts.ticket_figure(ticket_id)
    found = get_with_event_role(user, event_id, [(OrderFigure, order_counts.keys(figure))])
    return _statistics(order_counts.sums(found[OrderFigure]))
