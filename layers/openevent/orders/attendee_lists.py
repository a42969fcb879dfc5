"""The organizer's list of an event's attendees (`GET /v1/events/<id>/attendees`), read by
page for the web app's tabs (app/routes/events/view/tickets/attendees/list.js):
- "all" (no filter, no sort): the event's attendees in id order (`Attendee.event_index`),
  `meta.count` = the event's live attendees (`order_counts`, the event figure);
- a status tab (`filter=[{"name": "order", "op": "has", "val": {"name": "status", "op": "eq",
  "val": X}}]`, no sort): the attendees of the event's orders in status X, walked through
  those orders (`Order.event_status_index`, then one BatchGetItem of their attendees),
  `meta.count` = the `seats` figure of status X (`order_counts`; an order's attendees are
  never deleted, so its seats are its attendees);
- any other filter or sort (the checked-in tabs, the search over names, e-mail, ticket and
  order, a column sort) evaluates the filter on the event's attendees read a candidate window
  (`jsonapi.query.filter_window()`, 2,000) at a time: exact with `meta.count` while they fit
  in one window, else the window's matches, `meta.window` and a cursor to go on
  (docs/scale.md).
"""

from __future__ import annotations

from typing import Any, cast

from openevent.errors import BadRequest
from openevent.jsonapi.query import CollectionParams, Source
from openevent.models.orders import (
    ORDER_STATUSES,
    Attendee,
    Order,
    OrderFigure,
    event_status_key,
)
from openevent.models.paging import PartitionSource
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders import lifecycle as orders
from openevent.orders.pricing import MAX_SEATS_PER_ORDER
from openevent.rules.permissions import get_with_event_role


def status_tab(spec: Any) -> str | None:
    """X when the filter is exactly the app's status tab `order has status eq X`."""
    terms = spec if isinstance(spec, list) else [spec]
    if len(terms) != 1 or not isinstance(terms[0], dict):
        return None
    term = terms[0]
    inner = term.get("val")
    if term.get("name") != "order" or term.get("op") not in ("has", "any") \
            or not isinstance(inner, dict) or inner.get("name") != "status" \
            or inner.get("op") not in ("eq", "==") or inner.get("val") not in ORDER_STATUSES:
        return None
    return str(inner["val"])


def _bad() -> BadRequest:
    return BadRequest("'page[cursor]' is invalid", parameter="page[cursor]")


class OrderAttendeeSource:
    """The attendees of the orders of one event-status partition, order by order. A start
    is `{"o": the orders' start, "rest": attendee ids of the order the last page stopped
    inside}`; a page reads at most as many orders as it shows attendees, then the attendees
    in one BatchGetItem."""

    window = False  # bounded by one event's orders

    def __init__(self, event_id: int, status: str, count: int) -> None:
        self.event_id = int(event_id)
        self.status = status
        self._count = count
        self.orders = PartitionSource(Order, Order.event_status_index,
                                      event_status_key(event_id, status), count=lambda: count)

    def _rest(self, start: dict[str, Any]) -> list[int]:
        rest = start.get("rest", [])
        if not isinstance(rest, list) or len(rest) > MAX_SEATS_PER_ORDER or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63
                for i in rest):
            raise _bad()
        return list(rest)

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Any], Any]:
        start = start or {}
        if not isinstance(start, dict):
            raise _bad()
        carried = self._rest(start)
        order_start = start.get("o")
        ids = carried[:limit] if limit else carried
        if len(carried) > len(ids):  # the page ends inside the order the last one ended in
            return self._attendees(ids), {"o": order_start, "rest": carried[len(ids):]}
        if limit and len(ids) >= limit:
            return self._attendees(ids), {"o": order_start, "rest": []}
        found, after = self.orders.page(limit - len(ids) if limit else 0, order_start)
        nxt = {"o": after, "rest": []} if after else None
        for n, order in enumerate(found):
            order = orders.fresh(order)
            if order.status != self.status:
                continue  # expired as it was read: no longer in this tab
            seats = [int(cast(Any, i)) for i in order.attendee_ids or []]
            room = limit - len(ids) if limit else len(seats)
            ids += seats[:room]
            if limit and len(ids) >= limit:
                left = seats[room:]
                more = bool(left) or n < len(found) - 1 or after is not None
                nxt = {"o": self.orders.cursor_after(order), "rest": left} if more else None
                break
        return self._attendees(ids), nxt

    def _attendees(self, ids: list[int]) -> list[Attendee]:
        found = {int(a.id): a for a in Attendee.batch_get(ids)} if ids else {}
        return [found[i] for i in ids if i in found
                and int(found[i].event_id) == self.event_id and found[i].deleted_at is None]

    def count(self) -> int:
        return self._count


def event_attendee_source(event_id: int, params: CollectionParams,
                          user: User | None) -> Source:
    """The source of the list; the filter is taken off `params` when the source applies all
    of it. The figure the list counts and the caller's role in the event come in one
    BatchGetItem. Nothing else is read before the caller's role is checked."""
    status = status_tab(params.filter) if params.filter and not params.sort else None
    pages = not params.sort and (not params.filter or status is not None)
    wanted = order_counts.keys(order_counts.event_figure(event_id)) if pages else []
    found = get_with_event_role(user, event_id, [(OrderFigure, wanted)])
    if not pages:  # the event's attendees, a candidate window at a time (jsonapi/query.py)
        return PartitionSource(Attendee, Attendee.event_index, int(event_id),
                               filter_condition=Attendee.deleted_at.does_not_exist(),
                               count=lambda: None, window=True)
    params.filter = None
    figures = order_counts.sums(found[OrderFigure])
    if status is not None:
        return OrderAttendeeSource(event_id, status, int(figures[status]["seats"]))
    total = int(figures["attendees"])
    return PartitionSource(Attendee, Attendee.event_index, int(event_id),
                           filter_condition=Attendee.deleted_at.does_not_exist(),
                           count=lambda: total)
