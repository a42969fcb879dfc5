"""Reading the sales roll-ups (`openevent.orders.sales_rollups`) a page at a time: the rows
of one kind are the roll-up figures listed in the sparse `rollup-index` (figure order), each
row the sum of its shards. A page of n rows is one Query of at most n × SHARDS index items
(ALL projection, so the figures come with it: no second read); a filtered page reads the
collection's candidate window like every table-wide list (`openevent.jsonapi.query`).

Who the rows are about (names, e-mails, codes, event names) is read after paging, for the
page's rows only, in one BatchGetItem per table (`people`, `codes`, `events`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openevent.models.orders import OrderFigure
from openevent.orders import figures as order_counts
from openevent.orders.pricing import money

STATUSES = ("completed", "placed", "pending")  # the statuses the admin's pages show


@dataclass
class Row:
    """One roll-up: its kind, currency, group and the sum of its shards."""

    figure: str
    items: list[OrderFigure] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.figure.split(":", 2)[0]

    @property
    def currency(self) -> str:
        return self.figure.split(":", 2)[1]

    @property
    def group(self) -> str:
        return self.figure.split(":", 2)[2]

    @property
    def id(self) -> str:
        """The row's id: "<currency>:<group>" (a group's sales in each currency are a row)."""
        return self.figure.split(":", 1)[1]

    def sales(self) -> dict[str, dict[str, Any]]:
        """`sales` as the app reads it: {status: {"sales_total", "ticket_count"}}."""
        figures = order_counts.sums(self.items)
        return {s: {"sales_total": float(money(Decimal(figures[s]["sales"]), self.currency)),
                    "ticket_count": int(figures[s]["seats"])} for s in STATUSES}


class RollupSource:
    """The rows of one roll-up kind in figure order (a table-wide list: no count kept):
    ascending, or descending with `newest_first` — ids grow with time, so the newest
    organizers, marketers and codes come first, as the app asks one page of each."""

    window = True

    def __init__(self, kind: str, newest_first: bool = False) -> None:
        self.kind = kind
        self.newest_first = newest_first

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Row], dict | None]:
        after = (start or {}).get("after")
        if after is not None and not isinstance(after, str):
            after = None
        condition = None
        if after:
            condition = OrderFigure.figure < after if self.newest_first \
                else OrderFigure.figure > after
        rows: list[Row] = []
        for item in OrderFigure.rollup_index.query(self.kind, condition,
                                                   scan_index_forward=not self.newest_first):
            if not rows or rows[-1].figure != item.figure:
                if limit and len(rows) == limit:
                    return rows, {"after": rows[-1].figure}
                rows.append(Row(str(item.figure)))
            rows[-1].items.append(item)
        return rows, None

    def count(self) -> None:
        return None


def people(ids: Iterable[Any]) -> dict[int, Any]:
    """Users by id, read together."""
    from openevent.models.users import User

    wanted = sorted({int(i) for i in ids if str(i).isdigit()})
    return {int(u.id): u for u in User.batch_get(wanted)} if wanted else {}


def codes(ids: Iterable[Any]) -> dict[int, Any]:
    """Discount codes by id, read together."""
    from openevent.models.events import DiscountCode

    wanted = sorted({int(i) for i in ids if str(i).isdigit()})
    return {int(c.id): c for c in DiscountCode.batch_get(wanted)} if wanted else {}


def events(ids: Iterable[Any]) -> dict[int, Any]:
    """Events by id, read together."""
    from openevent.models.events import Event

    wanted = sorted({int(i) for i in ids if i is not None})
    return {int(e.id): e for e in Event.batch_get(wanted)} if wanted else {}


def full_name(user: Any) -> str | None:
    """First and last name (Open Event's `fullname`), else the public name."""
    if user is None:
        return None
    name = " ".join(p for p in (user.first_name, user.last_name) if p)
    return name or user.public_name or None
