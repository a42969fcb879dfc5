"""The counts behind `meta.count`: one maintained figure per list, changed in the same
transaction as the items it counts, so a list never counts its table to answer.

A figure is sharded: each write adds ±1 to one of `SHARDS` items of the statistics table
(`<name>#<n>`, the shard picked at random; the admin statistics' scheme), so concurrent
creates seldom meet on one item: a `TransactWriteItems` that touches an item another
transaction holds is cancelled (TransactionConflict), and one item takes about 1,000 writes
a second. Reading sums the shards and the unsharded `<name>` item (where figures were kept
before sharding, still counted): one BatchGetItem of (SHARDS + 1) keys per figure, whatever
the number of items.

Figures:
- `events#<state>`: events in that state, not deleted (the admin dashboard's draft/published
  too); the public list counts `events#published`, staff lists every state;
- `users#all`: accounts ever created (the admin user list shows deleted ones too);
(The platform-wide admin order list keeps no count: a counter would be written by every
order's transaction, in every on-sale's hot path; docs/scale.md.)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.transactions import TransactWrite

from openevent.models.system import Statistic

SHARDS = 8
EVENT_STATES = ("draft", "published")
USERS = "users#all"


def event_figure(state: str) -> str:
    return f"events#{state}"


def shard_keys(name: str) -> list[str]:
    """Every item that holds part of figure `name`."""
    return [name] + [f"{name}#{n}" for n in range(SHARDS)]


def shard(name: str) -> Statistic:
    """One shard of figure `name`, picked at random: update it with
    `[Statistic.value.add(delta)]` inside the transaction that writes the counted items."""
    return Statistic(f"{name}#{secrets.randbelow(SHARDS)}")


def add(tx: TransactWrite, name: str, delta: int) -> None:
    """Add `delta` to figure `name` inside `tx` (the transaction that writes the items)."""
    if delta:
        tx.update(shard(name), actions=[Statistic.value.add(delta)])


def keys(names: Iterable[str]) -> list[str]:
    """The statistics items to read for `names` (to join another BatchGetItem)."""
    return [k for name in dict.fromkeys(names) for k in shard_keys(name)]


def sums(names: Iterable[str], items: Iterable[Statistic]) -> dict[str, int]:
    """Each figure of `names` summed from the statistics `items` a BatchGetItem returned."""
    values = {str(item.name): int(item.value or 0) for item in items}
    return {name: max(0, sum(values.get(k, 0) for k in shard_keys(name)))
            for name in dict.fromkeys(names)}


def read(names: Iterable[str]) -> dict[str, int]:
    """Figures `names`, in one BatchGetItem."""
    wanted = list(dict.fromkeys(names))
    return sums(wanted, Statistic.batch_get(keys(wanted)))


def events_total(counts: dict[str, Any]) -> int:
    return sum(int(counts[event_figure(s)]) for s in EVENT_STATES)


def backfill() -> dict[str, int]:
    """Migration: a figure none of whose items exist yet (a data directory or table from
    before it was kept) is counted once from its index and stored as its unsharded item.
    Run at start by the local runtime, once per deployment in AWS; a figure already kept is
    never recounted. Returns the figures written."""
    from openevent.models.events import Event
    from openevent.models.users import User

    def live_events(state: str) -> Callable[[], int]:
        return lambda: Event.state_index.count(
            state, filter_condition=Event.deleted_at.does_not_exist())

    counters: dict[str, Callable[[], int]] = {
        event_figure(state): live_events(state) for state in EVENT_STATES}
    counters[USERS] = lambda: User.kind_index.count("user")
    owner = {key: name for name in counters for key in shard_keys(name)}
    present = {owner[str(item.name)] for item in Statistic.batch_get(keys(counters))}
    written: dict[str, int] = {}
    for name, count in counters.items():
        if name in present:
            continue
        value = int(count())
        try:
            Statistic(name, value=value).save(condition=Statistic.name.does_not_exist())
        except PutError:  # written meanwhile by another start: keep that one
            continue
        written[name] = value
    return written
