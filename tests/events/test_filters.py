"""The filter language as the Open Event web app sends it (jsonapi/filtering.py)."""

import json
from urllib.parse import quote

import pytest

from tests.conftest import error_of

NOW = "2020-01-01T00:00:00.000Z"


def _q(filters, **params):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    return f"filter={quote(json.dumps(filters))}" + (f"&{query}" if query else "")


def _names(resp):
    assert resp.status == 200, resp.body[:300]
    return [e["attributes"]["name"] for e in resp.json()["data"]]


@pytest.fixture
def events(api, make_user, make_event):
    owner = make_user()
    made = {}
    for name in ("Alpha", "Beta", "Gamma"):
        made[name] = make_event(owner, name=name, state="published")
    draft = make_event(owner, name="Draft", state="draft")
    made["Draft"] = draft
    # Beta is featured: set through the API as the app does.
    resp = api.patch(f"/v1/events/{made['Beta'].id}", {"data": {
        "type": "event", "id": str(made["Beta"].id),
        "attributes": {"is-featured": True, "logo-url": "https://example.com/l.png"}}},
        token=owner.token)
    assert resp.status == 200, resp.body
    return made


def test_home_page_featured_query_as_the_app_sends_it(api, events):
    featured = [{"and": [{"name": "state", "op": "eq", "val": "published"},
                         {"name": "privacy", "op": "eq", "val": "public"},
                         {"name": "is-featured", "op": "eq", "val": True}]},
                {"or": [{"name": "ends-at", "op": "ge", "val": NOW}]}]
    resp = api.get("/v1/events?" + _q(featured, sort="starts-at",
                                      include="event-topic,event-sub-topic,event-type,"
                                              "speakers-call"))
    assert _names(resp) == ["Beta"]


def test_ne_null_on_attributes_and_relationships(api, events):
    logo = [{"name": "logo-url", "op": "ne", "val": None}]
    assert _names(api.get("/v1/events?" + _q(logo))) == ["Beta"]
    topic = [{"or": [{"name": "is-promoted", "op": "eq", "val": True},
                     {"and": [{"name": "logo-url", "op": "ne", "val": None},
                              {"name": "event-topic", "op": "ne", "val": None}]}]}]
    assert _names(api.get("/v1/events?" + _q(topic))) == []
    no_topic = [{"name": "event-topic", "op": "eq", "val": None}]
    assert sorted(_names(api.get("/v1/events?" + _q(no_topic)))) == ["Alpha", "Beta", "Gamma"]


def test_empty_or_and_and_mean_no_constraint(api, events):
    assert len(_names(api.get("/v1/events?" + _q([{"or": []}])))) == 3
    assert len(_names(api.get("/v1/events?" + _q([{"and": []}, {"or": []}])))) == 3


def test_not_and_in(api, events):
    spec = [{"not": {"name": "name", "op": "in_", "val": ["Alpha", "Gamma"]}}]
    assert _names(api.get("/v1/events?" + _q(spec))) == ["Beta"]


def test_has_on_a_to_one_relationship(api, make_user, make_event, make_ticket):
    owner = make_user()
    plain = make_event(owner, name="Plain")
    star = make_event(owner, name="Star")
    api.patch(f"/v1/events/{star.id}", {"data": {"type": "event", "id": str(star.id),
                                                   "attributes": {"is-featured": True}}},
              token=owner.token)
    make_ticket(plain, name="P")
    make_ticket(star, name="S")
    spec = [{"name": "event", "op": "has", "val": {"name": "is-featured", "op": "eq",
                                                   "val": True}}]
    resp = api.get(f"/v1/events/{star.id}/tickets?" + _q(spec), token=owner.token)
    assert [t["attributes"]["name"] for t in resp.json()["data"]] == ["S"]
    resp = api.get(f"/v1/events/{plain.id}/tickets?" + _q(spec), token=owner.token)
    assert resp.json()["data"] == []


def test_dotted_sort_follows_a_relationship(api, events):
    resp = api.get("/v1/events?sort=-name")
    assert _names(resp) == ["Gamma", "Beta", "Alpha"]
    resp = api.get("/v1/events?sort=owner.email")
    assert resp.status == 200


@pytest.mark.parametrize("spec,pointer_word", [
    ([{"name": "shoe-size", "op": "eq", "val": 1}], "shoe-size"),
    ([{"name": "event-topic", "op": "gt", "val": 1}], "event-topic"),
    ([{"name": "name", "op": "has", "val": {}}], "name"),
    ([{"or": {"name": "name"}}], "or"),
])
def test_unknown_names_and_bad_operators_are_400(api, events, spec, pointer_word):
    resp = api.get("/v1/events?" + _q(spec))
    assert resp.status == 400
    err = error_of(resp)
    assert err["source"]["parameter"] == "filter"
    assert pointer_word in err["detail"]


def test_unknown_sort_is_400(api, events):
    resp = api.get("/v1/events?sort=shoe-size")
    assert resp.status == 400
    assert error_of(resp)["source"]["parameter"] == "sort"
    resp = api.get("/v1/events?sort=shoe.size")
    assert resp.status == 400


def test_upcoming_lists_public_events_that_have_not_ended(api, make_user, make_event):
    from datetime import UTC, datetime

    owner = make_user()
    make_event(owner, name="Later", starts_at=datetime(2040, 1, 2, tzinfo=UTC),
               ends_at=datetime(2040, 1, 3, tzinfo=UTC))
    make_event(owner, name="Sooner")
    make_event(owner, name="Over", starts_at=datetime(2001, 1, 1, tzinfo=UTC),
               ends_at=datetime(2001, 1, 2, tzinfo=UTC))
    make_event(owner, name="Hidden", privacy="private")
    make_event(owner, name="Draft", state="draft")
    resp = api.get("/v1/events/upcoming?page[size]=12&cache=true&public=true")
    assert _names(resp) == ["Sooner", "Later"]
