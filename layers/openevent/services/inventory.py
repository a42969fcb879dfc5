"""Seats and discount uses: counters changed only by conditional writes inside one
`TransactWriteItems` (see docs/concurrency.md).

DynamoDB conditions cannot do arithmetic, so "seats_taken + n ≤ quantity" is written as
"quantity = q AND seats_taken ≤ q − n" with `q` as just read: if the quantity was edited
meanwhile the condition fails and the caller re-reads and retries; if the seats are gone it
fails for good (sold out). Releases are guarded by "counter ≥ n" so a counter can never go
negative, and they run in the same transaction as the status change that ends the hold, so a
hold is released exactly once.

A transaction either applies every operation or none: the order (or attendee), all its
tickets' counters and the discount code's counter move together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from openevent.models.base import db_connection
from openevent.models.events import DiscountCode, Ticket

_ATTEMPTS = 6


class InventoryConflict(Exception):
    """A transaction's condition failed; `labels` name the operations whose check failed."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels

    def failed(self, prefix: str) -> list[str]:
        return [label for label in self.labels if label.startswith(prefix)]


class SoldOut(Exception):
    """A ticket has fewer seats left than requested (known before writing)."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(str(ticket.name))
        self.ticket = ticket


@dataclass
class Batch:
    """The operations of one transaction, each with a label for error reporting."""

    ops: list[tuple[str, str, Model, dict[str, Any]]] = field(default_factory=list)

    def save(self, label: str, item: Model, condition: Any = None) -> None:
        self.ops.append((label, "save", item, {"condition": condition}))

    def update(self, label: str, item: Model, actions: list[Any], condition: Any = None) -> None:
        self.ops.append((label, "update", item, {"actions": actions, "condition": condition}))

    def check(self, label: str, item: Model, condition: Any) -> None:
        self.ops.append((label, "check", item, {"condition": condition}))

    @property
    def labels(self) -> list[str]:
        return [op[0] for op in self.ops]


# --- building blocks --------------------------------------------------------------------

def acquire_seats(batch: Batch, tickets: Mapping[int, Ticket], counts: Mapping[int, int]) -> None:
    """Take `counts[t]` seats of each ticket `t`, conditional on the quantity read."""
    for tid, n in sorted(counts.items()):
        if n <= 0:
            continue
        ticket = tickets[tid]
        quantity = int(ticket.quantity)
        if quantity - n < 0 or int(ticket.seats_taken or 0) + n > quantity:
            raise SoldOut(ticket)
        condition = (
            (Ticket.quantity == quantity)
            & Ticket.deleted_at.does_not_exist()
            & (Ticket.seats_taken.does_not_exist() | (Ticket.seats_taken <= quantity - n))
        )
        batch.update(f"ticket:{tid}", Ticket(tid), [Ticket.seats_taken.add(n)], condition)


def release_seats(batch: Batch, counts: Mapping[int, int]) -> None:
    """Give back `counts[t]` seats of each ticket (never below zero)."""
    for tid, n in sorted(counts.items()):
        if n > 0:
            batch.update(f"ticket:{tid}", Ticket(tid), [Ticket.seats_taken.add(-n)],
                         Ticket.seats_taken >= n)


def consume_code(batch: Batch, code: DiscountCode, uses: int) -> None:
    """Use `uses` of the code: only while active and `used_count + uses ≤ tickets_number`."""
    if uses <= 0:
        return
    condition = (DiscountCode.is_active == True) & DiscountCode.deleted_at.does_not_exist()  # noqa: E712
    if code.tickets_number is not None:
        limit = int(code.tickets_number)
        condition = condition & (DiscountCode.tickets_number == limit) & (
            DiscountCode.used_count.does_not_exist() | (DiscountCode.used_count <= limit - uses))
    else:
        condition = condition & DiscountCode.tickets_number.does_not_exist()
    batch.update(f"code:{code.id}", DiscountCode(int(code.id)),
                 [DiscountCode.used_count.add(uses)], condition)


def release_code(batch: Batch, code_id: int, uses: int) -> None:
    if uses > 0:
        batch.update(f"code:{code_id}", DiscountCode(int(code_id)),
                     [DiscountCode.used_count.add(-uses)], DiscountCode.used_count >= uses)


# --- running a transaction ---------------------------------------------------------------

def run(build: Callable[[], Batch], *, attempts: int = _ATTEMPTS) -> None:
    """Build and commit one transaction; retry when DynamoDB reports a conflict with a
    concurrent transaction (nothing was written). `build` is called again on each attempt,
    so it can re-read what it conditions on. A failed condition raises InventoryConflict."""
    for attempt in range(attempts):
        batch = build()
        if not batch.ops:
            return
        try:
            with TransactWrite(connection=db_connection()) as tx:
                for _label, kind, item, kw in batch.ops:
                    if kind == "save":
                        tx.save(item, condition=kw["condition"])
                    elif kind == "update":
                        tx.update(item, actions=kw["actions"], condition=kw["condition"])
                    else:
                        tx.condition_check(type(item), _hash_key(item),
                                           condition=kw["condition"])
            return
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            failed = [batch.labels[i] for i, code in enumerate(reasons)
                      if code == "ConditionalCheckFailed" and i < len(batch.labels)]
            if failed:
                raise InventoryConflict(failed) from None
            retryable = any(code == "TransactionConflict" for code in reasons) or \
                exc.cause_response_code in ("TransactionInProgressException",
                                            "ThrottlingException")
            if not retryable or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))


def _hash_key(item: Model) -> Any:
    meta = item._hash_key_attribute()
    return getattr(item, meta.attr_name)


def _reasons(exc: TransactWriteError) -> list[str | None]:
    try:
        return [r.code if r is not None else None for r in exc.cancellation_reasons]
    except Exception:  # noqa: BLE001 - no reasons on non-cancellation errors
        return []
