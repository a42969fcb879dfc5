"""Copying an event (API.md §4 "Event copy"), all or nothing.

What is copied: the event, its tickets (seat shards laid out anew, every seat free), tax,
tracks, sponsors, microlocations, social links, custom forms, ticket discount codes
(used_count reset to 0, ticket_ids remapped to the new tickets) and roles. Never copied:
orders, attendees, access codes, the event-level (admin) discount code and the Stripe authorization.

Configuration is copied; state is not. Every attribute of a copied event, ticket and code is
declared in `COPIED` (copied, or re-pointed at the copy: ids, event id, identifier, media) or
in `DERIVED` (state kept by the platform — seats taken, the "all shards empty" flag, uses,
the Stripe link — reset to its value for a new item); a test holds the two lists to the
models, so an attribute added later cannot be copied by accident. Figures keyed by id (order
statistics, list counts) start from zero because every copied item has a new id.

Media files in the media bucket (the event's logo-url / original-image-url, sponsors' logos)
are copied to new keys (`events/<old>/...` becomes `events/<new>/...`), never shared.

Order of work, so a failure anywhere leaves nothing visible:
1. read the source (Queries on each child table's event-index GSI);
2. reserve every new id with one counter ADD per kind;
3. copy the media objects (S3 CopyObject);
4. write the children and their `Unique` claims in `TransactWriteItems` chunks; every child
   points at the new event id, which does not exist yet, so they are unreachable;
5. write the event item and its identifier claim last, in one transaction — only now does the
   copy become visible.
If 3–5 fail, compensation deletes what was written (children, claims, copied media) and the
request answers 503. If compensation itself fails the leftovers stay unreachable orphans
(no event item points at them) and are logged for clean-up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from openevent import aws
from openevent.errors import ServiceUnavailable
from openevent.events import content as event_content
from openevent.events import inventory, tickets
from openevent.events import lifecycle as events
from openevent.events.discount_codes import code_claim_key, codes_of_event, ticket_ids_of
from openevent.models.base import Unique, next_id, now, transact, unique_key
from openevent.models.event_content import Sponsor, tax_claim_key
from openevent.models.events import DiscountCode, Event, EventRole, Ticket
from openevent.models.users import User
from openevent.rules.permissions import require_event_role
from openevent.settings import get_settings

log = logging.getLogger("openevent.event_copy")
CHUNK = 25  # items per TransactWriteItems call (DynamoDB allows 100; 25 fits every emulator)
IDENTIFIER_ATTEMPTS = 5


class CopyFailed(Exception):
    """A step of the copy failed; everything written so far has been compensated."""


# --- media ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MediaRef:
    """A URL that names an object in the media bucket: `prefix + key` rebuilds it."""

    prefix: str
    key: str


def media_ref(url: str | None) -> MediaRef | None:
    """Parse `url` if it points into the media bucket (s3://, virtual-hosted or path style)."""
    if not url or len(url) > 2048:
        return None
    bucket = get_settings().media_bucket
    if url.startswith(f"s3://{bucket}/"):
        prefix = f"s3://{bucket}/"
        return MediaRef(prefix, url[len(prefix):]) if len(url) > len(prefix) else None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.path or parts.query:
        return None
    host = parts.netloc.lower()
    path = parts.path.lstrip("/")
    if re.fullmatch(rf"{re.escape(bucket)}\.s3([.-][a-z0-9-]+)?\.amazonaws\.com", host):
        key = path
        prefix = f"{parts.scheme}://{parts.netloc}/"
    elif re.fullmatch(r"s3([.-][a-z0-9-]+)?\.amazonaws\.com", host) and \
            path.startswith(f"{bucket}/"):
        key = path[len(bucket) + 1:]
        prefix = f"{parts.scheme}://{parts.netloc}/{bucket}/"
    else:
        return None
    return MediaRef(prefix, key) if key else None


@dataclass
class MediaCopier:
    """Copies media objects to the new event's keys, remembering them for compensation."""

    old_event_id: int
    new_event_id: int
    copied: list[str] = field(default_factory=list)
    _mapping: dict[str, str] = field(default_factory=dict)

    def client(self) -> Any:
        return aws.client("s3")

    def new_key(self, key: str) -> str:
        old_prefix = f"events/{self.old_event_id}/"
        if key.startswith(old_prefix):
            return f"events/{self.new_event_id}/{key[len(old_prefix):]}"
        base = key.rsplit("/", 1)[-1]
        return f"events/{self.new_event_id}/copied/{len(self._mapping)}-{base}"

    def copy_url(self, url: str | None) -> str | None:
        """The URL of a fresh copy of `url`'s object, or `url` itself if not ours/missing."""
        ref = media_ref(url)
        if ref is None:
            return url
        if ref.key not in self._mapping:
            from botocore.exceptions import ClientError

            bucket = get_settings().media_bucket
            target = self.new_key(ref.key)
            try:
                self.client().copy_object(Bucket=bucket, Key=target,
                                          CopySource={"Bucket": bucket, "Key": ref.key})
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("NoSuchKey", "404"):
                    return url  # a dangling link: nothing to copy, nothing shared
                raise CopyFailed(f"media copy failed ({code})") from None
            self.copied.append(target)
            self._mapping[ref.key] = target
        return ref.prefix + self._mapping[ref.key]

    def remove_copies(self) -> None:
        bucket = get_settings().media_bucket
        for key in self.copied:
            try:
                self.client().delete_object(Bucket=bucket, Key=key)
            except Exception:  # noqa: BLE001 - best effort; logged for clean-up
                log.exception("could not remove copied media object %s", key)


# --- ids and writes ------------------------------------------------------------------------

@dataclass
class Write:
    """One item to put, with the condition that guards it (claims must not exist); with
    `actions`, an update of the item instead (a list count)."""

    item: Model
    condition: Any = None
    actions: list[Any] | None = None


def write_chunk(writes: list[Write]) -> None:
    """One TransactWriteItems call (tests replace this to inject a failure), sent again while
    it only conflicts with another transaction (the list count's shard)."""
    def fill(tx: TransactWrite) -> None:
        for w in writes:
            if w.actions is not None:
                tx.update(w.item, actions=w.actions, condition=w.condition)
            else:
                tx.save(w.item, condition=w.condition)

    transact(fill)


def _count_event(state: str) -> Write:
    """The copy's +1 on its state's list count, in the transaction that writes the event."""
    from openevent.models.system import Statistic
    from openevent.platform import list_counts

    return Write(list_counts.shard(list_counts.event_figure(state)),
                 actions=[Statistic.value.add(1)])


def _compensate(written: list[Write], media: MediaCopier) -> None:
    for w in reversed(written):
        try:
            w.item.delete()
        except Exception:  # noqa: BLE001 - leftovers are unreachable orphans; log them
            log.exception("copy compensation could not delete %s", type(w.item).__name__)
    media.remove_copies()


# State the platform derives from orders, holds and connections: never copied, reset to what a
# new item has (None: the attribute is left unset).
DERIVED: dict[type[Model], dict[str, Any]] = {
    Event: {"stripe_linked": False, "discount_code_id": None, "deleted_at": None},
    Ticket: {"seats_taken": 0, "shards_empty": None, "deleted_at": None},
    DiscountCode: {"used_count": 0, "deleted_at": None},
}
# Configuration: copied (or, for keys and media, re-pointed at the copy by `copy_event`).
COPIED: dict[type[Model], frozenset[str]] = {
    Event: frozenset({
        "id", "kind", "identifier", "owner_id", "name", "starts_at", "ends_at", "timezone",
        "state", "privacy", "description", "location_name", "logo_url", "original_image_url",
        "payment_currency", "payment_country", "paypal_email", "can_pay_by_stripe",
        "can_pay_by_paypal", "can_pay_onsite", "can_pay_by_bank", "can_pay_by_cheque",
        "is_donation_enabled", "is_ticketing_enabled", "extra", "created_at"}),
    Ticket: frozenset({
        "id", "event_id", "name", "description", "type", "price", "min_price", "max_price",
        "quantity", "min_order", "max_order", "sales_starts_at", "sales_ends_at", "is_hidden",
        "position", "seat_shards", "extra", "created_at"}),
    DiscountCode: frozenset({
        "id", "event_id", "code", "discount_url", "value", "type", "is_active",
        "tickets_number", "min_quantity", "max_quantity", "valid_from", "valid_till",
        "used_for", "ticket_ids", "marketer_id", "created_by", "created_at"}),
}


def _clone(item: Model, **changes: Any) -> Any:
    """A new item with `item`'s values, `changes` applied and, for a model with derived
    state, that state reset (`DERIVED`)."""
    values = dict(item.attribute_values)
    for name, fresh in DERIVED.get(type(item), {}).items():
        values.pop(name, None)
        if fresh is not None:
            values[name] = fresh
    values.update(changes)
    return type(item)(**values)


def _claim(key: str, owner: int) -> Write:
    return Write(Unique(key, owner=str(owner)), Unique.key.does_not_exist())


# --- the copy ------------------------------------------------------------------------------

def copy_event(user: User | None, event: Event,
               writer: Callable[[list[Write]], None] | None = None) -> Event:
    """Copy `event` (co-organizer+). Returns the new, visible event; 503 if nothing was made."""
    require_event_role(user, event, "coorganizer")
    write = writer or write_chunk
    # 1. read the source
    old_tickets = tickets.tickets_of_event(event.id)
    old_codes = [c for c in codes_of_event(event.id) if c.used_for == "ticket"]
    old_tax = event_content.tax_of(event.id)
    old_content = {k.plural: event_content.children(k, event.id)
                   for k in event_content.KINDS.values()}
    old_roles = list(EventRole.query(event.id))

    # 2. ids
    new_id = next_id("event")
    ticket_ids = dict(zip([t.id for t in old_tickets],
                          events.reserve_ids("ticket", len(old_tickets)), strict=True))
    code_ids = events.reserve_ids("discount-code", len(old_codes))
    role_ids = events.reserve_ids("event-role", len(old_roles))
    tax_ids = events.reserve_ids("tax", 1 if old_tax else 0)
    content_ids = {plural: events.reserve_ids(event_content.KINDS[plural].schema.type,
                                              len(items))
                   for plural, items in old_content.items()}

    media = MediaCopier(event.id, new_id)
    written: list[Write] = []
    stamp = now()
    try:
        # 3. media, then build every child item
        plan: list[Write] = []
        for t in old_tickets:
            nid = ticket_ids[t.id]
            plan.append(_claim(tickets.name_claim_key(new_id, t.name), nid))
            plan.append(Write(_clone(t, id=nid, event_id=new_id, created_at=stamp)))
            if inventory.is_sharded(t):  # the copy's shards start with every seat free
                plan.extend(Write(shard) for shard in
                            inventory.shard_items(nid, int(t.quantity), t.shard_count))
        for c, nid in zip(old_codes, code_ids, strict=True):
            remapped = [ticket_ids[t] for t in ticket_ids_of(c) if t in ticket_ids]
            plan.append(_claim(code_claim_key(new_id, c.code), nid))
            plan.append(Write(_clone(c, id=nid, event_id=new_id, ticket_ids=remapped,
                                     created_at=stamp)))
        if old_tax is not None:
            plan.append(_claim(tax_claim_key(new_id), tax_ids[0]))
            plan.append(Write(_clone(old_tax, id=tax_ids[0], event_id=new_id, created_at=stamp)))
        for plural, items in old_content.items():
            for item, nid in zip(items, content_ids[plural], strict=True):
                extra: dict[str, Any] = {}
                if isinstance(item, Sponsor):
                    extra["logo_url"] = media.copy_url(item.logo_url)
                plan.append(Write(_clone(item, id=nid, event_id=new_id, created_at=stamp,
                                         **extra)))
        for r, nid in zip(old_roles, role_ids, strict=True):
            plan.append(Write(_clone(r, event_id=new_id, id=nid, created_at=stamp)))
        new_event = _clone(event, id=new_id, identifier=events.new_identifier(),
                           created_at=stamp, logo_url=media.copy_url(event.logo_url),
                           original_image_url=media.copy_url(event.original_image_url))

        # 4. children in chunks
        for start in range(0, len(plan), CHUNK):
            chunk = plan[start:start + CHUNK]
            write(chunk)
            written.extend(chunk)

        # 5. the event itself, last
        for _ in range(IDENTIFIER_ATTEMPTS):
            final = [_claim(unique_key("event-identifier", new_event.identifier), new_id),
                     Write(new_event, Event.id.does_not_exist()),
                     _count_event(str(new_event.state))]
            try:
                write(final)
            except TransactWriteError as exc:
                if events.failed_positions(exc) == [0]:
                    new_event.identifier = events.new_identifier()
                    continue
                raise
            return new_event  # type: ignore[no-any-return]
        raise CopyFailed("could not allocate an identifier")
    except Exception as exc:  # noqa: BLE001 - any failure: undo, then one clean 503
        log.warning("event copy of %s failed (%s); compensating", event.id, type(exc).__name__)
        _compensate(written, media)
        raise ServiceUnavailable("The event could not be copied; nothing was changed") from None
