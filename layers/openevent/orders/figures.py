"""An event's orders per status — how many, their seats and their sales — the same per
ticket, and the event's live attendees: the `meta.count` of the organizer's order and
attendee tabs and the event's and tickets' `order-statistics` (the event dashboard asks for
the event's and every ticket's). Maintained in the transactions that create orders, move
their status and create or delete attendees — never counted from the orders.

The rule: an order is counted exactly when its `event_status` attribute is set, and in the
status that attribute names. So
- a new order is saved with `event_status` and adds itself to its status's figures in the
  same transaction (`add_new`);
- a status change is conditioned on the `event_status` it read and moves the order from that
  status's figures to the new one's in the same transaction (`move`): two racing transitions
  cannot both move the same order, and an order is never moved twice;
- an admin's change of an order's amount moves its sales in the same transaction
  (`amount_changed`): the event's by the difference, each ticket's by its share of it;
- an order from before the figures were kept (no `event_status`) becomes counted by the first
  transition that touches it, or by `backfill()`.

Where the figures live (`OrderFigure`, table `order-figures`): "event:<id>" and
"ticket:<id>", each split over `SHARDS` items that add up; the sales roll-ups of the
order's groups (`openevent.orders.sales_rollups`) move with the event's figure, on its
shard. One item per figure holds every status, so a status change is one update of one item
(ADD to the old status's numbers and the new one's). An order's figures go to the shard
numbered like the seat shard its seats came from (`_shard`): buyers who meet on a figure
item already meet on a seat shard, so the figures add no transaction conflicts of their own
to a sharded on-sale (bench/orders.py); orders of unsharded tickets pick a shard at random.
Reading a figure is one BatchGetItem of its `SHARDS` keys.

A ticket's sales in an order are its line total ((price − discount) × seats) plus its share of
what an admin added to or took from the amount the order came to (`adjustments`): the
difference split over the order's tickets in proportion to their line totals (by seats when
all are free), each share rounded half-up to the currency's minor unit and the largest line
taking the remainder, so the shares add up exactly. The shares are kept on the order's lines
(`OrderLine.adjustment`) and always recomputed from the whole difference, never per edit, so
they depend only on the order as it is — every later move uncounts exactly what was counted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from openevent.events.inventory import MAX_SHARDS, Batch
from openevent.models.orders import (
    ORDER_STATUSES,
    Order,
    OrderFigure,
    OrderLine,
    event_status_key,
)
from openevent.orders import sales_rollups
from openevent.payments.money import round_amount

SHARDS = MAX_SHARDS  # a figure shard for each seat shard a ticket can have
MIGRATED = "migrations#order-event-status"


def event_figure(event_id: int) -> str:
    return f"event:{int(event_id)}"


def ticket_figure(ticket_id: int) -> str:
    return f"ticket:{int(ticket_id)}"


def keys(figure: str) -> list[tuple[str, int]]:
    """The OrderFigure keys of `figure` (to read in a BatchGetItem, with other keys)."""
    return [(figure, n) for n in range(SHARDS)]


def counted_status(order: Order) -> str | None:
    """The status `order` is counted in, None when it is not counted yet."""
    if not order.event_status:
        return None
    return str(order.event_status).split("#", 1)[1]


def _shard(order: Order, ticket_id: int | None = None) -> int:
    """The figure shard for `order` (or for its seats of `ticket_id`): the seat shard its
    seats came from, else one at random."""
    shards = order.shard_counts()
    tickets = [int(ticket_id)] if ticket_id is not None else sorted(shards)
    for tid in tickets:
        if shards.get(tid):
            return min(shards[tid]) % SHARDS
    return secrets.randbelow(SHARDS)


def _per_ticket(order: Order) -> dict[int, tuple[int, Decimal, Decimal]]:
    """ticket id -> (seats, line total, admin adjustment) of `order`."""
    out: dict[int, tuple[int, Decimal, Decimal]] = {}
    for line in order.lines or []:
        seats, sales, adjusted = out.get(int(line.ticket_id), (0, Decimal(0), Decimal(0)))
        quantity = int(line.quantity)
        out[int(line.ticket_id)] = (
            seats + quantity,
            sales + (Decimal(line.price) - Decimal(line.discount or 0)) * quantity,
            adjusted + Decimal(line.adjustment or 0))
    return out


def _parts(order: Order) -> list[tuple[str, int, int, Decimal]]:
    """(figure, shard, seats, sales) of every figure `order` is counted in."""
    parts = [(event_figure(int(order.event_id)), _shard(order), order.seats,
              Decimal(order.amount or 0))]
    parts += sales_rollups.parts(order, *parts[0][1:])  # its groups' figures, the same
    parts += [(ticket_figure(tid), _shard(order, tid), seats, sales + adjusted)
              for tid, (seats, sales, adjusted) in sorted(_per_ticket(order).items())]
    return parts


def adjustments(order: Order, amount: Decimal) -> dict[int, Decimal]:
    """Each ticket's share of the difference between `amount` and what `order` came to
    before any admin change (its amount less the adjustments it already carries)."""
    per_ticket = _per_ticket(order)
    if not per_ticket:
        return {}
    before = Decimal(order.amount or 0) - sum(a for _s, _t, a in per_ticket.values())
    delta = Decimal(amount) - before
    weights = {tid: total for tid, (_s, total, _a) in per_ticket.items()}
    if sum(weights.values()) <= 0:
        weights = {tid: Decimal(seats) for tid, (seats, _t, _a) in per_ticket.items()}
    weight = sum(weights.values())
    largest = max(sorted(weights), key=lambda tid: weights[tid])
    if weight <= 0:
        return {tid: (delta if tid == largest else Decimal(0)) for tid in weights}
    shares = {tid: round_amount(delta * w / weight, order.currency)
              for tid, w in weights.items() if tid != largest}
    shares[largest] = delta - sum(shares.values(), Decimal(0))
    return shares


def _adjusted_lines(order: Order, shares: dict[int, Decimal]) -> list[OrderLine]:
    """The order's lines with each ticket's share on its first line."""
    lines, seen = [], set()
    for line in order.lines or []:
        tid = int(line.ticket_id)
        share = shares.get(tid, Decimal(0)) if tid not in seen else Decimal(0)
        seen.add(tid)
        lines.append(OrderLine(ticket_id=tid, quantity=int(line.quantity),
                               price=Decimal(line.price),
                               discount=Decimal(line.discount or 0),
                               discounted=bool(line.discounted),
                               adjustment=share if share else None))
    return lines


def _count(status: str, sign: int, seats: int, sales: Decimal) -> list[Any]:
    """The ADD actions counting (sign=1) or uncounting (-1) one order in `status`."""
    return [getattr(OrderFigure, f"orders_{status}").add(sign),
            getattr(OrderFigure, f"seats_{status}").add(sign * seats),
            getattr(OrderFigure, f"sales_{status}").add(sign * sales)]


def _update(batch: Batch, order: Order, actions: Callable[[int, Decimal], list[Any]],
            extra: dict[str, list[Any]] | None = None) -> None:
    for n, (figure, shard, seats, sales) in enumerate(_parts(order)):
        more = (extra or {}).get(figure, []) + sales_rollups.tag(figure)
        batch.update(f"count:{n}", OrderFigure(figure, shard), actions(seats, sales) + more)


def add_new(batch: Batch, order: Order, attendees: int = 0) -> None:
    """`order` (about to be saved in `batch`, its seats already taken) is counted in its
    status; `attendees` new attendees of the event come with it."""
    status = str(order.status)
    order.event_status = event_status_key(int(order.event_id), status)
    extra = {event_figure(int(order.event_id)): [OrderFigure.attendees.add(attendees)]} \
        if attendees else None
    _update(batch, order, lambda seats, sales: _count(status, 1, seats, sales), extra)


def move(batch: Batch, current: Order, to: str) -> tuple[list[Any], Any]:
    """The order's actions and condition for a move of `current` (as read) to status `to`,
    with the figures' updates added to `batch`."""
    counted = counted_status(current)
    actions = [Order.event_status.set(event_status_key(int(current.event_id), to))]
    condition: Any
    if counted is None:
        condition = Order.event_status.does_not_exist()
        _update(batch, current, lambda seats, sales: _count(to, 1, seats, sales))
    else:
        condition = Order.event_status == str(current.event_status)
        if counted != to:
            _update(batch, current, lambda seats, sales: (
                _count(counted, -1, seats, sales) + _count(to, 1, seats, sales)))
    return actions, condition & sales_rollups.unchanged(current)


def amount_changed(batch: Batch, current: Order, amount: Decimal) -> tuple[Any, list[Any]]:
    """An admin sets the amount of `current` (as read): the updates of the event's sales and
    of each ticket's (added to `batch`), and the order's condition (status and amount as
    read) and actions (its lines with the tickets' new shares, `adjustments`)."""
    shares = adjustments(current, Decimal(amount))
    before = {tid: adjusted for tid, (_s, _t, adjusted) in _per_ticket(current).items()}
    actions = [Order.lines.set(_adjusted_lines(current, shares))] if current.lines else []
    counted = counted_status(current)
    if counted is None:
        return Order.event_status.does_not_exist() & (Order.amount == current.amount), actions
    sales = getattr(OrderFigure, f"sales_{counted}")
    delta = Decimal(amount) - Decimal(current.amount or 0)
    if delta:
        batch.update("count:amount", OrderFigure(event_figure(int(current.event_id)),
                                                 _shard(current)), [sales.add(delta)])
        for n, name in enumerate(sales_rollups.figures(current)):
            batch.update(f"count:amount:rollup:{n}", OrderFigure(name, _shard(current)),
                         [sales.add(delta), *sales_rollups.tag(name)])
    for tid in sorted(shares):
        moved = shares[tid] - before.get(tid, Decimal(0))
        if moved:
            batch.update(f"count:amount:{tid}", OrderFigure(ticket_figure(tid),
                                                            _shard(current, tid)),
                         [sales.add(moved)])
    condition = (Order.event_status == str(current.event_status)) & (
        Order.amount == current.amount) & sales_rollups.unchanged(current)
    return condition, actions


def attendees_added(batch: Batch, event_id: int, delta: int, seat_shard: int | None) -> None:
    """`delta` live attendees of the event, outside an order (a hold created or deleted),
    counted inside `batch` on the shard of the seat they hold."""
    shard = int(seat_shard) % SHARDS if seat_shard is not None else secrets.randbelow(SHARDS)
    batch.update("count:attendees", OrderFigure(event_figure(event_id), shard),
                 [OrderFigure.attendees.add(delta)])


# --- reading -------------------------------------------------------------------------------

def sums(items: Iterable[OrderFigure]) -> dict[str, Any]:
    """The shards of one figure added up: {status: {"orders", "seats", "sales"}} and
    "attendees"."""
    out: dict[str, Any] = {s: {"orders": 0, "seats": 0, "sales": Decimal(0)}
                           for s in ORDER_STATUSES}
    out["attendees"] = 0
    for item in items:
        out["attendees"] += int(item.attendees or 0)
        for status in ORDER_STATUSES:
            figures = out[status]
            figures["orders"] += int(getattr(item, f"orders_{status}") or 0)
            figures["seats"] += int(getattr(item, f"seats_{status}") or 0)
            figures["sales"] += Decimal(getattr(item, f"sales_{status}") or 0)
    return out


def read(figure: str) -> dict[str, Any]:
    """One figure (`sums`), in one BatchGetItem."""
    return sums(OrderFigure.batch_get(keys(figure)))


def orders_per_status(event_id: int) -> dict[str, int]:
    """How many orders the event has in each status."""
    figures = read(event_figure(event_id))
    return {s: int(figures[s]["orders"]) for s in ORDER_STATUSES}


# --- migration -----------------------------------------------------------------------------

def _counting(status: str) -> Callable[[int, Decimal], list[Any]]:
    return lambda seats, sales: _count(status, 1, seats, sales)


def _constant(batch: Batch) -> Callable[[], Batch]:
    return lambda: batch


def backfill() -> int:
    """Migration: count the orders written before the figures were kept (no `event_status`),
    each in a transaction that sets it — conditioned on it still being unset and the status
    unchanged, so an order a transition counted meanwhile is not counted twice. Runs once
    (a marker item records it); returns the orders counted."""
    from pynamodb.exceptions import PutError

    from openevent.events import inventory
    from openevent.models.system import Statistic

    if list(Statistic.batch_get([MIGRATED])):
        return 0
    done = 0
    for order in Order.kind_index.query("order", filter_condition=(
            Order.event_status.does_not_exist())):
        batch = Batch()
        status = str(order.status)
        _update(batch, order, _counting(status))
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


ATTENDEES_MIGRATED = "migrations#attendee-counts"


def backfill_attendees() -> int:
    """Migration, once (a marker item records it), before traffic: the live attendees of every
    event stored before the figure was kept, added to shard 0 of the event's figure — one
    COUNT Query of each event's attendee partition, at start, never on a request. Returns the
    events counted."""
    from pynamodb.exceptions import PutError

    from openevent.models.events import Event
    from openevent.models.orders import Attendee
    from openevent.models.system import Statistic

    if list(Statistic.batch_get([ATTENDEES_MIGRATED])):
        return 0
    try:  # the marker first: a second start does not count again
        Statistic(ATTENDEES_MIGRATED, value=1).save(condition=Statistic.name.does_not_exist())
    except PutError:
        return 0
    counted = 0
    for event in Event.kind_index.query("event"):
        live = Attendee.event_index.count(int(event.id),
                                          filter_condition=Attendee.deleted_at.does_not_exist())
        if live:
            OrderFigure(event_figure(int(event.id)), 0).update(
                actions=[OrderFigure.attendees.add(int(live))])
            counted += 1
    return counted
