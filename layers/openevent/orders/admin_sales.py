"""The admin's sales pages (Open Event Server's `/v1/admin/sales/by-events` and `/fees`): each
event's tickets and sales per order status, and the platform fee on its completed sales.

From the figures the order transactions keep (`openevent.orders.figures`), never from
the orders: a page of events is listed as the admin event list lists them (filters, sorts and
the candidate window of `event_lists`), then the figures of that page's events only are read
in one BatchGetItem per 100 keys (32 shard keys per event) and their owners in one more.
Amounts are exact decimals in the event's currency, served as numbers like every amount.

By organizer, location, marketer and discount code: the roll-ups the order transactions keep
(`openevent.orders.sales_rollups`, read by `openevent.orders.sales_rollup_documents`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from openevent.models.orders import OrderFigure
from openevent.orders import figures as order_counts
from openevent.orders.pricing import money

STATUSES = ("completed", "placed", "pending")


def event_type(values: dict[str, Any]) -> str:
    """Open Event's label: Online, Hybrid, Venue, or To be announced."""
    online, place = bool(values.get("online")), bool(values.get("location_name"))
    if online:
        return "Hybrid" if place else "Online"
    return "Venue" if place else "To be announced"


def figures_of(event_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each event's figures (`order_counts.sums`), read together."""
    keys = [k for eid in event_ids for k in order_counts.keys(order_counts.event_figure(eid))]
    by_event: dict[int, list[OrderFigure]] = {int(e): [] for e in event_ids}
    for item in OrderFigure.batch_get(keys):
        by_event.setdefault(int(str(item.figure).split(":", 1)[1]), []).append(item)
    return {eid: order_counts.sums(items) for eid, items in by_event.items()}


def sales(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`sales` as the app reads it: {status: {"sales_total", "ticket_count"}}."""
    return {s: {"sales_total": float(money(Decimal(figures[s]["sales"]))),
                "ticket_count": int(figures[s]["seats"])} for s in STATUSES}


def fee_rules() -> dict[str, tuple[Decimal, Decimal | None]]:
    """Currency → (service fee percent, maximum fee per order) from the admin's ticket fees."""
    from openevent.platform.records import list_records

    rules: dict[str, tuple[Decimal, Decimal | None]] = {}
    for record in list_records("ticket-fees"):
        data = json.loads(record.data or "{}")
        currency = str(data.get("currency") or "").upper()
        if not currency:
            continue
        pct = Decimal(str(data.get("service_fee") or data.get("service-fee") or 0))
        cap = data.get("maximum_fee", data.get("maximum-fee"))
        rules[currency] = (pct, Decimal(str(cap)) if cap is not None else None)
    return rules


def fee_figures(figures: dict[str, Any], currency: str,
                rules: dict[str, tuple[Decimal, Decimal | None]]) -> dict[str, Any]:
    """Completed seats, the fee rule and the revenue after the fee. The fee is the percentage
    of the completed sales; with a maximum fee per order it is at most orders × maximum (the
    figures hold totals, not each order's amount: exact while no single order passes the
    cap, else the platform's fee is over-, never under-stated)."""
    pct, cap = rules.get(currency.upper(), (Decimal(0), None))
    done = figures["completed"]
    total = Decimal(done["sales"])
    fee = total * pct / 100
    if cap is not None:
        fee = min(fee, cap * int(done["orders"]))
    return {"fee_percentage": float(pct), "maximum_fee": float(cap) if cap is not None else None,
            "revenue": float(money(total - money(fee))), "ticket_count": int(done["seats"])}
