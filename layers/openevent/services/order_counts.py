"""An event's orders per status — how many, their seats and their sales — and the same per
ticket: the `meta.count` of the organizer's order tabs (`GET /v1/events/<id>/orders`,
filtered `status eq X` by the web app) and the event's and tickets' `order-statistics` (the
event dashboard asks for the event's and every ticket's). Maintained in the transactions that
create orders and move their status — never counted from the event's orders.

The rule: an order is counted exactly when its `event_status` attribute is set, and in the
status that attribute names. So
- a new order is saved with `event_status` and adds itself to its status's figures in the
  same transaction (`add_new`);
- a status change is conditioned on the `event_status` it read and moves the order from that
  status's figures to the new one's in the same transaction (`move`): two racing transitions
  cannot both move the same order, and an order is never moved twice;
- an admin's change of an order's amount moves its sales in the same transaction
  (`amount_changed`);
- an order from before the figures were kept (no `event_status`) becomes counted by the first
  transition that touches it, or by `backfill()`.

Each figure (`orders#event:<id>#<status>`, `orders#ticket:<id>#<status>`) is sharded like the
list counts (`openevent.services.list_counts`): one shard at random per write, so an
on-sale's buyers do not meet on one item (docs/scale.md). An item holds `value` (orders),
`seats` and `sales` (exact decimals, the order's currency units). A ticket's figures count
the orders holding it, its seats in them and their price after discount.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from openevent.models.orders import ORDER_STATUSES, Order, event_status_key
from openevent.models.system import Statistic
from openevent.services import list_counts
from openevent.services.inventory import Batch

MIGRATED = "migrations#order-event-status"


def figure(event_id: int, status: str) -> str:
    return f"orders#event:{int(event_id)}#{status}"


def ticket_figure(ticket_id: int, status: str) -> str:
    return f"orders#ticket:{int(ticket_id)}#{status}"


def counted_status(order: Order) -> str | None:
    """The status `order` is counted in, None when it is not counted yet."""
    if not order.event_status:
        return None
    return str(order.event_status).split("#", 1)[1]


def _parts(order: Order, status: str) -> list[tuple[str, int, Decimal]]:
    """(figure, seats, sales) of every figure `order` adds to while in `status`."""
    parts = [(figure(int(order.event_id), status), order.seats, Decimal(order.amount or 0))]
    per_ticket: dict[int, tuple[int, Decimal]] = {}
    for line in order.lines or []:
        seats, sales = per_ticket.get(int(line.ticket_id), (0, Decimal(0)))
        quantity = int(line.quantity)
        per_ticket[int(line.ticket_id)] = (seats + quantity, sales + (
            Decimal(line.price) - Decimal(line.discount or 0)) * quantity)
    parts += [(ticket_figure(tid, status), seats, sales)
              for tid, (seats, sales) in sorted(per_ticket.items())]
    return parts


def _add(batch: Batch, label: str, order: Order, status: str, sign: int) -> None:
    for n, (name, seats, sales) in enumerate(_parts(order, status)):
        batch.update(f"count:{label}:{n}", list_counts.shard(name),
                     [Statistic.value.add(sign), Statistic.seats.add(sign * seats),
                      Statistic.sales.add(sign * sales)])


def add_new(batch: Batch, order: Order) -> None:
    """`order` (about to be saved in `batch`) is counted in its status."""
    order.event_status = event_status_key(int(order.event_id), str(order.status))
    _add(batch, "new", order, str(order.status), 1)


def move(batch: Batch, current: Order, to: str) -> tuple[list[Any], Any]:
    """The order's actions and condition for a move of `current` (as read) to status `to`,
    with the figures' updates added to `batch`."""
    counted = counted_status(current)
    actions = [Order.event_status.set(event_status_key(int(current.event_id), to))]
    condition: Any
    if counted is None:
        condition = Order.event_status.does_not_exist()
        _add(batch, "to", current, to, 1)
    else:
        condition = Order.event_status == str(current.event_status)
        if counted != to:
            _add(batch, "from", current, counted, -1)
            _add(batch, "to", current, to, 1)
    return actions, condition


def amount_changed(batch: Batch, current: Order, amount: Decimal) -> Any:
    """The sales of a counted order whose amount an admin sets: the event figure's update
    (added to `batch`) and the order's condition (status and amount as read)."""
    counted = counted_status(current)
    if counted is None:
        return Order.event_status.does_not_exist() & (Order.amount == current.amount)
    delta = Decimal(amount) - Decimal(current.amount or 0)
    if delta:
        batch.update("count:amount", list_counts.shard(figure(int(current.event_id), counted)),
                     [Statistic.sales.add(delta)])
    return (Order.event_status == str(current.event_status)) & (Order.amount == current.amount)


def sums(names: list[str], items: Iterable[Statistic]) -> dict[str, dict[str, Any]]:
    """`value`, `seats` and `sales` of each figure of `names`, from the statistics `items`
    a BatchGetItem of `list_counts.keys(names)` returned."""
    owner = {key: name for name in names for key in list_counts.shard_keys(name)}
    out: dict[str, dict[str, Any]] = {
        name: {"orders": 0, "seats": 0, "sales": Decimal(0)} for name in names}
    for item in items:
        if str(item.name) in owner:
            sums = out[owner[str(item.name)]]
            sums["orders"] += int(item.value or 0)
            sums["seats"] += int(item.seats or 0)
            sums["sales"] += Decimal(item.sales or 0)
    return out


def read(event_id: int, statuses: Iterable[str] = ORDER_STATUSES) -> dict[str, int]:
    """How many orders the event has in each of `statuses` (one BatchGetItem)."""
    wanted = list(dict.fromkeys(statuses))
    counts = list_counts.read(figure(event_id, s) for s in wanted)
    return {s: counts[figure(event_id, s)] for s in wanted}


def statistics_keys(event_id: int, ticket_id: int | None = None) -> list[str]:
    """The statistics items behind `statistics` (to read in one BatchGetItem)."""
    return list_counts.keys(_names(event_id, ticket_id).values())


def _names(event_id: int, ticket_id: int | None) -> dict[str, str]:
    if ticket_id is None:
        return {s: figure(event_id, s) for s in ORDER_STATUSES}
    return {s: ticket_figure(ticket_id, s) for s in ORDER_STATUSES}


def statistics(event_id: int, ticket_id: int | None,
               items: Iterable[Statistic]) -> dict[str, dict[str, Any]]:
    """{status: {"orders", "seats", "sales"}} of the event (or of one ticket's seats), from
    the items of `statistics_keys`."""
    names = _names(event_id, ticket_id)
    found = sums(list(names.values()), items)
    return {s: found[name] for s, name in names.items()}


def _constant(batch: Batch) -> Callable[[], Batch]:
    return lambda: batch


def backfill() -> int:
    """Migration: count the orders written before the figures were kept (no `event_status`),
    each in a transaction that sets it — conditioned on it still being unset and the status
    unchanged, so an order a transition counted meanwhile is not counted twice. Runs once
    (a marker item records it); returns the orders counted."""
    from pynamodb.exceptions import PutError

    from openevent.services import inventory

    if list(Statistic.batch_get([MIGRATED])):
        return 0
    done = 0
    for order in Order.kind_index.query("order", filter_condition=(
            Order.event_status.does_not_exist())):
        batch = Batch()
        status = str(order.status)
        _add(batch, "backfill", order, status, 1)
        batch.update("order", Order(order.id), [Order.event_status.set(
            event_status_key(int(order.event_id), status))],
            Order.event_status.does_not_exist() & (Order.status == status))
        try:
            inventory.run(_constant(batch))
            done += 1
        except inventory.InventoryConflict:
            continue  # moved meanwhile: the transition counted it
    try:
        Statistic(MIGRATED, value=done).save(condition=Statistic.name.does_not_exist())
    except PutError:
        pass
    return done
