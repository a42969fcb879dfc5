"""moto's server with its DynamoDB backend made atomic per call, as DynamoDB is.

moto checks a transaction's conditions, applies it, and on failure restores a deep copy of
whole tables — without a lock. Under concurrent requests it can interleave two transactions
or roll back another request's committed write, so counters guarded by conditional writes
would drift for reasons that do not exist in DynamoDB. One lock per backend call restores
DynamoDB's per-item atomicity (and more). Used by the local runtime, the tests (in-process)
and the benchmarks.

    python -m openevent.local.moto_server -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import functools
import sys
import threading
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


def lock_moto_dynamodb() -> None:
    """Serialize moto's DynamoDB backend calls (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_openevent_locked", False):
        return
    for name in _CALLS:
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend._openevent_locked = True  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    lock_moto_dynamodb()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
