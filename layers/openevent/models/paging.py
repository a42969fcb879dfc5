"""A collection source over one DynamoDB partition (of a table or an index), paged by
DynamoDB: a page is one Query with `Limit` and `ExclusiveStartKey`, so it reads its own items,
never the partition. `meta.count` comes from a maintained figure (`count`), not from counting.

The cursor a client sends back carries DynamoDB's `LastEvaluatedKey`; it is checked against
the key schema (names, types, the partition queried) before it can reach DynamoDB, so a forged
cursor is a 400 naming `page[cursor]`, never a 500 or a read of another partition.

A partition that grows with the table (every event, every published event, every user, every
order) is marked `window`: a filter or sort over it reads at most a candidate window of it per
request, resuming at a cursor (`openevent.jsonapi.query`), never the whole partition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.models import Model

from openevent.errors import BadRequest

_BAD_CURSOR = "'page[cursor]' is invalid"


def _bad() -> BadRequest:
    return BadRequest(_BAD_CURSOR, parameter="page[cursor]")


class PartitionSource:
    """Items of partition `hash_key` of `index` (or of `model`'s table when index is None),
    from `range_key_condition` on when given: `prefix` items first (already loaded, e.g. a
    user's drafts), then the partition in key order. `count` answers `meta.count` (a
    maintained figure plus len(prefix)). `window`: the partition grows with the table, so a
    filtered or sorted request reads a bounded window of it, not all of it."""

    def __init__(self, model: type[Model], index: Any, hash_key: Any, *,
                 count: Callable[[], int | None], filter_condition: Any = None,
                 range_key_condition: Any = None, prefix: list[Any] | None = None,
                 window: bool = False) -> None:
        self.model = model
        self.window = window
        self.index = index
        self.hash_key = hash_key
        self.filter_condition = filter_condition
        self.range_key_condition = range_key_condition
        self.prefix = prefix or []
        self._count = count
        self._schema = self._key_schema()

    def _key_schema(self) -> dict[str, tuple[str, bool]]:
        """attribute name -> (DynamoDB type, is the queried hash key) of a LastEvaluatedKey."""
        attrs = [self.model._hash_key_attribute(), self.model._range_key_attribute()]
        if self.index is not None:
            attrs += [a for a in self.index.Meta.attributes.values()
                      if a.is_hash_key or a.is_range_key]
        queried = (self.index._hash_key_attribute() if self.index is not None
                   else self.model._hash_key_attribute())
        return {a.attr_name: (a.attr_type, a.attr_name == queried.attr_name)
                for a in attrs if a is not None}

    def _start_key(self, raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or set(raw) != set(self._schema):
            raise _bad()
        queried = self.model._serialize_keys(self.hash_key)[0] if self.index is None else \
            self.index._hash_key_attribute().serialize(self.hash_key)
        key: dict[str, Any] = {}
        for name, (kind, is_partition) in self._schema.items():
            value = raw[name]
            if not isinstance(value, dict) or set(value) != {kind}:
                raise _bad()
            text = value[kind]
            if not isinstance(text, str) or len(text) > 1024:
                raise _bad()
            if kind == "N" and not (text.lstrip("-").isdigit() and len(text) <= 18):
                raise _bad()
            if is_partition and text != str(queried):
                raise _bad()  # a cursor from another partition
            key[name] = {kind: text}
        return key

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Any], Any]:
        start = start or {}
        if not isinstance(start, dict):
            raise _bad()
        offset = start.get("p", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise _bad()
        lek = self._start_key(start.get("k"))
        out: list[Any] = []
        if lek is None and offset < len(self.prefix):
            take = self.prefix[offset:offset + limit] if limit else self.prefix[offset:]
            out.extend(take)
            offset += len(take)
            if limit and len(out) >= limit:
                return out, {"p": offset}
        rest = (limit - len(out)) if limit else None
        query = self.index.query if self.index is not None else self.model.query
        result = query(self.hash_key, range_key_condition=self.range_key_condition,
                       filter_condition=self.filter_condition, limit=rest,
                       last_evaluated_key=lek)
        out.extend(result)
        nxt = result.last_evaluated_key if rest else None
        return out, ({"p": offset, "k": nxt} if nxt else None)

    def cursor_after(self, item: Model) -> dict[str, Any]:
        """The start (as `page` takes it) that goes on right after `item`, one of this
        partition's items: its key, as DynamoDB's LastEvaluatedKey would name it."""
        names = {attr.attr_name: name for name, attr in
                 self.model.get_attributes().items()}
        key = {}
        for attr_name, (kind, _) in self._schema.items():
            value = getattr(item, names[attr_name])
            attribute = self.model.get_attributes()[names[attr_name]]
            key[attr_name] = {kind: attribute.serialize(value)}
        return {"p": len(self.prefix), "k": key}

    def count(self) -> int | None:
        return self._count()
