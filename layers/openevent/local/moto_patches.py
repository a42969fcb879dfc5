"""moto's DynamoDB backend made atomic per call, and kept from growing with the requests.

Guarantees, once `lock_moto_dynamodb()` and `untrack_moto_models()` ran in a process (both
idempotent; the embedded AWS, the tests in-process and the benchmarks call them):
- Atomic: moto checks a transaction's conditions, applies it, and on failure restores a deep
  copy of whole tables — without a lock. Under concurrent requests it can interleave two
  transactions or roll back another request's committed write. One lock per backend call
  restores DynamoDB's per-item atomicity (and more); a failed transaction puts back only the
  items it named (no whole-table copies).
- Bounded: moto's model objects are not kept alive after use (moto tracks every instance
  for its dashboard, never dropping one), so memory follows the data, not the requests.
- `model_transaction_conflicts` (benchmarks only) makes concurrent transactions on one item
  conflict as DynamoDB's do.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

_lock = threading.RLock()
_CALLS = ("transact_write_items", "transact_get_items", "update_item", "put_item",
          "delete_item", "get_item", "query", "scan", "batch_get_item", "batch_write_item")


def _locked(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return fn(*args, **kwargs)

    return wrapper


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a whole `Table` is
    not deep-copied (see `_item_backups`); anything else is."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        import copy

        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_backups(original: Any) -> Any:
    """moto backs up every table a transaction touches with a deep copy of the whole table:
    O(table) time and garbage per transaction (p50 30 s and a 4.9 GB moto after
    bench/load.py's 3,000 requests). Back up only the items the transaction names and put
    them back if it fails — the same outcome, as the backend is serialized (`_lock`)."""
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        backups = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            attrs = (op.get("Key") or op.get("Item") or {}) if table is not None else {}
            if table is None or table.hash_key_attr not in attrs or (
                    table.range_key_attr and table.range_key_attr not in attrs):
                continue  # moto refuses it before changing anything
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr \
                else None
            current = (table.items.get(hash_key, {}).get(range_key) if range_key is not None
                       else table.items.get(hash_key))
            backups.append((table, hash_key, range_key, copy.deepcopy(current)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(backups):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                elif item is None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = item
            raise

    return transact_write_items


def lock_moto_dynamodb() -> None:
    """Serialize moto's DynamoDB backend calls, with item-level transaction rollback
    (idempotent)."""
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_openevent_locked", False):
        return
    backend_module.copy = _NoTableCopies  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _item_backups(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items)
    for name in _CALLS:
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend._openevent_locked = True  # type: ignore[attr-defined]


def untrack_moto_models() -> None:
    """Stop moto from keeping every model object it ever made (idempotent).

    moto's `BaseModel.__new__` appends each instance to its class's `instances_tracked`
    list, for moto's own dashboard, and nothing ever removes them. A DynamoDB Query
    deep-copies every item it returns (new `Item` objects), and every write makes new
    ones: the embedded AWS grew with the number of requests (108 -> 159 MB over 3,000
    reads; 98 -> 379 MB over 1,600 mixed requests, 104 MB for the same data after a
    restart; found with OPENEVENT_MOTO_TRACEMALLOC: 7 MB of query copies alive after 800
    reads). The dashboard is not used here: instances are no longer tracked."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    if getattr(BaseModel, "_openevent_untracked", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: N807 - moto's hook
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[method-assign, assignment]
    BaseModel._openevent_untracked = True  # type: ignore[attr-defined]
    reset_model_data()  # drop what was tracked so far


def model_transaction_conflicts(millis: float) -> Callable[[], None]:
    """Model DynamoDB's transaction conflicts (benchmarks only): a TransactWriteItems is in
    flight for `millis` ms, and another one naming any of its items meanwhile is cancelled
    with `TransactionConflict` — as DynamoDB does, rather than queueing it. Without this
    the serialized backend never conflicts, and a benchmark could not show what one hot item
    costs against N shards. The time is spent outside the backend lock, so transactions on
    different items overlap as they do in DynamoDB. Returns the function that turns it off."""
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend

    inner = DynamoDBBackend.transact_write_items
    in_flight: set[tuple[str, str]] = set()
    guard = threading.Lock()

    def key_of(entry: dict[str, Any]) -> tuple[str, str]:
        _, op = next(iter(entry.items()))
        if not isinstance(op, dict):
            return ("", "")
        key = op.get("Key") or op.get("Item") or {}
        return (str(op.get("TableName")), json.dumps(key, sort_keys=True))

    @functools.wraps(inner)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        keys = [key_of(entry) for entry in transact_items]
        with guard:
            busy = [k in in_flight for k in keys]
            if any(busy):
                raise TransactionCanceledException([
                    ("TransactionConflict", "Transaction is ongoing for the item", None)
                    if b else (None, None, None) for b in busy])
            in_flight.update(keys)
        try:
            time.sleep(millis / 1000)
        finally:
            with guard:
                in_flight.difference_update(keys)
        # applied after its window (waiting for the serialized backend is not DynamoDB time)
        return inner(self, transact_items)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def undo() -> None:
        DynamoDBBackend.transact_write_items = inner  # type: ignore[method-assign]

    return undo
