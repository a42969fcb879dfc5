"""`meta.count` of the event and user lists comes from maintained figures
(openevent.platform.list_counts) that equal the number of listed items after any mix of
creates, publishes, copies and deletes — concurrent ones included."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.events.conftest import event_attrs


def _figures() -> dict[str, int]:
    from openevent.platform import list_counts

    names = [list_counts.event_figure(s) for s in list_counts.EVENT_STATES] + [list_counts.USERS]
    return list_counts.read(names)


def _listed(api: Any, token: str | None = None) -> tuple[int, int]:
    """(meta.count, number of items) of `GET /v1/events` read whole."""
    body = api.get("/v1/events?page[size]=0", token=token).json()
    return body["meta"]["count"], len(body["data"])


def _stored_events(state: str) -> int:
    """The truth, counted the slow way: live events of `state` in the table."""
    from openevent.models.events import Event

    return sum(1 for e in Event.state_index.query(state) if e.deleted_at is None)


def test_event_counts_follow_create_publish_and_delete(api, make_user, make_event):
    owner, admin = make_user(), make_user(admin=True)
    drafts = [make_event(owner, state="draft") for _ in range(3)]
    published = [make_event(owner) for _ in range(2)]
    token = owner.token
    assert api.patch(f"/v1/events/{drafts[0].id}", {"data": {
        "type": "event", "id": str(drafts[0].id), "attributes": {"state": "published"}}},
        token=token).status == 200
    assert api.delete(f"/v1/events/{published[0].id}", token=token).status == 200
    assert api.delete(f"/v1/events/{drafts[1].id}", token=token).status == 200

    assert _figures()["events#published"] == _stored_events("published") == 2
    assert _figures()["events#draft"] == _stored_events("draft") == 1
    assert _listed(api) == (2, 2)
    assert _listed(api, admin.token) == (3, 3)


def test_deleting_twice_counts_once(api, cast):
    token = cast.token("owner")
    assert api.delete(f"/v1/events/{cast.event.id}", token=token).status == 200
    assert api.delete(f"/v1/events/{cast.event.id}", token=token).status == 404
    assert _figures()["events#published"] == 0
    assert _listed(api) == (0, 0)


def test_concurrent_creates_are_each_counted(api, make_user, modules):
    owner = make_user()

    def create(_: int) -> int:
        return api.post("/v1/events", {"data": {"type": "event", "attributes": event_attrs()}},
                        token=owner.token).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(create, range(24)))
    assert statuses == [201] * 24
    assert _figures()["events#draft"] == _stored_events("draft") == 24
    assert _listed(api, owner.token) == (24, 24)


def test_concurrent_publishes_move_the_count_once(api, make_cast):
    draft = make_cast(state="draft")
    event, token = draft.event, draft.token("owner")
    body = {"data": {"type": "event", "id": str(event.id),
                     "attributes": {"state": "published"}}}
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: api.patch(f"/v1/events/{event.id}", body,
                                                       token=token).status, range(4)))
    assert 200 in statuses and set(statuses) <= {200, 409}
    figures = _figures()
    assert (figures["events#draft"], figures["events#published"]) == (0, 1)
    assert _listed(api) == (1, 1)


def test_a_copy_is_counted(api, cast):
    resp = api.post(f"/v1/events/{cast.event.id}/copy", {}, token=cast.token("owner"),
                    content_type="application/json")
    assert resp.status == 200
    assert _figures()["events#published"] == _stored_events("published") == 2
    assert _listed(api) == (2, 2)


def test_user_count_follows_concurrent_signups(api, make_user):
    admin = make_user(admin=True)

    def signup(i: int) -> int:
        return api.post("/v1/users", {"data": {"type": "user", "attributes": {
            "email": f"signup{i}@example.com", "password": "long-enough-1"}}}).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(signup, [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]))
    assert sorted(statuses) == [201] * 8 + [409] * 2
    body = api.get("/v1/users?page[size]=0", token=admin.token).json()
    assert body["meta"]["count"] == len(body["data"]) == 9 == _figures()["users#all"]


def test_user_list_pages_by_cursor(api, make_user):
    admin = make_user(admin=True)
    made = [make_user().id for _ in range(4)]
    seen: list[int] = []
    path = "/v1/users?page[size]=2&page[cursor]="
    while path:
        body = api.get(path, token=admin.token).json()
        assert body["meta"]["count"] == 5
        seen += [int(u["id"]) for u in body["data"]]
        path = body["links"]["next"]
    assert sorted(seen) == sorted([admin.id, *made])


def test_a_forged_cursor_is_400(api, make_user, make_event):
    import base64
    import json

    admin = make_user(admin=True)
    make_event()
    other_partition = {"k": {"id": {"N": "1"}, "state": {"S": "draft"}}}
    cursor = base64.urlsafe_b64encode(json.dumps(other_partition).encode()).decode()
    resp = api.get(f"/v1/events?page[cursor]={cursor}")
    assert resp.status == 400
    assert resp.json()["errors"][0]["source"] == {"parameter": "page[cursor]"}
    assert api.get("/v1/users?page[cursor]=bm9wZQ", token=admin.token).status == 400


def test_backfill_counts_figures_never_kept_and_leaves_kept_ones(aws, make_user, make_event):
    from openevent.models.events import Event
    from openevent.models.system import Statistic
    from openevent.models.users import User
    from openevent.platform import list_counts

    owner = make_user()
    make_event(owner)  # kept: events#published has a shard now
    # Items written before the figures were kept (an older data directory):
    Event(990001, identifier="00f2c0de", owner_id=owner.id, name="Old", state="draft",
          starts_at=Event.starts_at.deserialize("2030-01-01T00:00:00.000000+0000"),
          ends_at=Event.ends_at.deserialize("2030-01-02T00:00:00.000000+0000")).save()
    for shard in list_counts.shard_keys(list_counts.USERS):
        Statistic(shard).delete()
    assert _figures()["users#all"] == 0 and _figures()["events#draft"] == 0

    assert list_counts.backfill() == {"events#draft": 1, "users#all": 1}
    assert _figures() == {"events#draft": 1, "events#published": 1, "users#all": 1}
    assert User.kind_index.count("user") == 1
    assert list_counts.backfill() == {}  # once only
