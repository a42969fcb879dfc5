"""Factories for auth-group tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import mails_to

__all__ = ["mails_to", "token_from_last_mail"]

TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9._~-]+)")


def token_from_last_mail(outbox: Path, address: str) -> str:
    msgs = mails_to(outbox, address)
    assert msgs, f"no mail to {address}"
    body = msgs[-1].get_body(preferencelist=("plain",)).get_content()
    match = TOKEN_IN_LINK.search(body)
    assert match, body
    return match.group(1)


@pytest.fixture
def make_event(aws: None) -> Any:
    """`make_event(owner_id, state="published") -> Event`, written through the models."""
    from datetime import UTC, datetime, timedelta

    from openevent.accounts.roles import grant_role
    from openevent.models.base import next_id
    from openevent.models.events import Event

    def make(owner_id: int, state: str = "published") -> Event:
        eid = next_id("event")
        event = Event(eid, identifier=f"{eid:08x}", owner_id=owner_id, name=f"Event {eid}",
                      starts_at=datetime.now(UTC) + timedelta(days=10),
                      ends_at=datetime.now(UTC) + timedelta(days=11), state=state)
        event.save()
        grant_role(eid, owner_id, "owner")
        return event

    return make
