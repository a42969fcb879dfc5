"""Collection queries: paging, sorting, sparse fieldsets, includes and the `filter=` syntax.

Two paging forms:
- `page[size]`/`page[number]` (default size 20, `0` = everything) with `meta.count`;
- `page[cursor]` (an addition for large collections): the collection source pages through
  DynamoDB with `ExclusiveStartKey`, so a page costs O(page size) reads.

Filters and sorts are evaluated on the resources' attribute values, after the source has
narrowed the collection by key (an event's tickets, a user's orders ...). A collection that
is filtered or sorted on a non-key attribute is read whole when it is bounded by a parent
(its partition). A source that grows with the table (`window`: every event, every user,
every order) is read at most `filter_window()` candidates at a time, in key order from the
request's `page[cursor]`:
- when every candidate fits in that window (and no cursor was sent), the answer is the same
  as for a source read whole: filtered, sorted, paged by number, with an exact `meta.count`;
- otherwise the answer holds the matches among the window's candidates (filtered, sorted
  within the window, paged by number within it), `meta.count` is omitted and
  `meta.window = {"read", "limit", "more"}` says so; `links.next` goes to the window's next
  page, then to a `page[cursor]` continuing after the window's last key, so a client walks
  the whole collection one window at a time and sees every match exactly once.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from openevent.errors import BadRequest
from openevent.jsonapi.document import JSONAPI, Resource, Schema, collect_included
from openevent.jsonapi.filtering import check_sort, compile_filter, sort_resources
from openevent.jsonapi.naming import dasherize, snake

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
_PAGE_PARAM = re.compile(r"^\d{1,7}$")
# Candidates a filtered or sorted request reads of a table-wide source (docs/scale.md
# "Reads"): in AWS about 1-2 MB of events, one to a few Query calls.
FILTER_WINDOW = 2000
WINDOW_ENV = "OPENEVENT_FILTER_WINDOW"
_WINDOW_VALUE = re.compile(r"[0-9]{1,6}")


def filter_window() -> int:
    """The candidate window: `FILTER_WINDOW`, or `OPENEVENT_FILTER_WINDOW` when that is a
    positive integer (tests set it small)."""
    raw = os.environ.get(WINDOW_ENV, "")
    if _WINDOW_VALUE.fullmatch(raw) and int(raw) > 0:
        return int(raw)
    return FILTER_WINDOW


@dataclass
class CollectionParams:
    size: int = DEFAULT_PAGE_SIZE
    number: int = 1
    cursor: str | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (snake name, descending)
    include: list[str] = field(default_factory=list)
    fieldsets: dict[str, set[str]] = field(default_factory=dict)
    filter: Any = None


def _int_param(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _PAGE_PARAM.match(raw) or int(raw) < minimum:
        raise BadRequest(f"'{name}' must be an integer ≥ {minimum}", parameter=name)
    return int(raw)


def parse_params(params: Mapping[str, str] | None) -> CollectionParams:
    """Read collection parameters; unknown parameters are ignored (clients send extras)."""
    params = params or {}
    out = CollectionParams()
    out.size = min(_int_param(params, "page[size]", DEFAULT_PAGE_SIZE, 0), MAX_PAGE_SIZE)
    out.number = _int_param(params, "page[number]", 1, 1)
    cursor = params.get("page[cursor]")
    if cursor is not None:
        if len(cursor) > 2048:
            raise BadRequest("'page[cursor]' is invalid", parameter="page[cursor]")
        out.cursor = cursor
    sort = params.get("sort")
    if sort:
        for part in sort.split(","):
            part = part.strip()
            if not part:
                continue
            desc = part.startswith("-")
            out.sort.append((snake(part.lstrip("-")), desc))
    include = params.get("include")
    if include:
        out.include = [p.strip() for p in include.split(",") if p.strip()][:20]
    for key, value in params.items():
        if key.startswith("fields[") and key.endswith("]"):
            out.fieldsets[key[7:-1]] = {dasherize(v.strip()) for v in value.split(",") if v}
    raw_filter = params.get("filter")
    if raw_filter:
        if len(raw_filter) > 4096:
            raise BadRequest("'filter' is too long", parameter="filter")
        try:
            out.filter = json.loads(raw_filter)
        except (json.JSONDecodeError, RecursionError):
            raise BadRequest("'filter' must be JSON", parameter="filter") from None
        if not isinstance(out.filter, list | dict):
            raise BadRequest("'filter' must be a list or an object", parameter="filter")
    return out


# --- sources and documents ------------------------------------------------------------

class Source(Protocol):
    """Where a collection's items come from, already narrowed by key. `window`: the source
    grows with the table, so a filter or sort reads it a candidate window at a time."""

    window: bool

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Any], dict | None]:
        """Up to `limit` items in key order after `start`, and the key to continue from."""
        ...

    def count(self) -> int | None: ...


class ListSource:
    """A source over an already-loaded (partition-bounded) list."""

    window = False

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = list(items)

    def page(self, limit: int, start: dict[str, Any] | None) -> tuple[list[Any], dict | None]:
        offset = int((start or {}).get("offset", 0))
        chunk = self.items[offset : offset + limit] if limit else self.items[offset:]
        more = bool(limit) and offset + limit < len(self.items)
        nxt = {"offset": offset + len(chunk)} if more else None
        return chunk, nxt

    def count(self) -> int:
        return len(self.items)


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError):
        raise BadRequest("'page[cursor]' is invalid", parameter="page[cursor]") from None
    if not isinstance(value, dict):
        raise BadRequest("'page[cursor]' is invalid", parameter="page[cursor]")
    return value


def _link(base: str, query: Mapping[str, str], **page: Any) -> str:
    params = {k: v for k, v in query.items() if not k.startswith("page[")}
    for key, value in page.items():
        params[f"page[{key}]"] = str(value)
    qs = urlencode(params)
    return f"{base}?{qs}" if qs else base


def collection_document(
    source: Source,
    to_resource: Callable[[Any], Resource],
    schema: Schema,
    base_path: str,
    query: Mapping[str, str] | None,
    params: CollectionParams | None = None,
    visible: Callable[[Any], bool] | None = None,
) -> dict[str, Any]:
    """Build a collection document from `source` following the request's parameters."""
    query = dict(query or {})
    params = params or parse_params(query)
    predicate = compile_filter(params.filter, schema) if params.filter else None
    if params.sort:
        check_sort(params.sort, schema)
    links: dict[str, Any] = {"self": _link(base_path, query, **_current_page(query))}
    meta: dict[str, Any] = {}

    needs_all = predicate is not None or bool(params.sort) or visible is not None
    more = False
    window: int | None = None
    candidates: list[Any] | None = None
    resume: Any = None
    if needs_all and getattr(source, "window", False):
        window = filter_window()
        start = decode_cursor(params.cursor) if params.cursor else None
        candidates, resume = source.page(window, start)
        if start is None and resume is None:
            window = None  # every candidate fits: answered as a source read whole
    if params.cursor is not None and not needs_all:
        start = decode_cursor(params.cursor) if params.cursor else None
        size = params.size or DEFAULT_PAGE_SIZE
        items, nxt = source.page(size, start)
        resources = [to_resource(i) for i in items]
        links["next"] = _link(base_path, query, cursor=encode_cursor(nxt)) if nxt else None
        count = source.count()
        if count is not None:  # None: a platform-wide list keeps no count (docs/scale.md)
            meta["count"] = count
    elif window is not None and candidates is not None:
        resources = _matches(candidates, to_resource, schema, params, predicate, visible)
        resources = _window_page(resources, params, base_path, query, links, resume)
        meta["window"] = {"read": len(candidates), "limit": window, "more": resume is not None}
    else:
        if needs_all:
            if candidates is None:
                candidates, _ = source.page(0, None)
            resources = _matches(candidates, to_resource, schema, params, predicate, visible)
            total = len(resources)
            if params.size:
                start_at = (params.number - 1) * params.size
                resources = resources[start_at : start_at + params.size]
        else:
            limit = params.number * params.size if params.size else 0
            total = source.count()  # type: ignore[assignment]  # None: no count kept
            # without a count, one item more than the page shows whether a next page exists
            peek = 1 if total is None and limit else 0
            items, _ = source.page(limit + peek, None)
            more = bool(peek) and len(items) > limit
            items = items[:limit] if limit else items
            if params.size:
                items = items[(params.number - 1) * params.size :]
            resources = [to_resource(i) for i in items]
        if total is None:
            if params.size:
                links["first"] = _link(base_path, query, size=params.size, number=1)
                links["prev"] = (_link(base_path, query, size=params.size,
                                       number=params.number - 1)
                                 if params.number > 1 else None)
                links["next"] = (_link(base_path, query, size=params.size,
                                       number=params.number + 1) if more else None)
        else:
            meta["count"] = total
        if params.size and total is not None:
            last = max(1, -(-total // params.size))
            links["first"] = _link(base_path, query, size=params.size, number=1)
            links["last"] = _link(base_path, query, size=params.size, number=last)
            links["prev"] = (
                _link(base_path, query, size=params.size, number=params.number - 1)
                if params.number > 1 else None
            )
            links["next"] = (
                _link(base_path, query, size=params.size, number=params.number + 1)
                if params.number < last else None
            )
    doc: dict[str, Any] = {
        "data": [r.to_json(params.fieldsets) for r in resources],
        "links": links,
        "meta": meta,
        "jsonapi": JSONAPI,
    }
    if params.include:
        doc["included"] = [
            r.to_json(params.fieldsets) for r in collect_included(resources, params.include)
        ]
    return doc


def _matches(items: list[Any], to_resource: Callable[[Any], Resource], schema: Schema,
             params: CollectionParams, predicate: Callable[[Resource], bool] | None,
             visible: Callable[[Any], bool] | None) -> list[Resource]:
    """The resources of `items` the caller may see and the filter matches, sorted."""
    if visible is not None:
        items = [i for i in items if visible(i)]
    resources = [to_resource(i) for i in items]
    if predicate is not None:
        resources = [r for r in resources if predicate(r)]
    if params.sort:
        sort_resources(resources, params.sort, schema)
    return resources


def _window_page(resources: list[Resource], params: CollectionParams, base_path: str,
                 query: Mapping[str, str], links: dict[str, Any], resume: Any) -> list[Resource]:
    """Page `params.number` of the matches of one candidate window, and its links: the
    window's next page while it has one, then the cursor of the next window."""
    size, number = params.size, params.number
    here = {"cursor": params.cursor} if params.cursor else {}
    if size:
        first = (number - 1) * size
        page = resources[first : first + size]
        later_here = first + size < len(resources)
    else:
        page, later_here = resources, False
    links["first"] = _link(base_path, query, size=size, number=1)
    links["prev"] = (_link(base_path, query, size=size, number=number - 1, **here)
                     if number > 1 else None)
    if later_here:
        links["next"] = _link(base_path, query, size=size, number=number + 1, **here)
    elif resume is not None:
        links["next"] = _link(base_path, query, size=size, cursor=encode_cursor(resume))
    else:
        links["next"] = None
    return page


def _current_page(query: Mapping[str, str]) -> dict[str, str]:
    return {k[5:-1]: v for k, v in query.items() if k.startswith("page[") and k.endswith("]")}
