"""Per-container read-through cache for the few items nearly every request reads: the system
settings, the modules and the caller's user. Each saves a DynamoDB round trip per request.

Entries live `OPENEVENT_CACHE_SECONDS` (default 5 s; 0 turns caching off) and are dropped at
once when this container writes the item (the models call `invalidate` from `save`/`update`/
`delete`). Another container's write is seen after at most the TTL — the price of the saved
round trip; tokens stay exact because the user's password version is checked on every
request against the cached copy and a mismatch reloads it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
_lock = threading.Lock()
_entries: dict[Hashable, tuple[float, Any]] = {}


def ttl_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("OPENEVENT_CACHE_SECONDS", "5")))
    except ValueError:
        return 5.0


def get(key: Hashable, load: Callable[[], T]) -> T:
    """The cached value of `key`, loading it when missing or older than the TTL."""
    ttl = ttl_seconds()
    if ttl <= 0:
        return load()
    now = time.monotonic()
    with _lock:
        found = _entries.get(key)
    if found is not None and now - found[0] < ttl:
        return found[1]  # type: ignore[no-any-return]
    value = load()
    with _lock:
        _entries[key] = (now, value)
    return value


def invalidate(key: Hashable | None = None) -> None:
    """Drop `key` (or everything)."""
    with _lock:
        if key is None:
            _entries.clear()
        else:
            _entries.pop(key, None)


class InvalidatingModel:
    """Mixin for models whose items are cached: every write through the model drops the
    cached copy (key: (class name, hash key))."""

    def _cache_key(self) -> tuple[str, Any]:
        meta = self._hash_key_attribute()  # type: ignore[attr-defined]
        return (type(self).__name__, getattr(self, meta.attr_name))

    def save(self, *args: Any, **kwargs: Any) -> Any:
        invalidate(self._cache_key())
        try:
            return super().save(*args, **kwargs)  # type: ignore[misc]
        finally:
            invalidate(self._cache_key())

    def update(self, *args: Any, **kwargs: Any) -> Any:
        invalidate(self._cache_key())
        try:
            return super().update(*args, **kwargs)  # type: ignore[misc]
        finally:
            invalidate(self._cache_key())

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        invalidate(self._cache_key())
        try:
            return super().delete(*args, **kwargs)  # type: ignore[misc]
        finally:
            invalidate(self._cache_key())
