"""How many orders an event has in each status: the `meta.count` of the organizer's order
tabs (`GET /v1/events/<id>/orders`, filtered `status eq X` by the web app), maintained in
the transactions that create orders and move their status — never counted from the event's
orders.

The rule: an order is counted in figure `orders#event:<event id>#<status>` exactly when its
`event_status` attribute is set, and in the status that attribute names. So
- a new order is saved with `event_status` and adds 1 to its status's figure in the same
  transaction (`add_new`);
- a status change is conditioned on the `event_status` it read and moves 1 from that
  status's figure to the new one's in the same transaction (`move`): two racing transitions
  cannot both move the same order, and an order is never moved twice;
- an order from before the figures were kept (no `event_status`) becomes counted by the first
  transition that touches it, or by `backfill()`.

Figures are the list counts' sharded items (`openevent.services.list_counts`): one shard, at
random, per write, so an on-sale's buyers do not meet on one counter item (docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openevent.models.orders import ORDER_STATUSES, Order, event_status_key
from openevent.models.system import Statistic
from openevent.services import list_counts
from openevent.services.inventory import Batch

MIGRATED = "migrations#order-event-status"


def figure(event_id: int, status: str) -> str:
    return f"orders#event:{int(event_id)}#{status}"


def counted_status(order: Order) -> str | None:
    """The status `order` is counted in, None when it is not counted yet."""
    if not order.event_status:
        return None
    return str(order.event_status).split("#", 1)[1]


def add_new(batch: Batch, order: Order) -> None:
    """`order` (about to be saved in `batch`) is counted in its status."""
    order.event_status = event_status_key(int(order.event_id), str(order.status))
    batch.update("count:order", list_counts.shard(figure(int(order.event_id), str(order.status))),
                 [Statistic.value.add(1)])


def move(batch: Batch, current: Order, to: str) -> tuple[list[Any], Any]:
    """The order's actions and condition for a move of `current` (as read) to status `to`,
    with the figures' updates added to `batch`."""
    counted = counted_status(current)
    event_id = int(current.event_id)
    actions = [Order.event_status.set(event_status_key(event_id, to))]
    if counted is None:
        condition = Order.event_status.does_not_exist()
        batch.update("count:to", list_counts.shard(figure(event_id, to)),
                     [Statistic.value.add(1)])
    else:
        condition = Order.event_status == str(current.event_status)
        if counted != to:
            batch.update("count:from", list_counts.shard(figure(event_id, counted)),
                         [Statistic.value.add(-1)])
            batch.update("count:to", list_counts.shard(figure(event_id, to)),
                         [Statistic.value.add(1)])
    return actions, condition


def read(event_id: int, statuses: Iterable[str] = ORDER_STATUSES) -> dict[str, int]:
    """The event's figures for `statuses`, in one BatchGetItem."""
    wanted = list(dict.fromkeys(statuses))
    counts = list_counts.read(figure(event_id, s) for s in wanted)
    return {s: counts[figure(event_id, s)] for s in wanted}


def backfill() -> int:
    """Migration: count the orders written before the figures were kept (no `event_status`),
    each in a transaction that sets it — conditioned on it still being unset and the status
    unchanged, so an order a transition counted meanwhile is not counted twice. Runs once
    (a marker item records it); returns the orders counted."""
    from pynamodb.exceptions import PutError, TransactWriteError
    from pynamodb.transactions import TransactWrite

    from openevent.models.base import db_connection

    if list(Statistic.batch_get([MIGRATED])):
        return 0
    done = 0
    for order in Order.kind_index.query("order", filter_condition=(
            Order.event_status.does_not_exist())):
        try:
            with TransactWrite(connection=db_connection()) as tx:
                tx.update(Order(order.id), actions=[Order.event_status.set(
                    event_status_key(int(order.event_id), str(order.status)))],
                    condition=Order.event_status.does_not_exist()
                    & (Order.status == str(order.status)))
                list_counts.add(tx, figure(int(order.event_id), str(order.status)), 1)
            done += 1
        except TransactWriteError:
            continue  # moved meanwhile: the transition counted it
    try:
        Statistic(MIGRATED, value=done).save(condition=Statistic.name.does_not_exist())
    except PutError:
        pass
    return done
