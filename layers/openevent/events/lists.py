"""Which DynamoDB partition `GET /v1/events` and `GET /v1/events/upcoming` read, and how far.

- anonymous callers: the published partition of the state index; users: the same, after the
  unpublished events their roles let them open (co-organizer and up, bounded by their roles);
  staff: every event (the kind index), or one state's partition when the filter names it;
- a filter that only matches events ending at or after a time T — `ends-at ge T`,
  `starts-at ge T` (an event ends after it starts), an `and` with such a part, an `or` whose
  every branch is such — reads the ends index from T on (a key condition): the events not
  ended yet, never the past ones the table accumulates. The home page sends exactly that
  (`ends-at ge now` or `starts-at ge now`), and `/v1/events/upcoming` means it.
  The filter is still evaluated whole on what is read: narrowing never changes an answer.

Without a filter or sort a page is one Query of its size. With one, a candidate set bounded
by the events not ended (the ends index) or by the caller's roles is read whole and filtered,
sorted and counted in memory; a partition that grows with the table (the published events,
every event, one state's events) is marked `window`: read at most a candidate window per
request, resumed by cursor (`openevent.jsonapi.query`, docs/scale.md "Reads").
`meta.count` of an unfiltered list is the maintained figures of `list_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openevent.jsonapi.fields import parse_datetime
from openevent.jsonapi.naming import snake
from openevent.models.base import batch_get_many, now
from openevent.models.events import Event
from openevent.models.paging import PartitionSource
from openevent.models.system import Statistic
from openevent.models.users import User
from openevent.platform import list_counts
from openevent.rules.permissions import event_ids_with_role

_NOT_DELETED = Event.deleted_at.does_not_exist()
_LOWER_BOUND_OPS = {"ge", "gt", "eq", ">=", ">", "==", "="}


@dataclass(frozen=True)
class Narrowing:
    """What a filter promises about every event it can match."""

    state: str | None = None  # all have this state
    ends_after: datetime | None = None  # all end at or after this


def narrowing(spec: Any) -> Narrowing:
    """The state and end bound `spec` (the `filter=` JSON) implies, as far as it is read."""
    return Narrowing(_state(spec), _ends_after(spec))


def _parts(spec: Any, combinator: str) -> list[Any] | None:
    if isinstance(spec, list) and combinator == "and":
        return spec
    if isinstance(spec, dict) and isinstance(spec.get(combinator), list):
        return spec[combinator] or None  # an empty and/or constrains nothing
    return None


def _leaf(spec: Any) -> tuple[str, str, Any] | None:
    if isinstance(spec, dict) and isinstance(spec.get("name"), str) \
            and isinstance(spec.get("op"), str):
        return snake(spec["name"]), spec["op"].lower(), spec.get("val")
    return None


def _time(value: Any) -> datetime | None:
    return parse_datetime(value)  # None for a bad value: the filter itself answers 400


def _ends_after(spec: Any) -> datetime | None:
    conj = _parts(spec, "and")
    if conj is not None:
        found = [b for b in (_ends_after(s) for s in conj) if b is not None]
        return max(found) if found else None
    disj = _parts(spec, "or")
    if disj is not None:
        each = [_ends_after(s) for s in disj]
        known = [b for b in each if b is not None]
        return min(known) if len(known) == len(each) else None
    leaf = _leaf(spec)
    if leaf is None:
        return None
    name, op, val = leaf
    if name in ("ends_at", "starts_at") and op in _LOWER_BOUND_OPS:
        return _time(val)
    return None


def _state(spec: Any) -> str | None:
    conj = _parts(spec, "and")
    if conj is not None:
        states = {s for s in (_state(p) for p in conj) if s is not None}
        return states.pop() if len(states) == 1 else None
    leaf = _leaf(spec)
    if leaf is not None and leaf[0] == "state" and leaf[1] in ("eq", "==", "=") \
            and isinstance(leaf[2], str):
        return leaf[2]
    return None


def _published(ends_after: datetime | None, **kwargs: Any) -> PartitionSource:
    if ends_after is not None:
        return PartitionSource(Event, Event.ends_index, "published", filter_condition=_NOT_DELETED,
                               range_key_condition=Event.ends_at >= ends_after, **kwargs)
    return PartitionSource(Event, Event.state_index, "published", filter_condition=_NOT_DELETED,
                           window=True, **kwargs)


def event_list_source(user: User | None, spec: Any = None) -> PartitionSource:
    """What `GET /v1/events` reads for this caller and filter (`spec`, the `filter=` JSON)."""
    narrow = narrowing(spec) if spec else Narrowing()
    if user is not None and user.is_staff:
        names = [list_counts.event_figure(s) for s in list_counts.EVENT_STATES]

        def staff_count() -> int:
            return list_counts.events_total(list_counts.read(names))

        if narrow.state is not None and narrow.ends_after is not None:
            return PartitionSource(Event, Event.ends_index, narrow.state,
                                   filter_condition=_NOT_DELETED, count=staff_count,
                                   range_key_condition=Event.ends_at >= narrow.ends_after)
        if narrow.state is not None:
            return PartitionSource(Event, Event.state_index, narrow.state,
                                   filter_condition=_NOT_DELETED, count=staff_count, window=True)
        return PartitionSource(Event, Event.kind_index, "event", filter_condition=_NOT_DELETED,
                               count=staff_count, window=True)
    published = list_counts.event_figure("published")
    if user is None:
        return _published(narrow.ends_after,
                          count=lambda: list_counts.read([published])[published])
    ids = list(event_ids_with_role(user, "coorganizer"))
    found = batch_get_many([(Event, ids), (Statistic, list_counts.keys([published]))])
    prefix = sorted((e for e in found[Event] if e.deleted_at is None
                     and e.state != "published"), key=lambda e: e.id)
    total = len(prefix) + list_counts.sums([published], found[Statistic])[published]
    return _published(narrow.ends_after, prefix=prefix, count=lambda: total)


def upcoming_source() -> PartitionSource:
    """`GET /v1/events/upcoming`: published events ending from now on (the ends index)."""
    return _published(now(), count=lambda: 0)  # counted after `is_upcoming` filters


def is_upcoming(event: Event) -> bool:
    """Published, public and not ended: what `GET /v1/events/upcoming` lists."""
    return (event.state == "published" and event.privacy == "public"
            and event.deleted_at is None and event.ends_at >= now())
