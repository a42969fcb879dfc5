"""Factories for the events group's tests, built through the services (not raw items)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

ROLES = ("anonymous", "user", "coorganizer", "organizer", "owner", "admin")
STARTS = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
ENDS = STARTS + timedelta(days=2)


def event_attrs(**attrs: Any) -> dict[str, Any]:
    """Wire attributes of a valid event."""
    base = {"name": "PyCon", "starts-at": STARTS.isoformat(), "ends-at": ENDS.isoformat(),
            "timezone": "Europe/Berlin"}
    base.update(attrs)
    return base


def doc(rtype: str, attrs: dict[str, Any] | None = None, rid: Any = None,
        **rels: Any) -> dict[str, Any]:
    """A JSON:API request document; `event=12` becomes a to-one relationship, a list to-many."""
    data: dict[str, Any] = {"type": rtype, "attributes": attrs or {}}
    if rid is not None:
        data["id"] = rid
    relationships = {}
    for name, value in rels.items():
        wire = name.replace("_", "-")
        rtype_of = {"event": "event", "tickets": "ticket", "marketer": "user"}[name]
        if isinstance(value, list):
            relationships[wire] = {"data": [{"type": rtype_of, "id": str(v)} for v in value]}
        else:
            relationships[wire] = {"data": None if value is None
                                   else {"type": rtype_of, "id": str(value)}}
    if relationships:
        data["relationships"] = relationships
    return {"data": data}


class Accounts(dict):  # type: ignore[type-arg]
    """Role -> account, each made on first use (most tests touch one role)."""

    def __init__(self, make: Any) -> None:
        super().__init__(anonymous=None)
        self._make = make

    def __missing__(self, role: str) -> Any:
        self[role] = self._make(role)
        return self[role]


@dataclass
class Cast:
    """An event and one account per role (None for anonymous), made lazily."""

    event: Any
    accounts: Accounts

    def token(self, role: str) -> str | None:
        account = self.accounts[role]
        return None if account is None else account.token


@pytest.fixture
def modules(aws: None) -> Any:
    """Turn modules on/off: `modules(ticket=True, payment=True, donation=True)`."""
    from openevent.platform.settings import update_modules

    def set_modules(ticket: bool = True, payment: bool = True, donation: bool = True) -> None:
        update_modules({"ticket_include": ticket, "payment_include": payment,
                        "donation_include": donation})

    set_modules()
    return set_modules


@pytest.fixture
def make_event(make_user: Any, modules: Any) -> Any:
    """`make_event(owner_account=None, state="published", **model values) -> Event`."""
    from openevent.events import lifecycle as events
    from openevent.models.users import User

    def make(owner: Any = None, *, state: str = "published", **values: Any) -> Any:
        owner = owner or make_user()
        attrs = {"name": "PyCon", "starts_at": STARTS, "ends_at": ENDS,
                 "timezone": "Europe/Berlin", "state": state, "can_pay_by_stripe": True}
        attrs.update(values)
        return events.create_event(User.get(owner.id), attrs)

    return make


@pytest.fixture
def grant() -> Any:
    from openevent.accounts.roles import grant_role

    def give(event: Any, account: Any, role: str) -> None:
        grant_role(event.id, account.id, role)

    return give


@pytest.fixture
def make_cast(make_user: Any, make_event: Any, grant: Any) -> Any:
    """`make_cast(state="published") -> Cast` with user/coorganizer/organizer/owner/admin."""

    def make(state: str = "published", **values: Any) -> Cast:
        owner = make_user()
        event = make_event(owner, state=state, **values)

        def account(role: str) -> Any:
            if role not in ROLES:
                raise KeyError(role)
            made = make_user(admin=role == "admin")
            if role in ("coorganizer", "organizer"):
                grant(event, made, role)
            return made

        accounts = Accounts(account)
        accounts["owner"] = owner
        return Cast(event, accounts)

    return make


@pytest.fixture
def cast(make_cast: Any) -> Cast:
    return make_cast()


@pytest.fixture
def make_ticket(modules: Any) -> Any:
    """`make_ticket(event, name="Standard", type="free", **values) -> Ticket` (as the owner)."""
    from openevent.events import tickets
    from openevent.models.users import User

    def make(event: Any, name: str = "Standard", type: str = "free", **values: Any) -> Any:
        from decimal import Decimal

        if type == "paid":
            values.setdefault("price", Decimal("50.00"))
        return tickets.create_ticket(User.get(event.owner_id), event,
                                     {"name": name, "type": type, **values})

    return make


@pytest.fixture
def make_code(modules: Any) -> Any:
    """`make_code(event, tickets, code="SAVE10", type="percent", value=10, **values)`."""
    from decimal import Decimal

    from openevent.events import discount_codes
    from openevent.models.users import User

    def make(event: Any, tickets: list[Any] | None = None, code: str = "SAVE10",
             type: str = "percent", value: Any = 10, **values: Any) -> Any:
        attrs = {"code": code, "type": type, "value": Decimal(str(value)),
                 "used_for": "ticket", **values}
        return discount_codes.create_code(User.get(event.owner_id), event, attrs,
                                          [t.id for t in tickets or []], None)

    return make
