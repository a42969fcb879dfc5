"""The per-container cache of settings, modules and the caller's user: fewer round trips,
never a stale answer after a write in the same container."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def calls(monkeypatch, aws):
    from pynamodb.connection.base import Connection

    seen: list[tuple[str, str]] = []
    original = Connection._make_api_call

    def spy(conn: Any, name: str, kwargs: Any) -> Any:
        seen.append((name, kwargs.get("TableName", "")))
        return original(conn, name, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", spy)
    return seen


def test_settings_and_modules_are_read_once_within_the_ttl(calls):
    from openevent.platform.settings import get_modules, get_system_settings

    for _ in range(5):
        get_system_settings()
        get_modules()
    assert len([c for c in calls if c[0] == "GetItem"]) == 2


def test_a_write_in_this_container_is_seen_at_once(calls):
    from openevent.platform.settings import (
        get_modules,
        get_system_settings,
        update_modules,
        update_system_settings,
    )

    assert get_modules().ticket_include is False
    update_modules({"ticket_include": True})
    assert get_modules().ticket_include is True
    get_system_settings()
    update_system_settings({"app_name": "Renamed"})
    assert get_system_settings().app_name == "Renamed"


def test_a_changed_password_revokes_old_tokens_at_once(api, make_user):
    user = make_user()
    assert api.get(f"/v1/users/{user.id}", token=user.token).status == 200
    from openevent.models.users import User

    stored = User.get(user.id)
    stored.update(actions=[User.password_version.set(int(stored.password_version or 0) + 1)])
    assert api.get(f"/v1/users/{user.id}", token=user.token).status == 401


def test_ttl_zero_turns_caching_off(calls, monkeypatch):
    from openevent.platform.settings import get_system_settings

    monkeypatch.setenv("OPENEVENT_CACHE_SECONDS", "0")
    get_system_settings()
    get_system_settings()
    assert len([c for c in calls if c[0] == "GetItem"]) == 2
