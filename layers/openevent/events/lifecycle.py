"""Events: create (with owner role and default attendee form), update, soft-delete, list.

Rules (API.md §4):
- only verified users (and staff) create events; the creator becomes the owner;
- `identifier` is 8 hex characters made by the server, unique through a `Unique` claim written
  in the same transaction as the event, its owner role and its default form fields;
- `ends-at` after `starts-at` (422); enabling a `can-pay-by-*` flag needs the payment module,
  `is-donation-enabled` the donation module (403);
- anonymous callers list published events, users also the events they may see through a role,
  staff every event; a draft is 404 below co-organizer; deleted events are never listed.

Every list is a Query on a GSI (state-index, kind-index, the roles' user-index) plus GetItems
by key, paged by DynamoDB, so a page costs the same with 10 or 10 million events.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from openevent import request_memo
from openevent.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
    attribute_pointer,
)
from openevent.jsonapi.compat import core_and_extra, dump_extra
from openevent.models.base import (
    Unique,
    failed_positions,
    next_id,
    now,
    raise_if_clashed,
    retry_id_clash,
    transact,
    unique_key,
)
from openevent.models.events import Event, EventRole
from openevent.models.users import User
from openevent.payments import currencies
from openevent.platform import list_counts, statistics
from openevent.platform.settings import require_module
from openevent.rules.permissions import (
    require_event_role,
    require_login,
    role_satisfies,
)

PAYMENT_FLAGS = ("can_pay_by_stripe", "can_pay_by_paypal", "can_pay_onsite", "can_pay_by_bank",
                 "can_pay_by_cheque")
IDENTIFIER_ATTEMPTS = 5
# The attendee fields every checkout form needs (Open Event's defaults).
DEFAULT_ATTENDEE_FIELDS = (
    ("firstname", "First Name", "text"),
    ("lastname", "Last Name", "text"),
    ("email", "Email", "email"),
)

if TYPE_CHECKING:  # the content tables load when a form is made, not on a cold start
    from openevent.models.event_content import CustomForm


def reserve_ids(kind: str, count: int) -> list[int]:
    """`count` fresh ids of `kind` (no database call: see `models.base.next_id`)."""
    return [next_id(kind) for _ in range(max(0, count))]


def identifier_claim(identifier: str, event_id: int) -> Unique:
    return Unique(unique_key("event-identifier", identifier), owner=str(event_id))


def new_identifier() -> str:
    """8 hex digits with at least one letter: an all-digit identifier would first be looked
    up as an event id (one wasted read on every request naming it)."""
    while True:
        identifier = secrets.token_hex(4)
        if not identifier.isdigit():
            return identifier


def default_form_fields(event_id: int) -> list[CustomForm]:
    from openevent.models.event_content import CustomForm

    ids = reserve_ids("custom-form", len(DEFAULT_ATTENDEE_FIELDS))
    return [
        CustomForm(ids[pos - 1], event_id=event_id, field_identifier=ident,
                   form="attendee", type=kind, name=name, is_required=True, is_included=True,
                   is_fixed=True, position=pos)
        for pos, (ident, name, kind) in enumerate(DEFAULT_ATTENDEE_FIELDS, start=1)
    ]


# --- validation ------------------------------------------------------------------------

def check_event_values(values: dict[str, Any], current: Event | None = None) -> None:
    """Cross-field rules and module gates for a create (current None) or a PATCH."""
    starts: datetime | None = values.get("starts_at", current.starts_at if current else None)
    ends: datetime | None = values.get("ends_at", current.ends_at if current else None)
    if starts is not None and ends is not None and ends <= starts:
        raise Unprocessable("'ends-at' must be after 'starts-at'", attribute_pointer("ends_at"))
    for flag in PAYMENT_FLAGS:
        if values.get(flag) and not (current is not None and getattr(current, flag)):
            require_module("payment_include", attribute_pointer(flag))
    if values.get("is_donation_enabled") and not (current and current.is_donation_enabled):
        require_module("donation_include", attribute_pointer("is_donation_enabled"))
    check_currency(values, current)


_CURRENCY_FIELDS = ("payment_currency", *currencies.ONLINE_METHODS)


def check_currency(values: dict[str, Any], current: Event | None = None) -> None:
    """The event's currency must be one each online payment method it accepts can take, by
    the providers' published rules (payments/currencies.py): 422 naming the currency when
    the request sets it, else the method it turns on. A change of neither is not checked."""
    if current is not None and not any(f in values for f in _CURRENCY_FIELDS):
        return
    currency = values.get("payment_currency",
                          current.payment_currency if current is not None else None)
    methods = {flag: values.get(flag, getattr(current, flag) if current is not None else False)
               for flag in currencies.ONLINE_METHODS}
    refused = currencies.refusal(currency, methods)
    if refused is not None:
        flag, reason = refused
        field = "payment_currency" if "payment_currency" in values else flag
        raise Unprocessable(reason, attribute_pointer(field))


def _currency_guard(event: Event, values: dict[str, Any]) -> Any:
    """The condition that the currency and online methods are still as checked (two racing
    PATCHes cannot together pair a currency with a method that refuses it); None when the
    request changes neither."""
    if not any(f in values for f in _CURRENCY_FIELDS):
        return None
    guard = Event.payment_currency == str(event.payment_currency)
    if str(event.payment_currency) == "USD":  # the default: an old item may not store it
        guard = guard | Event.payment_currency.does_not_exist()
    for flag in currencies.ONLINE_METHODS:
        attr = getattr(Event, flag)
        guard = guard & ((attr == True) if getattr(event, flag) else  # noqa: E712
                         (attr.does_not_exist() | (attr == False)))  # noqa: E712
    return guard


# --- create / update / delete ----------------------------------------------------------

@retry_id_clash
def create_event(user: User | None, values: dict[str, Any]) -> Event:
    """Create an event owned by `user`, with its owner role and default attendee form."""
    user = require_login(user)
    if not (user.is_verified or user.is_staff):
        raise Forbidden("Please verify your email before creating events")
    check_event_values(values)
    values, extra = core_and_extra("event", values)
    event_id = next_id("event")
    forms = default_form_fields(event_id)
    role = EventRole(event_id, user.id, id=next_id("event-role"), role="owner")
    for _ in range(IDENTIFIER_ATTEMPTS):
        event = Event(event_id, identifier=new_identifier(), owner_id=user.id,
                      extra=dump_extra("event", None, extra), stripe_linked=False, **values)
        def fill(tx: TransactWrite, event: Event = event) -> None:
            tx.save(identifier_claim(event.identifier, event_id),
                    condition=Unique.key.does_not_exist())
            tx.save(event, condition=Event.id.does_not_exist())
            tx.save(role)
            for form in forms:
                tx.save(form)
            list_counts.add(tx, list_counts.event_figure(str(event.state)), 1)

        try:
            transact(fill)
        except TransactWriteError as exc:
            raise_if_clashed([event])  # the event's id was drawn elsewhere too: draw again
            if failed_positions(exc) == [0]:
                continue  # identifier collision (1 in 4 billion): draw another
            raise
        statistics.role_granted("owner")
        return event
    raise ServiceUnavailable("Could not allocate an event identifier; try again")


def update_event(user: User | None, event: Event, values: dict[str, Any]) -> Event:
    """PATCH semantics: change only what was sent (organizer or higher). The orders domain
    moves the event's sales roll-up when its location changes (orders/sales_regroup.py)."""
    require_event_role(user, event, "organizer")
    check_event_values(values, event)
    if not values:
        return event
    values, extra = core_and_extra("event", values)
    actions: list[Action] = []
    if extra:
        stored = dump_extra("event", event.extra, extra)
        actions.append(Event.extra.set(stored) if stored else Event.extra.remove())
    for name, value in values.items():
        attr = getattr(Event, name)
        if value is None:
            actions.append(attr.remove())
        else:
            actions.append(attr.set(value))
    # Update, not save: a concurrent admin write (discount_code_id) must not be overwritten.
    old_state = str(event.state)
    new_state = str(values.get("state") or old_state)
    guard = _currency_guard(event, values)
    if new_state == old_state:
        try:
            event.update(actions=actions, condition=Event.id.exists() if guard is None
                         else Event.id.exists() & guard)
        except UpdateError as exc:
            if guard is None or not _condition_failed(exc):
                raise
            raise Conflict("The event's currency or payment methods changed meanwhile; "
                           "reload it and try again") from None
        return event
    # A state change moves the event between list counts in the same transaction, on the
    # condition that the state is still the one read (two concurrent publishes move it once).
    def fill(tx: TransactWrite) -> None:
        condition = Event.id.exists() & (Event.state == old_state) \
            & Event.deleted_at.does_not_exist()
        tx.update(event, actions=actions,
                  condition=condition if guard is None else condition & guard)
        list_counts.add(tx, list_counts.event_figure(old_state), -1)
        list_counts.add(tx, list_counts.event_figure(new_state), 1)

    _transact_event(fill, Conflict("The event changed meanwhile; reload it and try again"))
    return Event.get(event.id, consistent_read=True)


def _condition_failed(exc: UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def _transact_event(fill: Callable[[TransactWrite], None], on_condition: Exception) -> None:
    """Write an event with its list counts in one transaction: a failed condition (the event
    changed or went meanwhile) raises `on_condition`; the request's memo is dropped."""
    try:
        transact(fill)
    except TransactWriteError as exc:
        if failed_positions(exc):
            raise on_condition from None
        raise
    finally:
        request_memo.forget()


def delete_event(user: User | None, event: Event) -> None:
    """Soft-delete (owner or staff): the event disappears from every read and list, and
    from its list count in the same transaction (deleting twice counts once)."""
    require_event_role(user, event, "owner")
    def fill(tx: TransactWrite) -> None:
        tx.update(event, actions=[Event.deleted_at.set(now())],
                  condition=Event.deleted_at.does_not_exist() & (Event.state == event.state))
        list_counts.add(tx, list_counts.event_figure(str(event.state)), -1)

    _transact_event(fill, NotFound("Event not found"))


# --- reads -----------------------------------------------------------------------------

def get_events(ids: Iterable[int]) -> list[Event]:
    """Events by id (BatchGet), in id order, skipping missing and deleted ones."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    found = [e for e in Event.batch_get(wanted) if e.deleted_at is None]
    return sorted(found, key=lambda e: e.id)


def events_of_user(caller: User | None, user_id: int) -> list[Event]:
    """`GET /v1/users/<id>/events`: the events the user holds any role in (self or staff)."""
    caller = require_login(caller)
    if not (caller.is_staff or caller.id == user_id):
        raise Forbidden("You can only list your own events")
    if caller.id != user_id:  # the caller's own account is already loaded
        try:
            User.get(user_id)
        except User.DoesNotExist:
            raise NotFound("User not found") from None
    roles = {int(r.event_id): str(r.role) for r in EventRole.user_index.query(user_id)}
    # A draft shows only where the role could open it (co-organizer and up), as on GET.
    return [e for e in get_events(roles) if e.state == "published" or caller.is_staff
            or role_satisfies(roles[e.id], "coorganizer")]
