"""Writes that share a counter shard, under DynamoDB's transaction-conflict rule.

The embedded DynamoDB serializes calls, so two transactions never overlap there; DynamoDB
cancels a transaction naming an item another one is writing (`TransactionConflict`, nothing
written). `model_transaction_conflicts` brings that rule into the embedded backend for these
tests: concurrent signups, event creations and seat purchases meet on the same count or seat
shards, and must still all succeed (or answer 503 to retry) — never a wrong 409."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from openevent.local.moto_patches import model_transaction_conflicts

from tests.conftest import user_doc

pytestmark = pytest.mark.slow


@pytest.fixture
def conflicts():
    undo = model_transaction_conflicts(15)
    yield
    undo()


def test_concurrent_signups_all_succeed_and_are_counted(world, conflicts):
    from openevent.platform import list_counts

    before = list_counts.read([list_counts.USERS])[list_counts.USERS]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(
            lambda i: world.api.post("/v1/users", user_doc(f"burst{i}@example.com")),
            range(32)))
    statuses = sorted(r.status for r in results)
    assert statuses == [201] * 32, [r.body for r in results if r.status != 201][:2]
    assert list_counts.read([list_counts.USERS])[list_counts.USERS] == before + 32


def test_a_taken_email_is_still_409_under_conflicts(world, conflicts):
    assert world.api.post("/v1/users", user_doc("once@example.com")).status == 201
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(
            lambda _: world.api.post("/v1/users", user_doc("once@example.com")), range(6)))
    assert [r.status for r in results] == [409] * 6


def test_concurrent_event_creations_all_succeed(world, people, conflicts):
    from openevent.platform import list_counts

    from tests.events.conftest import doc

    figure = list_counts.event_figure("draft")
    before = list_counts.read([figure])[figure]
    body = doc("event", {"name": "Burst", "starts-at": "2031-01-01T10:00:00Z",
                         "ends-at": "2031-01-01T12:00:00Z", "timezone": "UTC"})
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(
            lambda _: world.api.post("/v1/events", body, token=people.owner.token), range(10)))
    assert sorted(r.status for r in results) == [201] * 10
    assert list_counts.read([figure])[figure] == before + 10


def test_buyers_on_shards_never_oversell_and_never_get_a_500(world, people, shop, conflicts):
    from openevent.models.events import SeatShard, Ticket

    from tests.events.conftest import doc

    resp = world.api.post("/v1/tickets", doc("ticket", {
        "name": "Rush", "type": "free", "quantity": 20, "seat-shards": 4}, event=shop.event.id),
        token=people.owner.token)
    assert resp.status == 201, resp.body
    ticket = Ticket.get(int(resp.json()["data"]["id"]))
    buyers = [world.make_user() for _ in range(30)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda b: world.checkout(b, [(ticket, 1)]), buyers))
    statuses = [r.status for r in results]
    assert set(statuses) <= {201, 409, 503}
    taken = sum(int(s.taken) for s in SeatShard.query(int(ticket.id), consistent_read=True))
    assert taken == statuses.count(201) <= 20
    if 503 not in statuses:
        assert taken == 20
