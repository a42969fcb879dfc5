"""Sales roll-ups: an order's orders/seats/sales per status, summed per organizer (the event's
owner), per location (the event's `location_name`, as Open Event Server groups it), per
marketer (the marketer of the order's discount code) and per discount code — the admin's
by-organizers, by-location, by-marketer and discounted pages — kept by the same
transactions, on the same rule, as the per-event figures (`openevent.orders.figures`):

- the groups an order is counted in are fixed on the order (`Order.rollups`, JSON) when it is
  made (`groups_for`), and every later count or uncount of the order (a status move, an
  admin's amount change) uses the groups stored on it, conditioned on them being unchanged
  (`unchanged`): what a move takes away is exactly what was added, whatever happened to the
  event or the code in between;
- each roll-up is its own figure "<kind>:<currency>:<group>" (`figure`) in the
  `order-figures` table, split over the same shards as the event's figure and written on the
  shard the event's figure is (`parts`): a group's sales are never summed across currencies;
- a roll-up shard carries `rollup` = its kind, so the sparse `rollup-index` lists the shards
  of one kind in figure order: a page of rows is one bounded Query
  (`openevent.orders.sales_rollup_pages`).
- an order's transactions write up to four more items (its organizer's, location's, code's
  and marketer's shard); the largest order still fits DynamoDB's 100 items
  (tests/orders/test_event_order_lists.py), a larger one is refused as before (422).

An event's owner never changes here (no ownership transfer exists); when its location name
changes, `openevent.orders.sales_regroup` moves each of its orders to the new location's
roll-up, one conditional transaction per order. A code's marketer is the one it had when the
order was made (Open Event Server stores the marketer on the order).

Orders made before the roll-ups were kept (no `rollups`) are not in them until
`openevent.orders.sales_regroup.backfill` counts them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from openevent.models.orders import Order, OrderFigure

KINDS = ("organizer", "location", "marketer", "discount")


def groups_for(event: Any, code: Any = None) -> str:
    """The groups an order of `event` (with discount code `code`) is counted in, as stored."""
    groups: dict[str, Any] = {"organizer": int(event.owner_id)}
    if event.location_name:
        groups["location"] = str(event.location_name)
    if code is not None:
        groups["discount"] = int(code.id)
        if code.marketer_id is not None:
            groups["marketer"] = int(code.marketer_id)
    return dump(groups)


def dump(groups: dict[str, Any]) -> str:
    return json.dumps(groups, sort_keys=True, separators=(",", ":"))


def groups(order: Order) -> dict[str, Any]:
    """The groups `order` is counted in ({} for an order from before the roll-ups)."""
    if not order.rollups:
        return {}
    return dict(json.loads(str(order.rollups)))


def figure(kind: str, currency: str, group: Any) -> str:
    return f"{kind}:{str(currency).upper()}:{group}"


def figures_of(stored: dict[str, Any], currency: str) -> list[str]:
    """The roll-up figures of `stored` groups, for an order in `currency`."""
    return [figure(kind, currency, stored[kind]) for kind in KINDS
            if stored.get(kind) is not None]


def figures(order: Order) -> list[str]:
    """The roll-up figures `order` is counted in."""
    return figures_of(groups(order), str(order.currency or "USD"))


def parts(order: Order, shard: int, seats: int, sales: Decimal
          ) -> list[tuple[str, int, int, Decimal]]:
    """(figure, shard, seats, sales) of each roll-up the order is counted in: the order's
    seats and amount (its event figure's part) on the event figure's shard."""
    return [(name, shard, seats, sales) for name in figures(order)]


def tag(name: str) -> list[Any]:
    """The action that lists a roll-up shard in `rollup-index` (none for other figures)."""
    kind = name.split(":", 1)[0]
    return [OrderFigure.rollup.set(kind)] if kind in KINDS else []


def unchanged(order: Order) -> Any:
    """The condition that the order's groups are still the ones read."""
    if order.rollups:
        return Order.rollups == str(order.rollups)
    return Order.rollups.does_not_exist()
