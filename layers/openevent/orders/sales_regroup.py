"""Moving orders between sales roll-ups (`openevent.orders.sales_rollups`), exactly once each.

- `regroup_event`: an event's location name changed, so each of its orders leaves the old
  location's roll-up for the new one's: per order one transaction that takes its counted
  figures out of the old roll-up, adds them to the new one and rewrites `Order.rollups`, on
  the condition that the order's counted status (`event_status`) and its groups are still the
  ones read — a status move or an amount change racing with it either comes first (then the
  order is re-read and moved as it is then) or fails its own condition on `rollups` and is
  retried by its caller; nothing is counted twice or lost. The cost is one transaction per
  order of the event, paid by the (rare) change of location, never by a read.
- `backfill`: orders made before the roll-ups were kept (no `rollups`) are put in the groups
  of their event and code as they are now, in the same kind of transaction (once: a marker
  records it).

An order created from an event read before the change and committed after `regroup_event`
listed the event's orders keeps the old location; running `regroup_event` again (it is
idempotent) moves it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from openevent.events import inventory
from openevent.events.inventory import Batch
from openevent.models.events import Event
from openevent.models.orders import Order, OrderFigure
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders import sales_rollups

_ATTEMPTS = 3
MIGRATED = "migrations#sales-rollups"


def _count(status: str, sign: int, seats: int, sales: Decimal) -> list[Any]:
    """ADD actions counting (sign=1) or uncounting (-1) one order in `status`."""
    return [getattr(OrderFigure, f"orders_{status}").add(sign),
            getattr(OrderFigure, f"seats_{status}").add(sign * seats),
            getattr(OrderFigure, f"sales_{status}").add(sign * sales)]


def _move(order: Order, groups: dict[str, Any]) -> Batch:
    """The transaction moving `order` (as read) from its groups to `groups`."""
    batch = Batch()
    status = order_counts.counted_status(order)
    if status is not None:
        currency = str(order.currency or "USD")
        old = set(sales_rollups.figures(order))
        new = set(sales_rollups.figures_of(groups, currency))
        seats, sales = int(order.seats), Decimal(order.amount or 0)
        shard = secrets.randbelow(order_counts.SHARDS)  # the shards of a figure add up
        moves = [(f, -1) for f in sorted(old - new)] + [(f, 1) for f in sorted(new - old)]
        for n, (name, sign) in enumerate(moves):
            batch.update(f"rollup:{n}", OrderFigure(name, shard),
                         _count(status, sign, seats, sales) + sales_rollups.tag(name))
    counted = (Order.event_status == str(order.event_status)) if order.event_status \
        else Order.event_status.does_not_exist()
    batch.update("order", Order(int(order.id)),
                 [Order.rollups.set(sales_rollups.dump(groups))],
                 sales_rollups.unchanged(order) & counted)
    return batch


def _apply(order_id: int, wanted: Callable[[Order], dict[str, Any] | None]) -> bool:
    """Move one order to the groups `wanted(order)` names (None: leave it); True if moved."""
    for _ in range(_ATTEMPTS):
        order = Order.get(int(order_id), consistent_read=True)
        groups = wanted(order)
        if groups is None:
            return False
        batch = _move(order, groups)
        try:
            inventory.run(lambda b=batch: b)  # type: ignore[misc]
            return True
        except inventory.InventoryConflict:
            continue  # moved or regrouped meanwhile: read it again
    return False


def regroup_event(event: Any, orders: Iterable[Order] | None = None) -> int:
    """Each order of `event` into the location roll-up of its current location name (the
    other groups stay as the order has them). Returns the orders moved."""
    location = str(event.location_name) if event.location_name else None

    def wanted(order: Order) -> dict[str, Any] | None:
        if not order.rollups:
            return None  # not in the roll-ups yet: `backfill` puts it in as it is
        groups = sales_rollups.groups(order)
        if groups.get("location") == location:
            return None
        if location is None:
            groups.pop("location", None)
        else:
            groups["location"] = location
        return groups

    found = orders if orders is not None else Order.event_index.query(int(event.id))
    return sum(_apply(int(o.id), wanted) for o in found if wanted(o) is not None)


def backfill() -> int:
    """Migration, once (a marker records it): the orders from before the roll-ups (no
    `rollups`) into the groups of their event and code as they are now. One Query of the
    orders' kind index, at start, never on a request. Returns the orders moved."""
    from pynamodb.exceptions import PutError

    from openevent.models.events import DiscountCode, Event
    from openevent.models.system import Statistic

    if list(Statistic.batch_get([MIGRATED])):
        return 0
    events: dict[int, Any] = {}
    codes: dict[int, Any] = {}

    def wanted(order: Order) -> dict[str, Any] | None:
        if order.rollups:
            return None
        eid = int(order.event_id)
        if eid not in events:
            events[eid] = next(iter(Event.batch_get([eid])), None)
        code = None
        if order.discount_code_id is not None:
            cid = int(order.discount_code_id)
            if cid not in codes:
                codes[cid] = next(iter(DiscountCode.batch_get([cid])), None)
            code = codes[cid]
        if events[eid] is None:
            return None
        return dict(json.loads(sales_rollups.groups_for(events[eid], code)))

    done = 0
    for order in Order.kind_index.query("order",
                                        filter_condition=Order.rollups.does_not_exist()):
        done += _apply(int(order.id), wanted)
    try:
        Statistic(MIGRATED, value=done).save(condition=Statistic.name.does_not_exist())
    except PutError:
        pass
    return done


def update_event(user: User | None, event: Event, values: dict[str, Any]) -> Event:
    """An event's PATCH, as `openevent.events.lifecycle.update_event` does it; a new location
    name then moves the event's orders to that location's roll-up (`regroup_event`)."""
    from openevent.events import lifecycle

    before = event.location_name
    updated = lifecycle.update_event(user, event, values)
    if updated.location_name != before:
        regroup_event(updated)
    return updated
