"""Factories for the orders tests: events, tickets, codes and people made directly through the
models (no events-group HTTP), the Stripe/PayPal fakes wired in, and a lock that makes moto's
DynamoDB backend atomic per call as DynamoDB is (moto's own is not thread-safe)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from openevent.models.base import next_id, now  # noqa: E402
from openevent.settings import get_settings  # noqa: E402

JSONAPI = "application/vnd.api+json"

# --- factories -----------------------------------------------------------------------------

@dataclass
class World:
    """Everything one test needs, made through the models."""

    api: Any
    make_user: Any

    def modules(self, ticket: bool = True, payment: bool = True, donation: bool = True) -> None:
        from openevent.models.system import Modules

        Modules("1", ticket_include=ticket, payment_include=payment,
                donation_include=donation).save()

    def settings(self, **values: Any) -> None:
        from openevent.platform.settings import update_system_settings

        update_system_settings(values)

    def event(self, owner: Any, **values: Any) -> Any:
        from openevent.accounts.roles import grant_role
        from openevent.models.events import Event

        start = now() + timedelta(days=30)
        event = Event(next_id("event"), identifier=os.urandom(4).hex(), owner_id=owner.id,
                      name=values.pop("name", "PyCon"), starts_at=start,
                      ends_at=start + timedelta(days=2), state=values.pop("state", "published"),
                      **values)
        event.save()
        grant_role(event.id, owner.id, "owner")
        return event

    def grant(self, event: Any, account: Any, role: str) -> None:
        from openevent.accounts.roles import grant_role

        grant_role(event.id, account.id, role)

    def ticket(self, event: Any, **values: Any) -> Any:
        from openevent.models.events import Ticket

        kind = values.pop("type", "paid" if values.get("price") else "free")
        price = values.pop("price", None)
        ticket = Ticket(next_id("ticket"), event_id=event.id, name=values.pop("name", "Regular"),
                        type=kind, price=Decimal(str(price)) if price is not None else None,
                        quantity=values.pop("quantity", 100), **values)
        ticket.save()
        return ticket

    def code(self, event: Any, tickets: list[Any], **values: Any) -> Any:
        from openevent.models.events import DiscountCode

        code = DiscountCode(next_id("discount-code"), event_id=event.id,
                            code=values.pop("code", "SAVE"),
                            value=Decimal(str(values.pop("value", 10))),
                            type=values.pop("type", "amount"),
                            ticket_ids=[t.id for t in tickets], **values)
        code.save()
        from openevent.events.discount_codes import code_claim_key
        from openevent.models.base import Unique

        Unique(code_claim_key(event.id, code.code), owner=str(code.id)).save()
        return code

    def tax(self, event: Any, rate: str, included: bool, name: str = "VAT") -> Any:
        from openevent.models.base import Unique
        from openevent.models.event_content import Tax, tax_claim_key

        tax = Tax(next_id("tax"), event_id=event.id, name=name, rate=Decimal(rate),
                  is_tax_included_in_price=included)
        tax.save()
        Unique(tax_claim_key(event.id), owner=str(tax.id)).save()  # as the tax service does
        return tax

    def ticket_state(self, ticket: Any) -> Any:
        from openevent.models.events import Ticket

        return Ticket.get(ticket.id)

    def code_state(self, code: Any) -> Any:
        from openevent.models.events import DiscountCode

        return DiscountCode.get(code.id)

    def order(self, ref: Any) -> Any:
        from openevent.orders.lifecycle import find_order

        return find_order(str(ref))

    # requests

    def attendee(self, account: Any, event: Any, ticket: Any, **attrs: Any) -> Any:
        attrs.setdefault("firstname", "Ada")
        attrs.setdefault("lastname", "Lovelace")
        attrs.setdefault("email", "ada@example.com")
        return self.api.post("/v1/attendees", attendee_doc(event, ticket, **attrs),
                             token=account.token)

    def classic_order(self, account: Any, event: Any, attendee_ids: list[Any],
                      code: Any = None, **attrs: Any) -> Any:
        return self.api.post("/v1/orders", order_doc(event, attendee_ids, code, **attrs),
                             token=account.token)

    def checkout(self, account: Any, tickets: list[tuple[Any, int]], **extra: Any) -> Any:
        body = {"tickets": [{"id": t.id, "quantity": q} for t, q in tickets], **extra}
        return self.api.post_json("/v1/orders/create-order", body, token=account.token)


def attendee_doc(event: Any, ticket: Any, **attrs: Any) -> dict[str, Any]:
    return {"data": {"type": "attendee", "attributes": attrs, "relationships": {
        "event": {"data": {"type": "event", "id": str(event.id)}},
        "ticket": {"data": {"type": "ticket", "id": str(ticket.id)}}}}}


def order_doc(event: Any, attendee_ids: list[Any], code: Any = None, **attrs: Any
              ) -> dict[str, Any]:
    rels: dict[str, Any] = {
        "event": {"data": {"type": "event", "id": str(event.id)}},
        "attendees": {"data": [{"type": "attendee", "id": str(a)} for a in attendee_ids]}}
    if code is not None:
        rels["discount-code"] = {"data": {"type": "discount-code", "id": code.id}}
    return {"data": {"type": "order", "attributes": attrs, "relationships": rels}}


def patch_doc(order: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    return {"data": {"type": "order", "id": order["id"], "attributes": attrs}}


@pytest.fixture
def world(api: Any, make_user: Any) -> World:
    w = World(api, make_user)
    w.modules()
    return w


@dataclass
class People:
    owner: Any
    coorganizer: Any
    buyer: Any
    stranger: Any
    admin: Any


@pytest.fixture
def people(world: World) -> People:
    return People(owner=world.make_user(), coorganizer=world.make_user(),
                  buyer=world.make_user(), stranger=world.make_user(),
                  admin=world.make_user(admin=True))


@pytest.fixture
def shop(world: World, people: People) -> Any:
    """A published event with a 10.00 paid ticket (stripe and paypal enabled) and a free one."""
    event = world.event(people.owner, can_pay_by_stripe=True, can_pay_by_paypal=True,
                        can_pay_onsite=True, payment_currency="USD")
    world.grant(event, people.coorganizer, "coorganizer")
    paid = world.ticket(event, name="Paid", price="10.00", quantity=5)
    free = world.ticket(event, name="Free", quantity=5)
    return type("Shop", (), {"event": event, "paid": paid, "free": free})


# --- payment providers ---------------------------------------------------------------------

@pytest.fixture
def stripe(world: World, people: People, shop: Any) -> Iterator[Any]:
    """The Stripe fake as the platform's Stripe, with the shop's event connected to it."""
    from openevent.events.stripe_connect import authorize
    from openevent.models.users import User
    from openevent.sandboxes.stripe import StripeFake

    with StripeFake() as fake:
        os.environ["STRIPE_API_BASE"] = fake.base_url
        os.environ["STRIPE_CONNECT_BASE"] = fake.base_url
        get_settings.cache_clear()
        world.settings(stripe_secret_key=fake.secret_key,
                       stripe_webhook_secret=fake.webhook_secret,
                       stripe_publishable_key=fake.publishable_key, is_stripe_activated=True)
        auth = authorize(User.get(people.owner.id), shop.event, fake.create_connect_code())
        fake.account = auth.stripe_user_id  # type: ignore[attr-defined]
        try:
            yield fake
        finally:
            for name in ("STRIPE_API_BASE", "STRIPE_CONNECT_BASE"):
                os.environ.pop(name, None)
            get_settings.cache_clear()


@pytest.fixture
def paypal(world: World) -> Iterator[Any]:
    from openevent.sandboxes.paypal import PayPalFake

    with PayPalFake() as fake:
        os.environ["PAYPAL_API_BASE"] = fake.base_url
        get_settings.cache_clear()
        world.settings(paypal_client=fake.client_id, paypal_secret=fake.client_secret,
                       paypal_webhook_id=fake.webhook_id, is_paypal_activated=True)
        try:
            yield fake
        finally:
            os.environ.pop("PAYPAL_API_BASE", None)
            get_settings.cache_clear()
