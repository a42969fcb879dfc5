"""Shared model plumbing: table naming, money attributes, coordination-free ids, uniqueness.

Table names are `<OPENEVENT_TABLE_PREFIX><name>`; every table is on-demand. boto3 and
PynamoDB honour `AWS_ENDPOINT_URL`, so the same models talk to moto locally and to DynamoDB
in AWS without a code path of their own.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import botocore.session
from pynamodb.attributes import Attribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.connection import base as _pynamodb_connection
from pynamodb.constants import NUMBER, PAY_PER_REQUEST_BILLING_MODE
from pynamodb.models import Model

from openevent import backend as _backend

# PynamoDB builds a new botocore session for every model's connection, and each session
# loads and parses the DynamoDB service model again (~90 ms): a request touching five
# tables would pay almost half a second on a cold start. One shared session loads it once.
_shared_session: botocore.session.Session | None = None
_session_lock = threading.Lock()


def _get_shared_session() -> botocore.session.Session:
    global _shared_session
    with _session_lock:
        if _shared_session is None:
            _shared_session = botocore.session.get_session()
        return _shared_session


_pynamodb_connection.get_session = _get_shared_session
_backend.install()  # an outage of DynamoDB is `BackendUnavailable` (503), never a PutError

TABLE_PREFIX = os.environ.get("OPENEVENT_TABLE_PREFIX", "openevent-")
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


@lru_cache(maxsize=1)
def db_connection() -> Connection:
    """The low-level connection `TransactWrite` uses, made once per process (its botocore
    client is thread-safe; building one per transaction would cost a client each time)."""
    return Connection(region=REGION)


def table_meta(name: str) -> Any:
    """A PynamoDB `Meta` class for table `name`."""

    class Meta:
        table_name = TABLE_PREFIX + name
        region = REGION
        billing_mode = PAY_PER_REQUEST_BILLING_MODE
        # Lambda-friendly: fail fast instead of hanging a request on a stuck connection.
        connect_timeout_seconds = 5
        read_timeout_seconds = 10
        max_retry_attempts = 3

    return Meta


def index_meta(name: str) -> Any:
    from pynamodb.indexes import AllProjection

    class Meta:
        index_name = name
        projection = AllProjection()

    return Meta


def now() -> datetime:
    return datetime.now(UTC)


class DecimalAttribute(Attribute[Decimal]):
    """An exact decimal stored as a DynamoDB number (never through float)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return str(Decimal(value))

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class IntAttribute(Attribute[int]):
    """A whole number stored as a DynamoDB number, typed `int` (PynamoDB's is `float`)."""

    attr_type = NUMBER

    def serialize(self, value: int) -> str:
        return str(int(value))

    def deserialize(self, value: str) -> int:
        return int(Decimal(value))


# Ids need no coordination: no shared counter item (one per kind was a platform-wide hot
# partition, and sequential ids let anyone count sales and guess records). They stay below
# 2**53 because the web app reads ids as JavaScript numbers.
ID_BITS = 53
_RANDOM_BITS = 12
_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z; 41 bits of milliseconds last to 2093
_SECRET_KINDS = frozenset({"discount-code", "access-code"})
_id_lock = threading.Lock()
_last_id = 0


def next_id(kind: str) -> int:
    """A new id of `kind`, made here without any database call.

    Most kinds get time-ordered ids (milliseconds since 2024, then 12 random bits, rising
    within a process), so lists sorted by id follow creation. Discount and access codes are
    applied by id from the web app, so theirs are 53 random bits: unguessable. Creation paths
    write new items under `attribute_not_exists`, so the rare clash of two containers in the
    same millisecond is refused, never an overwrite — and drawn again inside the request
    (`raise_if_clashed`, `retry_id_clash`), never surfaced to the client.
    """
    global _last_id
    if kind in _SECRET_KINDS:
        return secrets.randbits(ID_BITS - 1) | (1 << (ID_BITS - 1))  # 16 digits, never 0
    millis = max(0, int(time.time() * 1000) - _EPOCH_MS) & ((1 << (ID_BITS - _RANDOM_BITS)) - 1)
    candidate = (millis << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
    with _id_lock:
        if candidate <= _last_id:
            candidate = _last_id + 1
        _last_id = candidate
    return candidate


ID_CLASH_ATTEMPTS = 4  # three clashes in a row: about 1 in 7·10^10 at worst


class IdClash(Exception):
    """The id of a new item was taken (another container drew it in the same millisecond);
    the write was refused, so nothing was written."""


def raise_if_clashed(items: Any) -> None:
    """After a refused write that created `items` under `attribute_not_exists`: IdClash if
    one of their keys is taken (nothing of the write exists, so a taken key is another's).
    One consistent GetItem per item, only on the failure path."""
    for item in items:
        hash_key = getattr(item, item._hash_key_attribute().attr_name)
        range_attr = item._range_key_attribute()
        range_key = None if range_attr is None else getattr(item, range_attr.attr_name)
        try:
            type(item).get(hash_key, range_key, consistent_read=True)
        except type(item).DoesNotExist:
            continue
        raise IdClash(f"{type(item).__name__} {hash_key}")


def retry_id_clash(create: Callable[..., Any]) -> Callable[..., Any]:
    """Run a creating service again, drawing new ids, when its write met an id clash
    (`IdClash`: nothing was written). After ID_CLASH_ATTEMPTS: 503 with Retry-After."""
    import functools

    @functools.wraps(create)
    def run(*args: Any, **kwargs: Any) -> Any:
        for _ in range(ID_CLASH_ATTEMPTS):
            try:
                return create(*args, **kwargs)
            except IdClash:
                continue
        from openevent.errors import ServiceUnavailable

        raise ServiceUnavailable("New ids kept clashing with others; try again",
                                 headers={"Retry-After": "1"})

    return run


class Unique(Model):
    """Uniqueness claims (`user-email#a@b`, `ticket-name#12#VIP`) written in the same
    transaction as the item they guard, so two concurrent creates cannot both win."""

    Meta = table_meta("uniques")
    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute(null=True)


def unique_key(*parts: Any) -> str:
    return "#".join(str(p).lower() if isinstance(p, str) else str(p) for p in parts)


class ClaimTaken(Exception):
    """The uniqueness claim an update wanted belongs to another item."""


def failed_positions(exc: Exception) -> list[int]:
    """Positions of the transaction items whose condition failed."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [i for i, reason in enumerate(reasons)
            if reason is not None and reason.code == "ConditionalCheckFailed"]


_RETRYABLE = ("TransactionInProgressException", "ThrottlingException")


def transact(fill: Callable[[Any], None], *, attempts: int = 8) -> None:
    """One TransactWriteItems, filled by `fill(tx)`, sent again while DynamoDB cancels it
    only because another transaction on one of its items is in flight (`TransactionConflict`:
    nothing was written) — a shared counter shard makes that an everyday event, not an
    error. A failed condition re-raises pynamodb's `TransactWriteError` at once (see
    `failed_positions`); conflicts past `attempts` answer 503 with Retry-After."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from openevent.errors import ServiceUnavailable

    for attempt in range(attempts):
        try:
            with TransactWrite(connection=db_connection()) as tx:
                fill(tx)
            return
        except TransactWriteError as exc:
            reasons = getattr(exc, "cancellation_reasons", None) or []
            codes = [r.code for r in reasons if r is not None]
            if "ConditionalCheckFailed" in codes:
                raise
            if "TransactionConflict" not in codes and exc.cause_response_code not in _RETRYABLE:
                raise
            if attempt == attempts - 1:
                raise ServiceUnavailable("Too many concurrent changes; try again",
                                         headers={"Retry-After": "1"}) from None
            # exponential backoff with full jitter (AWS's advice for contended writes)
            time.sleep(random.uniform(0, 0.01 * 2 ** attempt))


def update_moving_claim(item: Model, actions: list[Any], condition: Any, *,
                        old_claim: str, new_claim: str | None, owner: str) -> None:
    """Update `item` and, when `new_claim` differs from `old_claim`, move its uniqueness
    claim in the same transaction (a rename can never leave two items with one name).

    Raises `ClaimTaken` if another item holds `new_claim`; any other failed condition
    re-raises pynamodb's `TransactWriteError` for the caller to interpret.
    """
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    moving = new_claim is not None and new_claim != old_claim
    try:
        with TransactWrite(connection=db_connection()) as tx:
            if moving:
                assert new_claim is not None
                tx.save(Unique(new_claim, owner=owner), condition=Unique.key.does_not_exist())
                tx.delete(Unique(old_claim))
            tx.update(item, actions=actions, condition=condition)
    except TransactWriteError:
        # Which item failed is read back rather than taken from the cancellation reasons:
        # PynamoDB orders a transaction's items by kind, not as they were added.
        if moving and _held_by_other(str(new_claim), owner):
            raise ClaimTaken(new_claim) from None
        raise


def _held_by_other(claim: str, owner: str) -> bool:
    try:
        return Unique.get(claim, consistent_read=True).owner != owner
    except Unique.DoesNotExist:
        return False


BATCH_GET_LIMIT = 100  # keys per BatchGetItem call (DynamoDB's limit)


def batch_get_many(wanted: list[tuple[type[Model], list[Any]]]) -> dict[type[Model], list[Any]]:
    """Items of several tables by key in one BatchGetItem (more only past 100 keys, or when
    DynamoDB hands keys back unprocessed). `wanted` pairs a model with its keys (hash keys,
    or (hash, range) tuples); the answer maps each model to the items found, in no order.

    One round trip instead of one per table: a list page that needs its items' parents and
    its count reads both at once.
    """
    by_table: dict[str, type[Model]] = {}
    pending: list[tuple[str, dict[str, Any]]] = []
    for model, keys in wanted:
        table = model.Meta.table_name
        by_table[table] = model
        hash_attr = model._hash_key_attribute()
        range_attr = model._range_key_attribute()
        seen: set[str] = set()
        for key in keys:
            hash_value, range_value = (key if range_attr is not None else (key, None))
            h, r = model._serialize_keys(hash_value, range_value)
            typed = {hash_attr.attr_name: {hash_attr.attr_type: h}}
            if range_attr is not None:
                typed[range_attr.attr_name] = {range_attr.attr_type: r}
            marker = repr(sorted((k, sorted(v.items())) for k, v in typed.items()))
            if marker not in seen:  # BatchGetItem refuses a key asked twice
                seen.add(marker)
                pending.append((table, typed))
    found: dict[type[Model], list[Any]] = {model: [] for model, _ in wanted}
    connection = db_connection()
    retries = 0
    while pending:
        chunk, pending = pending[:BATCH_GET_LIMIT], pending[BATCH_GET_LIMIT:]
        request: dict[str, dict[str, list[Any]]] = {}
        for table, typed in chunk:
            request.setdefault(table, {"Keys": []})["Keys"].append(typed)
        answer = connection.dispatch("BatchGetItem", {"RequestItems": request})
        for table, items in (answer.get("Responses") or {}).items():
            model = by_table[table]
            found[model].extend(model.from_raw_data(item) for item in items)
        unprocessed = answer.get("UnprocessedKeys") or {}
        for table, rest in unprocessed.items():
            pending.extend((table, typed) for typed in rest.get("Keys", []))
        if unprocessed:  # throttled: back off before asking again
            retries += 1
            time.sleep(min(1.0, 0.05 * 2 ** retries))
    return found


def get_many(keys: list[tuple[type[Model], Any, Any]]) -> list[Model | None]:
    """Items of several tables in one BatchGetItem (`batch_get_many`), in the order of
    `keys` (`(model, hash key, range key or None)`), None where missing."""
    wanted: dict[type[Model], list[Any]] = {}
    for model, hash_key, range_key in keys:
        wanted.setdefault(model, []).append(
            hash_key if model._range_key_attribute() is None else (hash_key, range_key))
    found = batch_get_many(list(wanted.items()))

    def key_of(model: type[Model], item: Any) -> tuple[Any, Any]:
        range_attr = model._range_key_attribute()
        return (getattr(item, model._hash_key_attribute().attr_name),
                None if range_attr is None else getattr(item, range_attr.attr_name))

    index = {(model, key_of(model, item)): item for model, items in found.items()
             for item in items}
    return [index.get((model, (hash_key, range_key))) for model, hash_key, range_key in keys]
