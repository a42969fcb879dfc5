"""Reads made once per request. One request often asks for the same item several times: the
handler loads an event, then the read rule of every included ticket or form asks whether the
caller may see that event, and the role checks ask for the caller's role in it again. The first
answer is kept for the rest of that request — never longer, and never across requests, so it
cannot be stale beyond the request that read it. A write through the memoized models drops the
memo (`MemoDroppingModel`); code that writes them in a transaction calls `forget()`.

Outside a request (jobs, tests calling services) nothing is kept: every call loads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_MEMO: ContextVar[dict[Hashable, Any] | None] = ContextVar("openevent_request_memo",
                                                           default=None)


@contextmanager
def scope() -> Iterator[None]:
    """A fresh memo for the request this block serves."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def get(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s answer, kept under `key` for the rest of the request."""
    memo = _MEMO.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]  # type: ignore[no-any-return]


def active() -> bool:
    """True inside a request's scope (where kept answers are used)."""
    return _MEMO.get() is not None


def has(key: Hashable) -> bool:
    """True when this request already keeps an answer under `key`."""
    memo = _MEMO.get()
    return memo is not None and key in memo


def put(key: Hashable, value: Any) -> None:
    """Remember `value` (read some other way) under `key` for the rest of the request."""
    memo = _MEMO.get()
    if memo is not None:
        memo[key] = value


def forget() -> None:
    """Drop everything kept for this request (after a write)."""
    memo = _MEMO.get()
    if memo is not None:
        memo.clear()


class MemoDroppingModel:
    """Mixin: every save/update/delete through the model drops the request's memo."""

    def save(self, *args: Any, **kwargs: Any) -> Any:
        forget()
        return super().save(*args, **kwargs)  # type: ignore[misc]

    def update(self, *args: Any, **kwargs: Any) -> Any:
        forget()
        try:
            return super().update(*args, **kwargs)  # type: ignore[misc]
        finally:
            forget()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        forget()
        return super().delete(*args, **kwargs)  # type: ignore[misc]
