"""A filter or sort over a list that grows with the table (every event, the published events,
every user, every order) reads at most a candidate window per request: the matches of that
window, no `meta.count`, `meta.window`, and a `links.next` cursor that continues after it —
so walking the links yields every match exactly once. A candidate set within the window is
answered whole, as before (openevent.jsonapi.query)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import error_of

WINDOW_ENV = "OPENEVENT_FILTER_WINDOW"
PAST = datetime(2020, 6, 1, 9, 0, tzinfo=UTC)
FUTURE = datetime(2040, 6, 1, 9, 0, tzinfo=UTC)
NOW = datetime.now(UTC).isoformat()
# What the web app's admin "past events" tab sends (app/routes/admin/events/list.js).
PAST_TAB = [{"and": [{"name": "deleted-at", "op": "eq", "val": None},
                     {"name": "ends-at", "op": "lt", "val": NOW},
                     {"name": "state", "op": "eq", "val": "published"}]}]
# The admin users page's search (app/routes/admin/users/list.js, applySearchFilters).
USER_SEARCH = [{"or": [{"name": f, "op": "ilike", "val": "%find%"}
                       for f in ("first-name", "last-name", "email")]}]


def _q(spec: Any) -> str:
    return quote(json.dumps(spec))


def _walk(api: Any, path: str, token: str | None) -> tuple[list[int], list[dict[str, Any]]]:
    """Follow `links.next` from `path` to the end: (ids in the order served, bodies)."""
    ids: list[int] = []
    bodies: list[dict[str, Any]] = []
    nxt: str | None = path
    while nxt:
        resp = api.get(nxt, token=token)
        assert resp.status == 200, resp.body
        body = resp.json()
        bodies.append(body)
        ids += [int(r["id"]) for r in body["data"]]
        nxt = body["links"].get("next")
        assert len(bodies) < 200, "the links never end"
    return ids, bodies


def _whole(api: Any, path: str, token: str | None, monkeypatch: Any) -> tuple[list[int], int]:
    """The answer with the default (big) window: (ids of page[size]=0, meta.count)."""
    monkeypatch.delenv(WINDOW_ENV, raising=False)
    body = api.get(f"{path}&page[size]=0", token=token).json()
    return [int(r["id"]) for r in body["data"]], body["meta"]["count"]


@pytest.fixture
def admin(make_user: Any) -> Any:
    return make_user(admin=True)


def test_a_name_search_over_more_events_than_the_window_walks_every_match_once(
        api, admin, make_user, make_event, monkeypatch):
    owner = make_user()
    for i in range(14):
        make_event(owner, name=f"{'Alpha' if i % 3 else 'Beta'} {i}",
                   state="draft" if i % 5 == 0 else "published")
    path = f"/v1/events?filter={_q([{'name': 'name', 'op': 'ilike', 'val': '%alpha%'}])}"
    expected, count = _whole(api, path, admin.token, monkeypatch)
    assert count == len(expected) == 9

    monkeypatch.setenv(WINDOW_ENV, "5")
    first = api.get(f"{path}&page[size]=2", token=admin.token).json()
    assert "count" not in first["meta"]
    assert first["meta"]["window"] == {"read": 5, "limit": 5, "more": True}
    assert "last" not in first["links"]
    ids, bodies = _walk(api, f"{path}&page[size]=2", admin.token)
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
    assert bodies[-1]["meta"]["window"]["more"] is False
    assert any("page%5Bcursor%5D=" in b["links"]["self"] for b in bodies)


def test_the_admin_past_tab_walks_every_past_published_event(
        api, admin, make_user, make_event, monkeypatch):
    from openevent.events import lifecycle as events
    from openevent.models.users import User

    owner = make_user()
    past = [make_event(owner, starts_at=PAST + timedelta(days=i),
                       ends_at=PAST + timedelta(days=i, hours=5)).id for i in range(7)]
    for _ in range(4):
        make_event(owner, starts_at=FUTURE, ends_at=FUTURE + timedelta(days=1))
    for _ in range(2):
        make_event(owner, state="draft", starts_at=PAST, ends_at=PAST + timedelta(days=1))
    gone = make_event(owner, starts_at=PAST, ends_at=PAST + timedelta(days=1))
    events.delete_event(User.get(owner.id), gone)
    path = f"/v1/events?sort=-starts-at&filter={_q(PAST_TAB)}"
    expected, count = _whole(api, path, admin.token, monkeypatch)
    assert expected == past[::-1] and count == 7

    monkeypatch.setenv(WINDOW_ENV, "3")
    app_page = api.get(f"{path}&page[size]=10&page[number]=1", token=admin.token)
    assert app_page.status == 200
    assert "count" not in app_page.json()["meta"]  # the app's pager shows one page
    ids, bodies = _walk(api, f"{path}&page[size]=2", admin.token)
    assert sorted(ids) == sorted(past) and len(ids) == len(set(ids))
    for body in bodies:  # sorted within each window
        starts = [r["attributes"]["starts-at"] for r in body["data"]]
        assert starts == sorted(starts, reverse=True)


def test_a_user_search_over_more_accounts_than_the_window_walks_every_match_once(
        api, admin, make_user, monkeypatch):
    found = [make_user(email=f"find{i}@example.com").id for i in range(6)]
    for _ in range(7):
        make_user()
    path = f"/v1/users?filter={_q(USER_SEARCH)}"
    expected, count = _whole(api, path, admin.token, monkeypatch)
    assert sorted(expected) == sorted(found) and count == 6

    monkeypatch.setenv(WINDOW_ENV, "4")
    first = api.get(f"{path}&page[size]=10&page[number]=1", token=admin.token).json()
    assert "count" not in first["meta"]
    assert first["meta"]["window"] == {"read": 4, "limit": 4, "more": True}
    ids, _ = _walk(api, f"{path}&page[size]=3", admin.token)
    assert sorted(ids) == sorted(found) and len(ids) == len(set(ids))


def test_an_admin_order_filter_walks_every_order_once(api, admin, monkeypatch, aws):
    from openevent.models.base import next_id
    from openevent.models.orders import Order

    made = {"completed": [], "pending": []}
    for i in range(11):
        status = "pending" if i % 4 == 0 else "completed"
        oid = next_id("order")
        Order(oid, identifier=f"order-{oid}", event_id=1, user_id=1, status=status,
              payment_mode="free", attendee_ids=[]).save()
        made[status].append(oid)
    path = f"/v1/orders?filter={_q([{'name': 'status', 'op': 'eq', 'val': 'completed'}])}"
    monkeypatch.setenv(WINDOW_ENV, "4")
    first = api.get(path, token=admin.token).json()
    assert first["meta"] == {"window": {"read": 4, "limit": 4, "more": True}}
    ids, _ = _walk(api, f"{path}&page[size]=2", admin.token)
    assert sorted(ids) == sorted(made["completed"]) and len(ids) == len(set(ids))


def test_a_candidate_set_within_the_window_is_answered_whole(
        api, admin, make_user, make_event, monkeypatch):
    owner = make_user()
    made = [make_event(owner, name=f"Gamma {i}").id for i in range(6)]
    monkeypatch.setenv(WINDOW_ENV, "7")
    path = f"/v1/events?filter={_q([{'name': 'name', 'op': 'ilike', 'val': '%gamma%'}])}"
    body = api.get(f"{path}&page[size]=4&page[number]=2", token=admin.token).json()
    assert body["meta"] == {"count": 6}
    assert [int(r["id"]) for r in body["data"]] == made[4:]
    assert "page%5Bnumber%5D=2" in body["links"]["last"]
    anonymous = api.get(f"{path}&page[size]=0").json()
    assert anonymous["meta"] == {"count": 6}


def test_the_home_page_filter_is_not_windowed(api, make_user, make_event, monkeypatch):
    """Narrowed to the events not ended (the ends index), the candidates are bounded by the
    live events: read whole, counted exactly, whatever the window."""
    owner = make_user()
    for _ in range(5):
        make_event(owner, starts_at=FUTURE, ends_at=FUTURE + timedelta(days=1))
    monkeypatch.setenv(WINDOW_ENV, "2")
    home = [{"name": "ends-at", "op": "ge", "val": NOW}]
    body = api.get(f"/v1/events?sort=starts-at&filter={_q(home)}").json()
    assert body["meta"] == {"count": 5} and len(body["data"]) == 5


def test_a_public_name_search_is_windowed_too(api, make_user, make_event, monkeypatch):
    owner = make_user()
    made = [make_event(owner, name=f"Delta {i}").id for i in range(5)]
    make_event(owner, name="Delta hidden", state="draft")
    monkeypatch.setenv(WINDOW_ENV, "2")
    path = f"/v1/events?filter={_q([{'name': 'name', 'op': 'ilike', 'val': 'delta%'}])}"
    first = api.get(path).json()
    assert first["meta"] == {"window": {"read": 2, "limit": 2, "more": True}}
    ids, _ = _walk(api, path, None)
    assert sorted(ids) == sorted(made)


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "bm9wZQ",  # not JSON
    "!!!",
    _cursor([1, 2]),
    _cursor({"p": -1}),
    _cursor({"p": 0, "k": {"state": {"S": "draft"}, "id": {"N": "1"}}}),  # another partition
    _cursor({"p": 0, "k": {"kind": {"S": "user"}, "id": {"N": "1"}}}),  # another index
    _cursor({"p": 0, "k": {"state": {"S": "published"}, "id": {"N": "1e9"}}}),
])
def test_a_forged_cursor_on_a_windowed_search_is_400(api, make_user, make_event, monkeypatch,
                                                     cursor):
    make_event(make_user())
    monkeypatch.setenv(WINDOW_ENV, "2")
    path = f"/v1/events?filter={_q([{'name': 'name', 'op': 'ilike', 'val': '%py%'}])}"
    resp = api.get(f"{path}&page[cursor]={cursor}")
    assert resp.status == 400, resp.body
    assert error_of(resp)["source"] == {"parameter": "page[cursor]"}


def test_a_users_cursor_is_refused_by_the_events_search(api, admin, make_user, monkeypatch):
    for _ in range(4):
        make_user()
    monkeypatch.setenv(WINDOW_ENV, "2")
    users = api.get(f"/v1/users?filter={_q(USER_SEARCH)}", token=admin.token).json()
    foreign = users["links"]["next"].split("page%5Bcursor%5D=")[1].split("&")[0]
    path = f"/v1/events?filter={_q([{'name': 'name', 'op': 'ilike', 'val': '%py%'}])}"
    resp = api.get(f"{path}&page[cursor]={foreign}", token=admin.token)
    assert resp.status == 400, resp.body
    assert error_of(resp)["source"] == {"parameter": "page[cursor]"}


def test_a_user_walks_their_unpublished_events_then_the_published_ones(
        api, make_user, make_event, grant, monkeypatch):
    """The caller's unpublished events come first (read by role, a prefix of the list); the
    window's cursor continues through them and then through the published partition."""
    owner, member = make_user(), make_user()
    drafts = [make_event(owner, state="draft", name=f"Eta {i}") for i in range(3)]
    for event in drafts:
        grant(event, member, "coorganizer")
    published = [make_event(owner, name=f"Eta {i}").id for i in range(5)]
    make_event(owner, state="draft", name="Eta not mine")
    monkeypatch.setenv(WINDOW_ENV, "2")
    path = f"/v1/events?filter={_q([{'name': 'name', 'op': 'ilike', 'val': 'eta%'}])}"
    ids, bodies = _walk(api, path, member.token)
    assert sorted(ids) == sorted([e.id for e in drafts] + published)
    assert len(ids) == len(set(ids)) and len(bodies) >= 4
