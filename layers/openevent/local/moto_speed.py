"""moto's DynamoDB answers written and compared without its generic machinery: same bytes,
less time.

Guarantees, once `speed_up_moto_dynamodb()` ran in a process (idempotent; the embedded AWS
and the tests in-process call it):
- Every answer is the JSON moto's own serializer writes. moto 5.2 writes each
  `AttributeValue` by walking the botocore shape of its ten members through an attribute
  picker (aliases, snake_case names, transformers): 180 µs a value, 27 ms for a page of ten
  events of 26 attributes, most of what the embedded AWS spent on a read. Here a value is
  written directly, by the same rules (`S`/`N` as strings, `B`/`BS` as base64, `M`/`L`
  recursively, `BOOL`/`NULL` as given, members that are None left out).
  `tests/reliability/test_moto_speed.py` checks both give the same document for every type,
  nested, empty and binary.
- Comparisons (`DynamoType.cast_value`) give the same values as moto's; strings and numbers,
  which every key and sort compares, skip its chain of type tests.
- A Query reads its partition, not the table. moto answers every Query by sorting and
  testing every item of the table (its `all_items()`), so one event by identifier cost
  O(events) — 11 ms at 1,000 — where DynamoDB reads one partition. Here moto's own `query`
  runs unchanged over the items that can match: a base-table Query over its partition's
  items; an index Query over the items whose index partition key equals the one asked for,
  from partitions built once per index and rebuilt after any call that may write (every
  backend call but the known reads bumps a version, before and after it runs). moto still
  tests, sorts, pages, projects and filters those items itself, and its sort key decides
  the order, so the answer is the one it gave over the whole table.
  `OPENEVENT_MOTO_QUERY_CHECK=1` (diagnosis) answers every narrowed Query both ways and
  raises if they differ; the test suite passes with it on.

What moto reads and writes, its conditions and its errors are untouched.
"""

from __future__ import annotations

import base64
import inspect
import os
import threading
import weakref
from decimal import Decimal
from typing import Any

# Backend calls known not to write (anything else, including calls added by a newer moto,
# is taken as a write and drops the index partitions).
READS = frozenset({
    "get_item", "query", "scan", "batch_get_item", "transact_get_items", "get_table",
    "describe_table", "list_tables", "describe_time_to_live", "list_tags_of_resource",
    "describe_continuous_backups", "describe_endpoints", "describe_backup", "list_backups",
    "get_keys_value", "get_schema", "describe_limits", "get_table_keys_name",
    "iter_tagged_resources", "get_backup", "describe_export", "describe_import",
    "list_exports", "get_resource_policy"})
_narrowed = threading.local()  # the candidate items of the Query running in this thread
_version_lock = threading.Lock()
_version = [0]
_partitions: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, dict[Any, list[Any]]]]] = \
    weakref.WeakKeyDictionary()


def _blob(value: Any) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).strip().decode("utf-8")


def attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    """The JSON of one DynamoDB AttributeValue, as moto's serializer writes it, from what moto's
    `dynamo_to_dict` gives (`{type: value}`, bytes for binaries)."""
    out: dict[str, Any] = {}
    for kind, inner in value.items():
        if inner is None:
            continue
        if kind == "S" or kind == "N":
            out[kind] = inner if inner in ({}, []) else str(inner)
        elif kind == "M":
            out[kind] = {key: attribute_value(member) for key, member in inner.items()}
        elif kind == "L":
            out[kind] = [attribute_value(member) for member in inner]
        elif kind == "BOOL" or kind == "NULL":
            out[kind] = inner
        elif kind == "SS" or kind == "NS":
            out[kind] = [str(member) for member in inner]
        elif kind == "B":
            out[kind] = _blob(inner)
        elif kind == "BS":
            out[kind] = [_blob(member) for member in inner]
        # any other key is not a member of the shape: moto's walk never reads it
    return out


def _bump() -> None:
    with _version_lock:
        _version[0] += 1


def _may_write(fn: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        _bump()
        try:
            return fn(*args, **kwargs)
        finally:
            _bump()

    call.__name__, call.__doc__, call.__wrapped__ = fn.__name__, fn.__doc__, fn  # type: ignore[attr-defined]
    return call


def _index_partitions(table: Any, index: Any) -> dict[Any, list[Any]]:
    """The table's items by their values of the index's partition key, each partition in the
    order moto sorts a Query's items (so its sort, which still runs, finds them in order)."""
    cached = _partitions.setdefault(table, {})
    version = _version[0]
    entry = cached.get(index.name)
    if entry is not None and entry[0] == version:
        return entry[1]
    names = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    parts: dict[Any, list[Any]] = {}
    for stored in table.items.values():
        for item in (stored.values() if table.range_key_attr else (stored,)):
            key = tuple(item.attrs.get(name) for name in names)
            if all(value is not None for value in key) and all(
                    item.attrs.get(name) is not None for name in ranges):
                parts.setdefault(key, []).append(item)
    # moto's sort key for this index (`Table.query`): the index's keys, then the table's
    order = ranges or [table.range_key_attr or table.hash_key_attr]
    for part in parts.values():
        try:
            table.sorted_items(names + [table.hash_key_attr], order + [table.range_key_attr],
                               part)
        except Exception:  # noqa: BLE001, S110 - left as built: moto sorts (or refuses) it
            pass
    cached[index.name] = (version, parts)
    return parts


def candidates(table: Any, hash_key: Any, index_name: str | None,
               conditions: list[tuple[str, Any]] | None) -> list[Any] | None:
    """The items a Query may match (a superset of its answer), or None to let moto read the
    whole table (a shape this does not know)."""
    if index_name is None:
        if hash_key is None:
            return None
        stored = table.items.get(hash_key)
        if stored is None:
            return []
        return list(stored.values()) if table.range_key_attr else [stored]
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None or not conditions:
        return None  # moto answers (and refuses an unknown index) itself
    names = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    asked = dict(conditions)
    if not names or sorted(asked) != sorted(names) or len(asked) != len(conditions):
        return None
    return list(_index_partitions(table, index).get(
        tuple(asked[name] for name in names), []))


def _narrow_queries() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    for name, fn in list(vars(DynamoDBBackend).items()):
        if inspect.isfunction(fn) and not name.startswith("_") and name not in READS:
            setattr(DynamoDBBackend, name, _may_write(fn))
    moto_all_items, moto_query = Table.all_items, Table.query
    signature = inspect.signature(moto_query)
    check = os.environ.get("OPENEVENT_MOTO_QUERY_CHECK") == "1"

    def all_items(self: Any) -> list[Any]:
        if getattr(_narrowed, "table", None) is self:
            return list(_narrowed.items)
        return moto_all_items(self)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        items = candidates(self, bound.get("hash_key"), bound.get("index_name"),
                           bound.get("hash_key_conditions"))
        if items is None:
            return moto_query(self, *args, **kwargs)
        _narrowed.table, _narrowed.items = self, items
        try:
            answer = moto_query(self, *args, **kwargs)
        finally:
            _narrowed.table = _narrowed.items = None
        if check:
            whole = moto_query(self, *args, **kwargs)
            if (answer[1], answer[2], [i.to_json() for i in answer[0]]) != \
                    (whole[1], whole[2], [i.to_json() for i in whole[0]]):
                raise AssertionError(f"narrowed Query differs on {self.name}: {bound}")
        return answer

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def speed_up_moto_dynamodb() -> None:
    """Install the direct AttributeValue writer, the short comparison path and the narrowed
    Query (idempotent)."""
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb.models.dynamo_type import DynamoType

    if getattr(BaseJSONSerializer, "_openevent_fast", False):
        return
    generic = BaseJSONSerializer._serialize_type_structure

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any,
                                  key: str) -> None:
        if key and shape.name == "AttributeValue" and isinstance(value, dict) \
                and self.operation_model.service_model.service_name == "dynamodb":
            serialized[key] = attribute_value(value)
            return
        generic(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
    BaseJSONSerializer._openevent_generic = generic  # type: ignore[attr-defined]  # for the test
    BaseJSONSerializer._openevent_fast = True  # type: ignore[attr-defined]

    moto_cast = DynamoType.cast_value.fget  # type: ignore[attr-defined]

    def cast_value(self: Any) -> Any:
        kind = self.type
        if kind == "S":
            return self.value
        if kind == "N":
            return Decimal(self.value)
        return moto_cast(self)

    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign, assignment]
    _narrow_queries()
