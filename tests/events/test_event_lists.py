"""Filtered event lists read a bounded candidate set (openevent.events.lists): the
home page's "not ended yet" filter and /v1/events/upcoming read the events that end from now
on, never the ended ones; narrowing never changes an answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

NOW = datetime.now(UTC)
# The home page's query (web app app/routes/index.js).
HOME = [{"and": [{"name": "state", "op": "eq", "val": "published"},
                 {"name": "privacy", "op": "eq", "val": "public"}]},
        {"or": [{"name": "ends-at", "op": "ge", "val": NOW.isoformat()},
                {"name": "starts-at", "op": "ge", "val": NOW.isoformat()}]}]


@pytest.fixture
def timeline(make_user: Any, make_event: Any) -> dict[str, Any]:
    """Two ended, one running and two future published events, and a future draft."""
    owner = make_user()

    def at(days: int, length: int = 1, state: str = "published") -> Any:
        starts = NOW + timedelta(days=days)
        return make_event(owner, state=state, starts_at=starts,
                          ends_at=starts + timedelta(days=length))

    return {"ended": [at(-30), at(-10)], "running": at(-1, length=3),
            "future": [at(20), at(5)], "draft": at(7, state="draft")}


def _ids(events: list[Any]) -> list[int]:
    return [int(e.id) for e in events]


def test_home_page_filter_reads_only_events_not_ended(api, timeline):
    from openevent.events.lists import event_list_source

    read, _ = event_list_source(None, HOME).page(0, None)
    assert sorted(_ids(read)) == sorted(_ids([timeline["running"], *timeline["future"]]))

    body = api.get(f"/v1/events?sort=starts-at&filter={quote(json.dumps(HOME))}").json()
    assert [int(e["id"]) for e in body["data"]] == _ids(
        [timeline["running"], timeline["future"][1], timeline["future"][0]])
    assert body["meta"]["count"] == 3


def test_upcoming_reads_only_events_not_ended(api, timeline):
    from openevent.events.lists import upcoming_source

    read, _ = upcoming_source().page(0, None)
    assert timeline["ended"][0].id not in _ids(read)
    body = api.get("/v1/events/upcoming").json()
    assert [int(e["id"]) for e in body["data"]] == _ids(
        [timeline["running"], timeline["future"][1], timeline["future"][0]])


def test_an_or_with_an_open_branch_is_not_narrowed(api, timeline):
    spec = {"or": [{"name": "ends-at", "op": "ge", "val": NOW.isoformat()},
                   {"name": "name", "op": "eq", "val": "PyCon"}]}
    body = api.get(f"/v1/events?filter={quote(json.dumps(spec))}&page[size]=0").json()
    assert body["meta"]["count"] == 5  # every published event is named PyCon


def test_staff_filter_on_state_reads_that_state_only(api, make_user, timeline):
    from openevent.events.lists import event_list_source
    from openevent.models.users import User

    admin = make_user(admin=True)
    spec = [{"name": "state", "op": "eq", "val": "draft"}]
    read, _ = event_list_source(User.get(admin.id), spec).page(0, None)
    assert _ids(read) == [timeline["draft"].id]
    body = api.get(f"/v1/events?filter={quote(json.dumps(spec))}", token=admin.token).json()
    assert [int(e["id"]) for e in body["data"]] == [timeline["draft"].id]


@pytest.mark.parametrize("spec,bound", [
    ([{"name": "ends-at", "op": "ge", "val": "2030-01-01T00:00:00Z"}], "2030-01-01"),
    ({"and": [{"name": "starts-at", "op": "gt", "val": "2030-01-01T00:00:00Z"},
              {"name": "ends-at", "op": "ge", "val": "2031-01-01T00:00:00Z"}]}, "2031-01-01"),
    ({"or": [{"name": "starts-at", "op": "ge", "val": "2030-01-01T00:00:00Z"},
             {"name": "ends-at", "op": "ge", "val": "2029-01-01T00:00:00Z"}]}, "2029-01-01"),
    ({"or": [{"name": "ends-at", "op": "ge", "val": "2030-01-01T00:00:00Z"},
             {"name": "name", "op": "eq", "val": "x"}]}, None),
    ({"not": {"name": "ends-at", "op": "lt", "val": "2030-01-01T00:00:00Z"}}, None),
    ([{"name": "ends-at", "op": "lt", "val": "2030-01-01T00:00:00Z"}], None),
    ([{"name": "ends-at", "op": "ge", "val": "not a date"}], None),
    ({"or": []}, None),
])
def test_narrowing_bounds(spec, bound):
    from openevent.events.lists import narrowing

    found = narrowing(spec).ends_after
    assert (found.date().isoformat() if found else None) == bound


def test_a_table_made_before_the_ends_index_gets_it(aws):
    import boto3
    from openevent.models.base import TABLE_PREFIX
    from openevent.models.events import Event
    from openevent.models.registry import create_tables

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    table = f"{TABLE_PREFIX}events"
    ddb.update_table(TableName=table, GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "ends-index"}}])
    names = {g["IndexName"] for g in ddb.describe_table(TableName=table)["Table"][
        "GlobalSecondaryIndexes"]}
    assert "ends-index" not in names
    create_tables()
    names = {g["IndexName"] for g in ddb.describe_table(TableName=table)["Table"][
        "GlobalSecondaryIndexes"]}
    assert "ends-index" in names
    assert list(Event.ends_index.query("published")) == []
