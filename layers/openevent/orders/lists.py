"""The organizer's list of an event's orders (`GET /v1/events/<id>/orders`), read by page.

The web app's order tabs send `filter=[{"name": "status", "op": "eq", "val": X}]` (or no
filter for "all"), with `page[number]`/`page[size]`:
- a top-level `status eq X` narrows the read to the event's orders in status X
  (`Order.event_status_index`), any other filter to the event's orders;
- when that is the whole filter and no `sort=` is given, the list pages on DynamoDB: a page
  reads its own items (plus the ones before it for `page[number]` k > 1), and `meta.count` is
  the maintained per-status figure (`order_counts`), never a count of the orders;
- any other filter or sort (the app's search by buyer e-mail, the discount and date tabs, a
  column sort) evaluates the full filter on the narrowed set, read a candidate window
  (`jsonapi.query.filter_window()`, 2,000) at a time: exact with `meta.count` while the set
  fits in one window, else the window's matches, `meta.window` and a cursor to go on.

Orders are expired as they are read (`orders.fresh`): an order whose hold ran out since the
sweeper last ran leaves the pending tab on the page that finds it (that page is one shorter).
"""

from __future__ import annotations

from typing import Any

from openevent.jsonapi.query import CollectionParams
from openevent.models.orders import ORDER_STATUSES, Order, OrderFigure, event_status_key
from openevent.models.paging import PartitionSource
from openevent.models.users import User
from openevent.orders import figures as order_counts
from openevent.orders import lifecycle as orders
from openevent.rules.permissions import get_with_event_role


def status_term(spec: Any) -> str | None:
    """The X of a top-level `status eq X` term of a filter (a list of terms, or one `and`),
    None when there is none (or X is no status)."""
    terms = spec if isinstance(spec, list) else [spec]
    for term in terms:
        if isinstance(term, dict) and set(term) == {"and"} and isinstance(term["and"], list):
            found = status_term(term["and"])
        elif isinstance(term, dict) and term.get("name") == "status" \
                and term.get("op") in ("eq", "==") and term.get("val") in ORDER_STATUSES:
            found = str(term["val"])
        else:
            found = None
        if found is not None:
            return found
    return None


def _only_status(spec: Any) -> bool:
    terms = spec if isinstance(spec, list) else [spec]
    return len(terms) == 1 and isinstance(terms[0], dict) and set(terms[0]) >= {"name", "op"} \
        and status_term(terms) is not None


class _FreshSource:
    """Orders of `source`, each as it is now (expired when overdue), without those that no
    longer have `status`."""

    # An event's orders grow with its sales: a filter or sort the index cannot answer reads
    # them a candidate window at a time (jsonapi/query.py), like the platform-wide lists.
    window = True

    def __init__(self, source: PartitionSource, status: str | None) -> None:
        self.source = source
        self.status = status

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Any], Any]:
        items, nxt = self.source.page(limit, start)
        fresh = [orders.fresh(o) for o in items]
        if self.status is not None:
            fresh = [o for o in fresh if o.status == self.status]
        return fresh, nxt

    def count(self) -> int | None:
        return self.source.count()


def event_order_source(event_id: int, params: CollectionParams,
                       user: User | None) -> _FreshSource:
    """The source of the list, and `params` with the filter taken off when the source applies
    all of it (so the list pages on DynamoDB). The figures the list counts and the caller's
    role in the event (for the role check that follows) are read in one BatchGetItem."""
    status = status_term(params.filter) if params.filter else None
    statuses = [status] if status is not None else list(ORDER_STATUSES)
    found = get_with_event_role(user, event_id, [
        (OrderFigure, order_counts.keys(order_counts.event_figure(event_id)))])
    figures = order_counts.sums(found[OrderFigure])
    total = sum(int(figures[s]["orders"]) for s in statuses)
    if status is not None:
        source = PartitionSource(Order, Order.event_status_index,
                                 event_status_key(event_id, status), count=lambda: total)
    else:
        source = PartitionSource(Order, Order.event_index, int(event_id), count=lambda: total)
    if params.filter and _only_status(params.filter):
        params.filter = None
    return _FreshSource(source, status)
