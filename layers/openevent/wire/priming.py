"""Included resources of a page read together. Before the loaders of one `include=` step run
for every resource of a page, the items they will load are read in one BatchGetItem (across
tables, `models.base.batch_get_many`) and kept for the rest of the request
(`openevent.request_memo`); each loader then takes its item with `get`. The first step of
every path is read together (`jsonapi.document.collect_included`): a page of 10 orders with
`include=tickets,user,attendees` reads its includes in one call, not 30 (the
`bench/requests.py` rows of the web app's order and attendee tabs).

Only the reading is shared: each loader still applies its own read rule to what it gets.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.models import Model

from openevent import request_memo
from openevent.jsonapi.document import set_include_primer
from openevent.models.base import batch_get_many
from openevent.models.events import DiscountCode, Ticket
from openevent.models.orders import Attendee
from openevent.models.users import User

M = TypeVar("M", bound=Model)

# Resource types whose items are read by numeric id from one table.
MODELS: dict[str, type[Model]] = {"ticket": Ticket, "user": User, "attendee": Attendee,
                                  "discount-code": DiscountCode}
_MAX_KEYS = 1000  # a page's worth; a bigger include step loads the rest one by one


def _key(model: type[Model], item_id: Any) -> tuple[str, str, int]:
    return ("primed", model.Meta.table_name, int(item_id))


def _numeric(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or (
        isinstance(value, str) and value.isdigit() and len(value) <= 18)


def prime(wanted: dict[str, list[Any]]) -> None:
    """Read the items of `wanted` ({resource type: ids}) in one BatchGetItem and keep them
    (None for the ids not found) for the request."""
    pairs: list[tuple[type[Model], list[int]]] = []
    for kind, ids in wanted.items():
        model = MODELS.get(kind)
        if model is None:
            continue
        keys = sorted({int(i) for i in ids if _numeric(i)
                       and not request_memo.has(_key(model, i))})[:_MAX_KEYS]
        if keys:
            pairs.append((model, keys))
    if not pairs or not request_memo.active():
        return
    found = batch_get_many(pairs)
    for model, keys in pairs:
        items = {int(getattr(i, model._hash_key_attribute().attr_name)): i
                 for i in found.get(model, [])}
        for key in keys:
            request_memo.put(_key(model, key), items.get(key))


def get(model: type[M], item_id: Any) -> M | None:
    """The item `item_id` of `model` (None when there is none): primed, or read now."""
    def load() -> M | None:
        try:
            return model.get(int(item_id))
        except model.DoesNotExist:
            return None

    return request_memo.get(_key(model, item_id), load)


def live_tickets(ids: list[int]) -> list[Ticket]:
    """The tickets `ids` that exist and are not deleted, in the order asked (primed)."""
    out: list[Ticket] = []
    for ticket_id in dict.fromkeys(ids):
        ticket = get(Ticket, ticket_id)
        if ticket is not None and ticket.deleted_at is None:
            out.append(ticket)
    return out


set_include_primer(prime)
