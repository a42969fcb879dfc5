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

import contextvars
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from openevent.errors import ServiceUnavailable
from openevent.models.base import db_connection, raise_if_clashed
from openevent.models.events import DiscountCode, SeatShard, Ticket

_ATTEMPTS = 6


class InventoryConflict(Exception):
    """A transaction's condition failed; `labels` name the operations whose check failed."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels

    def failed(self, prefix: str) -> list[str]:
        return [label for label in self.labels if label.startswith(prefix)]


class TooManyItems(Exception):
    """A transaction would name more items than DynamoDB takes in one (100)."""


MAX_TRANSACTION_ITEMS = 100


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

    def create(self, label: str, item: Model) -> None:
        """Save a new item under the condition that its key is free: a refusal because the
        key was taken is an id clash (`models.base.IdClash`), drawn again by the caller."""
        key = item._hash_key_attribute()
        self.ops.append((label, "save", item, {"condition": key.does_not_exist(),
                                               "new": True}))

    def update(self, label: str, item: Model, actions: list[Any], condition: Any = None) -> None:
        self.ops.append((label, "update", item, {"actions": actions, "condition": condition}))

    def check(self, label: str, item: Model, condition: Any) -> None:
        self.ops.append((label, "check", item, {"condition": condition}))

    def delete(self, label: str, item: Model, condition: Any = None) -> None:
        self.ops.append((label, "delete", item, {"condition": condition}))

    @property
    def labels(self) -> list[str]:
        return [op[0] for op in self.ops]


# --- seat shards ------------------------------------------------------------------------
#
# A ticket's seats are one counter (`Ticket.seats_taken`, conditioned on the quantity read)
# or, when `Ticket.seat_shards` = N > 1, N `SeatShard` items that each hold a share of the
# quantity as `left` (free) and `taken`. A buyer's transaction takes from one shard chosen at
# random with the condition `left >= n`, which needs no read; only when that shard turns out
# to be short does the request read the shards (one Query) and move to one that has the
# seats (or split over several; sold out when all together have fewer). N transactions on N
# items no longer conflict with each other the way they all do on one item.

MAX_SHARDS = 32
SEATS_PER_SHARD = 2000  # default: one shard per this many seats (see docs/scale.md)


def default_shards(quantity: int) -> int:
    """The shard count a new ticket gets when its organizer does not choose one."""
    return max(1, min(MAX_SHARDS, -(-int(quantity) // SEATS_PER_SHARD)))


def split(total: int, parts: int) -> list[int]:
    """`total` as `parts` shares differing by at most one (the first ones larger)."""
    base, rest = divmod(int(total), parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def is_sharded(ticket: Ticket) -> bool:
    return ticket.shard_count > 1


def read_shards(ticket_id: int) -> dict[int, SeatShard]:
    return {int(s.shard): s for s in SeatShard.query(int(ticket_id), consistent_read=True)}


def seats_taken(tickets: list[Ticket]) -> dict[int, int]:
    """Seats held or sold per ticket; sharded tickets' shards in one BatchGetItem."""
    out = {int(t.id): int(t.seats_taken or 0) for t in tickets if not is_sharded(t)}
    keys = [(int(t.id), s) for t in tickets if is_sharded(t) for s in range(t.shard_count)]
    for t in tickets:
        if is_sharded(t):
            out[int(t.id)] = 0
    for start in range(0, len(keys), 100):
        for shard in SeatShard.batch_get(keys[start:start + 100]):
            out[int(shard.ticket_id)] += int(shard.taken or 0)
    return out


class _ShardChooser:
    """Which shards one request takes from, across the attempts of one transaction: a random
    shard first; after a shard fell short, the levels read from the table."""

    def __init__(self) -> None:
        self.levels: dict[int, dict[int, int]] = {}
        self.empty: set[int] = set()  # tickets seen with every shard at left = 0

    def choose(self, ticket: Ticket, n: int) -> dict[int, int]:
        tid = int(ticket.id)
        levels = self.levels.get(tid)
        if levels is None:
            return {random.randrange(ticket.shard_count): n}
        enough = [s for s, left in levels.items() if left >= n]
        if enough:
            return {random.choice(enough): n}
        if sum(levels.values()) < n:
            if not any(levels.values()):
                self.empty.add(int(ticket.id))
            raise SoldOut(ticket)
        taken: dict[int, int] = {}
        for s in sorted(levels, key=lambda s: (-levels[s], s)):
            if n == 0:
                break
            k = min(levels[s], n)
            if k:
                taken[s] = k
                n -= k
        return taken

    def learn(self, labels: list[str]) -> bool:
        """After shard conditions failed: read those tickets' levels; False if not shards."""
        ids = {_shard_label_ticket(label) for label in labels}
        if None in ids:
            return False
        for tid in ids:
            assert tid is not None
            self.levels[tid] = {s: int(item.left or 0) for s, item in read_shards(tid).items()}
        return True


_chooser: contextvars.ContextVar[_ShardChooser | None] = contextvars.ContextVar(
    "openevent_shard_chooser", default=None)


def _shard_label(tid: int, shard: int) -> str:
    return f"ticket:{tid}#{shard}"


def _shard_label_ticket(label: str) -> int | None:
    if not label.startswith("ticket:") or "#" not in label:
        return None
    return int(label[len("ticket:"):].split("#")[0])


def label_ticket(label: str) -> int:
    """The ticket id a `ticket:` label names (sharded or not)."""
    return int(label[len("ticket:"):].split("#")[0])


def shard_items(ticket_id: int, quantity: int, shards: int) -> list[SeatShard]:
    """The shards of a ticket with nothing taken yet."""
    return [SeatShard(int(ticket_id), i, left=share, taken=0)
            for i, share in enumerate(split(quantity, shards))]


class ShardsInUse(Exception):
    """The shard count cannot change while seats are held or sold."""


class BelowTaken(Exception):
    """The quantity would drop below the seats held or sold."""


def reshape_shards(batch: Batch, ticket: Ticket, shards: Mapping[int, SeatShard],
                   quantity: int, wanted: int) -> list[Any]:
    """Add to `batch` the shard writes that give `ticket` (as read, with its `shards` as read)
    `quantity` seats over `wanted` shards; returns the ticket's own update actions, which the
    caller puts in the same transaction conditioned on what it read. A quantity change
    keeps the shard count and moves free seats (taking only what shards have free); a shard
    count change needs every seat free and lays the shards out anew."""
    old = ticket.shard_count if is_sharded(ticket) else 0
    if wanted == old:
        delta = int(quantity) - int(ticket.quantity)
        if delta >= 0:
            for i, k in enumerate(split(delta, old)):
                if k:
                    batch.update(f"shard:{i}", SeatShard(int(ticket.id), i),
                                 [SeatShard.left.add(k)], SeatShard.taken.exists())
            return [Ticket.shards_empty.remove()] if delta else []
        levels = {i: int(shards[i].left or 0) if i in shards else 0 for i in range(old)}
        need = -delta
        if sum(levels.values()) < need:
            raise BelowTaken
        for i in sorted(levels, key=lambda i: (-levels[i], i)):
            k = min(levels[i], need)
            if k:
                batch.update(f"shard:{i}", SeatShard(int(ticket.id), i),
                             [SeatShard.left.add(-k)], SeatShard.left >= k)
                need -= k
            if need == 0:
                break
        return []
    taken = sum(int(s.taken or 0) for s in shards.values()) if old else \
        int(ticket.seats_taken or 0)
    if taken:
        raise ShardsInUse
    shares = split(quantity, wanted) if wanted > 1 else []
    free = SeatShard.taken.does_not_exist() | (SeatShard.taken == 0)
    for i in range(max(old, len(shares))):
        item = SeatShard(int(ticket.id), i)
        if i < old and i < len(shares):
            batch.update(f"shard:{i}", item, [SeatShard.left.set(shares[i]),
                                              SeatShard.taken.set(0)], free)
        elif i < old:
            batch.delete(f"shard:{i}", item, free)
        else:
            batch.save(f"shard:{i}", SeatShard(int(ticket.id), i, left=shares[i], taken=0),
                       free)
    if wanted > 1:
        return [Ticket.seat_shards.set(wanted), Ticket.seats_taken.set(0),
                Ticket.shards_empty.remove()]
    return [Ticket.seat_shards.remove(), Ticket.seats_taken.set(0), Ticket.shards_empty.remove()]


# --- building blocks --------------------------------------------------------------------

SeatShards = dict[int, dict[int, int]]  # ticket id -> shard -> seats


def acquire_seats(batch: Batch, tickets: Mapping[int, Ticket],
                  counts: Mapping[int, int]) -> SeatShards:
    """Take `counts[t]` seats of each ticket `t`: conditional on the quantity read, or for a
    sharded ticket on the chosen shards' `left`. Returns the shards taken from (sharded
    tickets only) — the caller records them where the seats are held, for the release."""
    chooser = _chooser.get() or _ShardChooser()
    taken: SeatShards = {}
    for tid, n in sorted(counts.items()):
        if n <= 0:
            continue
        ticket = tickets[tid]
        if ticket.deleted_at is not None:
            raise SoldOut(ticket)
        quantity = int(ticket.quantity)
        if is_sharded(ticket):
            if n > quantity or ticket.shards_empty:
                raise SoldOut(ticket)
            taken[tid] = chooser.choose(ticket, n)
            for shard, k in sorted(taken[tid].items()):
                batch.update(_shard_label(tid, shard), SeatShard(tid, shard),
                             [SeatShard.left.add(-k), SeatShard.taken.add(k)],
                             SeatShard.left >= k)
            continue
        if quantity - n < 0 or int(ticket.seats_taken or 0) + n > quantity:
            raise SoldOut(ticket)
        condition = (
            (Ticket.quantity == quantity)
            & Ticket.deleted_at.does_not_exist()
            & Ticket.seat_shards.does_not_exist()
            & (Ticket.seats_taken.does_not_exist() | (Ticket.seats_taken <= quantity - n))
        )
        batch.update(f"ticket:{tid}", Ticket(tid), [Ticket.seats_taken.add(n)], condition)
    return taken


def release_seats(batch: Batch, counts: Mapping[int, int],
                  shards: Mapping[int, Mapping[int, int]] | None = None) -> None:
    """Give back `counts[t]` seats of each ticket (never below zero), to the shards they were
    taken from when `shards` names them."""
    shards = shards or {}
    for tid, n in sorted(counts.items()):
        if n <= 0:
            continue
        if tid in shards:
            for shard, k in sorted(shards[tid].items()):
                if k > 0:
                    batch.update(f"release:{tid}#{shard}", SeatShard(tid, shard),
                                 [SeatShard.left.add(k), SeatShard.taken.add(-k)],
                                 SeatShard.taken >= k)
            batch.update(f"refill:{tid}", Ticket(tid), [Ticket.shards_empty.remove()])
            continue
        batch.update(f"release:{tid}", Ticket(tid), [Ticket.seats_taken.add(-n)],
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
    so it can re-read what it conditions on. When only seat shards fell short, the shards are
    read and `build` runs again on ones that have the seats. Any other failed condition
    raises InventoryConflict."""
    chooser = _ShardChooser()
    token = _chooser.set(chooser)
    try:
        _run(build, attempts, chooser)
    except SoldOut:
        for tid in chooser.empty:
            mark_empty(tid, chooser.levels[tid])
        raise
    finally:
        _chooser.reset(token)


def mark_empty(ticket_id: int, levels: Mapping[int, int]) -> None:
    """Record on the ticket that all its shards are empty — in a transaction that checks
    each of them still is (a release in between removes the mark in its own transaction)."""
    batch = Batch()
    for shard in sorted(levels):
        batch.check(f"empty:{shard}", SeatShard(int(ticket_id), shard), SeatShard.left == 0)
    batch.update("ticket", Ticket(int(ticket_id)), [Ticket.shards_empty.set(True)],
                 Ticket.seat_shards == len(levels))
    try:
        _run(lambda: batch, 1, _ShardChooser())
    except (InventoryConflict, TransactWriteError, ServiceUnavailable):
        pass  # seats came back or others are writing: buyers keep trying the shards


def _run(build: Callable[[], Batch], attempts: int, chooser: _ShardChooser) -> None:
    """One transaction with its retries (see `run`)."""
    conflicts = moves = 0
    while True:
        batch = build()
        if not batch.ops:
            return
        # PynamoDB sends a transaction's items grouped by kind (checks, deletes, puts,
        # updates); keep the batch in that order so a cancellation reason's index names
        # the right operation.
        ops = sorted(batch.ops, key=lambda op: _KIND_ORDER[op[1]])
        if len(ops) > MAX_TRANSACTION_ITEMS:  # DynamoDB would refuse it (a 400, not a 5xx)
            raise TooManyItems(len(ops))
        try:
            with TransactWrite(connection=db_connection()) as tx:
                for _label, kind, item, kw in ops:
                    if kind == "save":
                        tx.save(item, condition=kw["condition"])
                    elif kind == "update":
                        tx.update(item, actions=kw["actions"], condition=kw["condition"])
                    elif kind == "delete":
                        tx.delete(item, condition=kw["condition"])
                    else:
                        hash_key, range_key = _key(item)
                        tx.condition_check(type(item), hash_key, range_key,
                                           condition=kw["condition"])
            return
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            failed = [ops[i][0] for i, code in enumerate(reasons)
                      if code == "ConditionalCheckFailed" and i < len(ops)]
            raise_if_clashed([ops[i][2] for i, code in enumerate(reasons)
                              if code == "ConditionalCheckFailed" and i < len(ops)
                              and ops[i][3].get("new")])
            if failed:
                moves += 1
                if moves <= _ATTEMPTS and chooser.learn(failed):
                    continue
                raise InventoryConflict(failed) from None
            retryable = any(code == "TransactionConflict" for code in reasons) or \
                exc.cause_response_code in ("TransactionInProgressException",
                                            "ThrottlingException")
            conflicts += 1
            if not retryable:
                raise
            if conflicts >= attempts:  # the items stayed contended: nothing was written
                raise ServiceUnavailable(
                    "Too many requests for these seats at once; try again",
                    headers={"Retry-After": "1"}) from None
            time.sleep(random.uniform(0.005, 0.03) * conflicts)


_KIND_ORDER = {"check": 0, "delete": 1, "save": 2, "update": 3}


def _key(item: Model) -> tuple[Any, Any]:
    hash_key = getattr(item, item._hash_key_attribute().attr_name)
    range_attr = item._range_key_attribute()
    return hash_key, None if range_attr is None else getattr(item, range_attr.attr_name)


def _reasons(exc: TransactWriteError) -> list[str | None]:
    try:
        return [r.code if r is not None else None for r in exc.cancellation_reasons]
    except Exception:  # noqa: BLE001 - no reasons on non-cancellation errors
        return []
