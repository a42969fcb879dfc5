"""Stripe Connect authorization of an event (API.md §6 "Stripe authorization").

The organizer sends the one-time `code` from Stripe's Connect redirect; the server exchanges it
at `{connect_base}/oauth/token` (grant_type=authorization_code, authenticated with the
admin-set platform secret key from SystemSettings) through `StripeGateway`, imported lazily so
the events group never loads the Stripe SDK at import time.

Secrets: the organizer's access and refresh tokens are encrypted (`openevent.data_key`, a key
that exists only in the secret store) before they are stored, and are never serialized or
logged.

One authorization per event: a `Unique` claim `stripe-authorization#<event>` written in the
same transaction as the item makes a second one 409, also under concurrency.

Every account ever connected to an event is remembered (`stripe-account-of#<event>#<acct>`,
written with the authorization, kept when it is deleted): a payment for one of the event's
orders that lands on a former account (the buyer's page held an intent made before the
organizer replaced the connection) is still this event's money, so it is applied or refunded
there (`is_event_account`), never ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from openevent import request_memo
from openevent.errors import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
    attribute_pointer,
)
from openevent.models.base import Unique, db_connection, next_id, unique_key
from openevent.models.event_content import StripeAuthorization
from openevent.models.events import Event
from openevent.models.users import User
from openevent.platform.settings import get_system_settings
from openevent.rules.event_reads import stripe_authorization_of as authorization_of
from openevent.rules.lookup import with_event
from openevent.rules.permissions import require_event_role
from openevent.settings import get_settings

log = logging.getLogger("openevent.stripe_connect")


# --- encryption at rest: openevent.data_key (the key lives only in the secret store) ----

def encrypt(text: str) -> str:
    from openevent import data_key

    return data_key.encrypt(text)


def decrypt(token: str) -> str:
    from openevent import data_key

    return data_key.decrypt(token)


# --- reads -----------------------------------------------------------------------------

def claim_key(event_id: int) -> str:
    return unique_key("stripe-authorization", event_id)


def history_key(event_id: int, account: str) -> str:
    """The marker that `account` has been connected to the event (ids are case-sensitive)."""
    return f"stripe-account-of#{int(event_id)}#{account}"


def is_event_account(event_id: int, account: object, known: tuple[str | None, ...] = ()
                     ) -> bool:
    """Whether `account` is, or was, the event's connected account (`known`: accounts the
    platform itself used for the event, e.g. the one an order's checkout was made on)."""
    if not isinstance(account, str) or not account.startswith("acct_") or len(account) > 255:
        return False
    if account in known:
        return True
    current = authorization_of(event_id)
    if current is not None and current.stripe_user_id == account:
        return True
    try:
        Unique.get(history_key(event_id, account))
    except Unique.DoesNotExist:
        return False
    return True


def connected_account_for(event_id: int) -> tuple[str, str] | None:
    """`(stripe_user_id, access_token)` of the event's connected account, or None."""
    auth = authorization_of(event_id)
    if auth is None:
        return None
    return auth.stripe_user_id, decrypt(auth.access_token_enc)


def get_authorization(auth_id: int, user: User | None, *, manage: bool = True
                      ) -> tuple[StripeAuthorization, Event]:
    """The authorization: to manage it, for the event's organizers (and staff) only; to read
    it (`manage=False`), for anyone who can see the event — it serves only the publishable
    key, which every buyer's browser needs for Stripe.js at the payment step."""
    try:
        auth = StripeAuthorization.get(auth_id)
    except StripeAuthorization.DoesNotExist:
        raise NotFound("Stripe authorization not found") from None
    auth, event = with_event(auth, user, "Stripe authorization not found")
    if manage:
        require_event_role(user, event, "organizer")
    return auth, event


def authorization_for_event(event: Event) -> StripeAuthorization | None:
    """The event's authorization (None if not connected yet), for anyone who can see the
    event: only its publishable key is served (the web app's payment step loads Stripe.js
    with it)."""
    return authorization_of(event.id)


# --- writes ----------------------------------------------------------------------------

def _exchange(code: str) -> Any:
    """Trade the Connect code for the organizer's account (lazy Stripe SDK import)."""
    pointer = attribute_pointer("stripe_auth_code")
    secret = get_system_settings().stripe_secret_key
    if not secret:
        raise Unprocessable("Stripe is not configured by the administrator", pointer)
    from openevent.payments import errors as perr
    from openevent.payments.stripe_gateway import (
        DEFAULT_CONNECT_BASE,
        StripeGateway,
        StripeSettings,
    )

    gateway = StripeGateway(StripeSettings(
        secret_key=secret, connect_base=get_settings().stripe_connect_base or DEFAULT_CONNECT_BASE,
        max_network_retries=0))
    try:
        return gateway.exchange_connect_code(code)
    except perr.InvalidRequest:
        raise Unprocessable("Stripe rejected the authorization code", pointer) from None
    except perr.PaymentError as exc:
        # Our message only: provider errors never reach the client or the log verbatim.
        log.warning("stripe connect exchange failed: %s", type(exc).__name__)
        raise ServiceUnavailable("Stripe could not be reached; try again later") from None


def authorize(user: User | None, event: Event, code: str) -> StripeAuthorization:
    """Connect the event to the organizer's Stripe account (organizer+; one per event)."""
    user = require_event_role(user, event, "organizer")
    if authorization_of(event.id) is not None:
        raise Conflict("This event already has a Stripe authorization",
                       "/data/relationships/event")
    account = _exchange(code)
    auth = StripeAuthorization(
        next_id("stripe-authorization"), event_id=event.id,
        stripe_user_id=account.stripe_user_id,
        stripe_publishable_key=account.publishable_key,
        access_token_enc=encrypt(account.access_token),
        refresh_token_enc=encrypt(account.refresh_token) if account.refresh_token else None,
        livemode=account.livemode, scope=account.scope, created_by=user.id)
    try:
        with TransactWrite(connection=db_connection()) as tx:
            tx.save(Unique(claim_key(event.id), owner=str(auth.id)),
                    condition=Unique.key.does_not_exist())
            tx.save(auth)
            tx.save(Unique(history_key(event.id, account.stripe_user_id), owner=str(event.id)))
            tx.update(Event(event.id), actions=[Event.stripe_linked.set(True)],
                      condition=Event.id.exists())
        request_memo.forget()
    except TransactWriteError:
        raise Conflict("This event already has a Stripe authorization",
                       "/data/relationships/event") from None
    return auth


def delete_authorization(user: User | None, auth: StripeAuthorization, event: Event) -> None:
    require_event_role(user, event, "organizer")
    with TransactWrite(connection=db_connection()) as tx:
        tx.delete(auth)
        tx.delete(Unique(claim_key(event.id)))
        tx.update(Event(event.id), actions=[Event.stripe_linked.set(False)],
                  condition=Event.id.exists())
    request_memo.forget()


def reauthorize(user: User | None, auth: StripeAuthorization, event: Event,
                code: str) -> StripeAuthorization:
    """`PATCH /v1/stripe-authorizations/<id>` with a new `stripe-auth-code`: the event is
    connected to the account that code names instead (organizer+). The old tokens are
    replaced in one conditional write on the same item: a concurrent delete makes it 404."""
    require_event_role(user, event, "organizer")
    account = _exchange(code)
    from pynamodb.exceptions import UpdateError

    try:
        auth.update(actions=[
            StripeAuthorization.stripe_user_id.set(account.stripe_user_id),
            StripeAuthorization.stripe_publishable_key.set(account.publishable_key),
            StripeAuthorization.access_token_enc.set(encrypt(account.access_token)),
            StripeAuthorization.refresh_token_enc.set(encrypt(account.refresh_token))
            if account.refresh_token else StripeAuthorization.refresh_token_enc.remove(),
            StripeAuthorization.livemode.set(account.livemode),
            StripeAuthorization.scope.set(account.scope) if account.scope
            else StripeAuthorization.scope.remove(),
        ], condition=StripeAuthorization.id.exists())
    except UpdateError:
        raise NotFound("Stripe authorization not found") from None
    request_memo.forget()
    return auth
