"""The admin dashboard's `past` events figure: `events#published` minus the published events
not ended yet (read on the ends index from now on), so it never counts the past ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

PAST = datetime(2020, 3, 1, 9, 0, tzinfo=UTC)
FUTURE = datetime(2040, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def event_at(aws: None, make_user: Any, modules_on: None) -> Any:
    """`event_at(starts, state="published") -> Event`, created through the service (so the
    list counts move as they do in production)."""
    from openevent.events import lifecycle as events
    from openevent.models.users import User

    owner = User.get(make_user().id)

    def make(starts: datetime, state: str = "published", ends: datetime | None = None) -> Any:
        return events.create_event(owner, {
            "name": "Stats", "starts_at": starts, "ends_at": ends or starts + timedelta(days=1),
            "timezone": "UTC", "state": state})

    make.owner = owner  # type: ignore[attr-defined]
    return make


@pytest.fixture
def modules_on(aws: None) -> None:
    from openevent.platform.settings import update_modules

    update_modules({"ticket_include": True, "payment_include": True, "donation_include": True})


def _events(api: Any, token: str) -> dict[str, int]:
    resp = api.get("/v1/admin/statistics/events", token=token)
    assert resp.status == 200, resp.body
    return resp.json()["data"]["attributes"]


def test_past_counts_published_events_that_ended(api, make_user, event_at):
    from openevent.events import lifecycle as events

    admin = make_user(admin=True)
    for _ in range(3):
        event_at(PAST)
    event_at(FUTURE)
    event_at(datetime.now(UTC) - timedelta(days=1), ends=FUTURE)  # running now: not past
    event_at(PAST, state="draft")  # ended, but never published
    events.delete_event(event_at.owner, event_at(PAST))  # ended, then deleted
    events.delete_event(event_at.owner, event_at(FUTURE))  # deleted before it ran

    assert _events(api, admin.token) == {"draft": 1, "published": 5, "past": 3}


def test_past_is_zero_without_events(api, make_user):
    admin = make_user(admin=True)
    assert _events(api, admin.token) == {"draft": 0, "published": 0, "past": 0}


def test_past_reads_only_the_events_not_ended(api, make_user, event_at, monkeypatch):
    """The Query behind `past` evaluates the live events, never the ended ones."""
    from pynamodb.connection.base import Connection

    for _ in range(4):
        event_at(PAST)
    event_at(FUTURE)
    scanned: list[int] = []
    original = Connection._make_api_call

    def counted(conn: Any, operation: str, kwargs: Any) -> Any:
        result = original(conn, operation, kwargs)
        if operation == "Query":
            scanned.append(int(result.get("ScannedCount", 0)))
        return result

    monkeypatch.setattr(Connection, "_make_api_call", counted)
    from openevent.platform.statistics import event_statistics

    assert event_statistics() == {"draft": 0, "published": 5, "past": 4}
    assert scanned == [1]


def test_past_is_never_negative(event_at):
    """A published figure behind the live events (a counter not yet backfilled) answers 0,
    not a negative number."""
    from openevent.platform import statistics

    event_at(FUTURE)
    assert statistics._past_events(0) == 0
