"""The `filter=` language and `sort=` of Open Event clients, evaluated on resources.

Flask-REST-JSONAPI's syntax, as the Open Event web app sends it:

- `{"name": "state", "op": "eq", "val": "published"}` on an attribute (or `id`), with the ops
  eq, ne, lt, le, gt, ge, in_, notin_, like, ilike, notlike, notilike, is_, isnot;
- `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`, and a top-level list meaning `and`;
  an empty `and`/`or` is no constraint (the admin pages send `{"or": []}` for "all");
- on a relationship: `{"name": "event", "op": "has", "val": {...}}` (to-one) and
  `{"name": "attendees", "op": "any", "val": {...}}` (to-many) with a nested filter on the
  related resource; `eq`/`ne` `null` (is there a related resource?); `eq`/`ne`/`in_` with ids;
- dotted sorts through to-one relationships: `sort=event.starts-at,-order.completed-at`.

Evaluation happens on the bounded candidate set a collection's key or index query returned
(never a Scan); related resources are read through the resource's relationship loaders, by
key. Names the resource type does not have are refused with 400 naming `filter` or `sort`.

`like`/`ilike` match in time linear in the compared text for a given pattern (`like_matcher`:
the pattern's `%`-separated parts have a fixed length, so each is found once, leftmost, with a
regex that has no repetition — nothing backtracks); a pattern is at most `MAX_LIKE_LENGTH`
characters with at most `MAX_LIKE_WILDCARDS` of `%` and `_` (400 naming the filter).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from openevent.errors import BadRequest
from openevent.jsonapi.document import Rel, Resource, Schema
from openevent.jsonapi.fields import parse_datetime
from openevent.jsonapi.naming import dasherize, snake

Predicate = Callable[[Resource], bool]
MAX_DEPTH = 8


def _comparable(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        if isinstance(value, datetime):
            return value
        return parse_datetime(value)
    if kind in {"number", "integer"}:
        if isinstance(value, bool):
            return None
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            return None
    return value


MAX_LIKE_LENGTH = 100  # characters of a like/ilike pattern
MAX_LIKE_WILDCARDS = 10  # `%` and `_` in one pattern


def like_matcher(pattern: str, insensitive: bool) -> Callable[[Any], bool]:
    """A predicate: does a text match the SQL `like` `pattern` (`%` any run, `_` one char)?

    The parts between `%`s have a fixed length (a literal or `_` is one character), so the
    first part must sit at the start, the last at the end, and each middle part is taken at
    its leftmost place after the previous one (leftmost is never worse for what follows).
    Each part is one regex of literals and `.` without repetition: one search per part,
    at most len(text) × len(part) steps, never a backtracking `.*`.
    """
    flags = re.DOTALL | (re.IGNORECASE if insensitive else 0)
    parts = [re.compile("".join("." if c == "_" else re.escape(c) for c in part), flags)
             for part in pattern.split("%")]
    sizes = [len(part) for part in pattern.split("%")]
    if len(parts) == 1:
        only = parts[0]
        return lambda text: isinstance(text, str) and only.fullmatch(text) is not None
    first, last, middle = parts[0], parts[-1], list(zip(parts[1:-1], sizes[1:-1], strict=True))
    head, tail = sizes[0], sizes[-1]

    def match(text: Any) -> bool:
        if not isinstance(text, str) or len(text) < head + tail:
            return False
        end = len(text) - tail
        if first.match(text, 0, head) is None or last.match(text, end) is None:
            return False
        at = head
        for part, size in middle:
            found = part.search(text, at, end)
            if found is None:
                return False
            at = found.start() + size
        return True

    return match


def _like_predicate(name: str, op: str, val: Any) -> Callable[[Any], bool]:
    """The matcher of a `like`-family filter on `name` (400 for a pattern over the caps)."""
    if not isinstance(val, str):
        return lambda _: False
    wildcards = val.count("%") + val.count("_")
    if len(val) > MAX_LIKE_LENGTH or wildcards > MAX_LIKE_WILDCARDS:
        raise BadRequest(f"The '{op}' pattern on '{name}' may have at most {MAX_LIKE_LENGTH} "
                         f"characters and {MAX_LIKE_WILDCARDS} wildcards (% and _); it has "
                         f"{len(val)} and {wildcards}", parameter="filter")
    return like_matcher(val, "ilike" in op)


def _safe_cmp(op: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    try:
        return op(a, b)
    except TypeError:
        return False


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: _safe_cmp(lambda x, y: x < y, a, b),
    "le": lambda a, b: _safe_cmp(lambda x, y: x <= y, a, b),
    "gt": lambda a, b: _safe_cmp(lambda x, y: x > y, a, b),
    "ge": lambda a, b: _safe_cmp(lambda x, y: x >= y, a, b),
}
_ALIASES = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
            "in": "in_", "notin": "notin_", "is": "is_", "is_not": "isnot"}


def _no_constraint(_: Resource) -> bool:
    return True


def related(resource: Resource, name: str) -> list[Resource]:
    """The resources behind relationship `name` (loaded once per resource, by key)."""
    rel = resource.relationships.get(name)
    if rel is None or rel.loader is None:
        return []
    cache = resource.loaded
    if name not in cache:
        cache[name] = rel.load()  # only what the caller may read (openevent.rules.visibility)
    return cache[name]


def _linked_ids(resource: Resource, name: str) -> list[str]:
    rel: Rel | None = resource.relationships.get(name)
    if rel is None:
        return []
    if rel.include_data or rel.loader is None:
        ids = rel.ids if rel.many else ([] if rel.ids is None else [rel.ids])
        return [str(i) for i in (ids or [])]
    return [str(r.id) for r in related(resource, name)]


def is_relationship(schema: Schema, name: str) -> bool:
    from openevent.jsonapi.compat import TOLERATED_RELATIONSHIPS

    return (name in schema.relationships or name in schema.read_relationships
            or name in TOLERATED_RELATIONSHIPS.get(schema.type, frozenset()))


def compile_filter(spec: Any, schema: Schema, depth: int = 0) -> Predicate:
    """Compile filter JSON into a predicate over `schema`'s resources (400 on bad input)."""
    if depth > MAX_DEPTH:
        raise BadRequest("'filter' is nested too deeply", parameter="filter")
    if isinstance(spec, list):
        parts = [compile_filter(s, schema, depth + 1) for s in spec]
        return lambda r: all(p(r) for p in parts)
    if not isinstance(spec, dict):
        raise BadRequest("Each filter must be an object", parameter="filter")
    for combinator in ("and", "or"):
        if combinator in spec:
            subs = spec[combinator]
            if not isinstance(subs, list):
                raise BadRequest(f"'{combinator}' takes a list", parameter="filter")
            if not subs:
                return _no_constraint
            parts = [compile_filter(s, schema, depth + 1) for s in subs]
            if combinator == "and":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
    if "not" in spec:
        inner = compile_filter(spec["not"], schema, depth + 1)
        return lambda r: not inner(r)
    name, op, val = spec.get("name"), spec.get("op"), spec.get("val")
    if not isinstance(name, str) or not isinstance(op, str):
        raise BadRequest("A filter needs 'name' and 'op'", parameter="filter")
    op = _ALIASES.get(op.lower(), op.lower())
    attr = snake(name)
    if attr == "id" or (attr in schema.fields and not schema.fields[attr].write_only):
        return _attribute_filter(schema, name, attr, op, val)
    if is_relationship(schema, attr):
        return _relationship_filter(name, attr, op, val, depth)
    raise BadRequest(f"Cannot filter on '{name}'", parameter="filter")


def _attribute_filter(schema: Schema, name: str, attr: str, op: str, val: Any) -> Predicate:
    if attr == "id":
        kind = "integer" if schema.numeric_id else "string"
    else:
        kind = schema.fields[attr].kind

    def get(r: Resource) -> Any:
        raw = r.id if attr == "id" else r.values.get(attr)
        return _comparable(str(raw) if attr == "id" and kind == "string" else raw, kind)

    if op in _OPS:
        target = _comparable(val, kind)
        fn = _OPS[op]
        return lambda r: fn(get(r), target)
    if op in {"in_", "notin_"}:
        if not isinstance(val, list):
            raise BadRequest(f"'{op}' takes a list", parameter="filter")
        targets = [_comparable(v, kind) for v in val]
        if op == "in_":
            return lambda r: get(r) in targets
        return lambda r: get(r) not in targets
    if op in {"like", "ilike", "notlike", "notilike"}:
        matches = _like_predicate(name, op, val)
        negate = op.startswith("not")
        return lambda r: matches(get(r)) != negate
    if op in {"is_", "isnot"}:
        if val is None:
            return lambda r: (get(r) is None) == (op == "is_")
        target = _comparable(val, kind)
        return lambda r: (get(r) == target) == (op == "is_")
    raise BadRequest(f"Operator '{op}' does not apply to '{name}'", parameter="filter")


def _relationship_filter(name: str, rel: str, op: str, val: Any, depth: int) -> Predicate:
    if op in {"has", "any"}:
        if not isinstance(val, dict | list):
            raise BadRequest(f"'{op}' on '{name}' takes a filter", parameter="filter")
        compiled: dict[str, Predicate] = {}

        def nested(item: Resource) -> bool:
            # The related schema is known once a related resource is loaded.
            key = item.schema.type
            if key not in compiled:
                compiled[key] = compile_filter(val, item.schema, depth + 1)
            return compiled[key](item)

        return lambda r: any(nested(item) for item in related(r, rel))
    if op in {"eq", "ne", "is_", "isnot"} and val is None:
        wants_none = op in {"eq", "is_"}
        return lambda r: (not _linked_ids(r, rel)) == wants_none
    if op in {"eq", "ne"}:
        if isinstance(val, dict | list | bool):
            raise BadRequest(f"'{op}' on relationship '{name}' takes an id",
                             parameter="filter")
        target = str(val)
        if op == "eq":
            return lambda r: target in _linked_ids(r, rel)
        return lambda r: target not in _linked_ids(r, rel)
    if op in {"in_", "notin_"}:
        if not isinstance(val, list):
            raise BadRequest(f"'{op}' takes a list", parameter="filter")
        targets = {str(v) for v in val}
        if op == "in_":
            return lambda r: bool(targets.intersection(_linked_ids(r, rel)))
        return lambda r: not targets.intersection(_linked_ids(r, rel))
    raise BadRequest(f"Operator '{op}' does not apply to relationship '{name}'",
                     parameter="filter")


# --- sorting -------------------------------------------------------------------------------

def _sort_value(resource: Resource, path: list[str]) -> Any:
    """The value at `path` (`["event", "starts_at"]`), following to-one relationships."""
    head, rest = path[0], path[1:]
    if not rest:
        if head == "id":
            kind = "integer" if resource.schema.numeric_id else "string"
            raw: Any = resource.id
            if kind == "integer" or (isinstance(raw, str) and raw.isdigit()):
                return _comparable(raw, "integer")
            return raw
        spec = resource.schema.fields.get(head)
        if spec is None:
            return None
        return _comparable(resource.values.get(head), spec.kind)
    targets = related(resource, head)
    return _sort_value(targets[0], rest) if targets else None


def check_sort(sort: list[tuple[str, bool]], schema: Schema) -> None:
    """400 for a sort key the resource type does not have (its first segment is checked;
    deeper segments are read from the related resources)."""
    for name, _ in sort:
        path = name.split(".")
        head = path[0]
        if len(path) == 1 and head != "id" and head not in schema.fields:
            raise BadRequest(f"Cannot sort on '{dasherize(name)}'", parameter="sort")
        if len(path) > 1 and not is_relationship(schema, head):
            raise BadRequest(f"Cannot sort on '{dasherize(name)}'", parameter="sort")
        if len(path) > 3:
            raise BadRequest(f"Cannot sort on '{dasherize(name)}'", parameter="sort")


def sort_resources(items: list[Resource], sort: list[tuple[str, bool]], schema: Schema) -> None:
    """Sort in place, stable, by each key in turn; missing values sort last ascending."""
    check_sort(sort, schema)
    for name, desc in reversed(sort):
        path = name.split(".")

        def key(r: Resource, path: list[str] = path) -> tuple[int, Any]:
            value = _sort_value(r, path)
            return (1, "") if value is None else (0, value)

        def as_text(r: Resource, path: list[str] = path) -> str:
            return str(_sort_value(r, path))

        try:
            items.sort(key=key, reverse=desc)
        except TypeError:  # mixed kinds under one name: fall back to their text
            items.sort(key=as_text, reverse=desc)
