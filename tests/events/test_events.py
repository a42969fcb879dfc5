"""Events: create, read by id and identifier, visibility, update, delete, lists."""

from __future__ import annotations

import re

import pytest

from tests.conftest import error_of
from tests.events.conftest import ROLES, doc, event_attrs


def test_verified_user_creates_event_and_becomes_owner(api, make_user):
    user = make_user()
    resp = api.post("/v1/events", doc("event", event_attrs()), token=user.token)
    assert resp.status == 201, resp.body
    data = resp.json()["data"]
    assert resp.headers["Location"] == f"/v1/events/{data['id']}"
    assert re.fullmatch(r"[0-9a-f]{8}", data["attributes"]["identifier"])
    assert data["attributes"]["state"] == "draft"
    assert data["relationships"]["owner"]["data"] == {"type": "user", "id": str(user.id)}
    from openevent.models.events import EventRole

    assert EventRole.get(int(data["id"]), user.id).role == "owner"


def test_creating_event_makes_default_attendee_form_fields(api, make_user):
    user = make_user()
    event_id = api.post("/v1/events", doc("event", event_attrs()), token=user.token).json()[
        "data"]["id"]
    resp = api.get(f"/v1/events/{event_id}/custom-forms", token=user.token)
    fields = [(f["attributes"]["field-identifier"], f["attributes"]["is-required"],
               f["attributes"]["is-included"], f["attributes"]["is-fixed"])
              for f in resp.json()["data"]]
    assert fields == [("firstname", True, True, True), ("lastname", True, True, True),
                      ("email", True, True, True)]


def test_unverified_user_cannot_create_event(api, make_user):
    user = make_user(verified=False)
    resp = api.post("/v1/events", doc("event", event_attrs()), token=user.token)
    assert resp.status == 403


def test_anonymous_cannot_create_event(api):
    assert api.post("/v1/events", doc("event", event_attrs())).status == 401


def test_ends_before_start_is_422(api, make_user):
    attrs = event_attrs(**{"ends-at": "2030-04-01T00:00:00+00:00"})
    resp = api.post("/v1/events", doc("event", attrs), token=make_user().token)
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/ends-at"}


def test_invalid_timezone_is_422(api, make_user):
    resp = api.post("/v1/events", doc("event", event_attrs(timezone="Mars/Olympus")),
                    token=make_user().token)
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/timezone"}


def test_missing_name_is_422(api, make_user):
    attrs = event_attrs()
    del attrs["name"]
    resp = api.post("/v1/events", doc("event", attrs), token=make_user().token)
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/name"}


def test_identifiers_are_unique(make_event):
    identifiers = {make_event().identifier for _ in range(5)}
    assert len(identifiers) == 5


def test_event_reads_by_id_and_identifier(api, make_event):
    event = make_event()
    by_id = api.get(f"/v1/events/{event.id}").json()["data"]
    by_identifier = api.get(f"/v1/events/{event.identifier}").json()["data"]
    assert by_id == by_identifier
    assert by_id["attributes"]["identifier"] == event.identifier


def test_unknown_event_is_404(api):
    assert api.get("/v1/events/999999").status == 404
    assert api.get("/v1/events/deadbeef").status == 404


@pytest.mark.parametrize("role,status", [("anonymous", 404), ("user", 404),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_draft_event_visibility(api, make_cast, role, status):
    cast = make_cast(state="draft")
    assert api.get(f"/v1/events/{cast.event.id}", token=cast.token(role)).status == status


@pytest.mark.parametrize("role", ROLES)
def test_published_event_is_visible_to_everyone(api, cast, role):
    assert api.get(f"/v1/events/{cast.event.identifier}", token=cast.token(role)).status == 200


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 403), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_patch_event_permissions(api, cast, role, status):
    body = doc("event", {"name": "Renamed"}, rid=str(cast.event.id))
    resp = api.patch(f"/v1/events/{cast.event.id}", body, token=cast.token(role))
    assert resp.status == status, resp.body
    if status == 200:
        assert resp.json()["data"]["attributes"]["name"] == "Renamed"


def test_patch_by_identifier_accepts_numeric_id(api, cast):
    body = doc("event", {"description": "hello"}, rid=str(cast.event.id))
    resp = api.patch(f"/v1/events/{cast.event.identifier}", body, token=cast.token("owner"))
    assert resp.status == 200
    assert resp.json()["data"]["attributes"]["description"] == "hello"


def test_patch_with_other_id_is_400(api, cast):
    body = doc("event", {"name": "x"}, rid="123456")
    resp = api.patch(f"/v1/events/{cast.event.id}", body, token=cast.token("owner"))
    assert resp.status == 400


def test_patch_null_clears_field(api, cast):
    owner = cast.token("owner")
    path = f"/v1/events/{cast.event.id}"
    api.patch(path, doc("event", {"description": "x"}, rid=str(cast.event.id)), token=owner)
    resp = api.patch(path, doc("event", {"description": None}, rid=str(cast.event.id)),
                     token=owner)
    assert resp.json()["data"]["attributes"]["description"] is None


def test_patch_ends_before_existing_start_is_422(api, cast):
    body = doc("event", {"ends-at": "2029-01-01T00:00:00Z"}, rid=str(cast.event.id))
    resp = api.patch(f"/v1/events/{cast.event.id}", body, token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/ends-at"}


def test_enabling_payment_flag_without_payment_module_is_403(api, cast, modules):
    modules(payment=False)
    body = doc("event", {"can-pay-by-paypal": True}, rid=str(cast.event.id))
    resp = api.patch(f"/v1/events/{cast.event.id}", body, token=cast.token("owner"))
    assert resp.status == 403
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/can-pay-by-paypal"}


def test_enabling_donations_without_donation_module_is_403(api, cast, modules):
    modules(donation=False)
    body = doc("event", {"is-donation-enabled": True}, rid=str(cast.event.id))
    resp = api.patch(f"/v1/events/{cast.event.id}", body, token=cast.token("owner"))
    assert resp.status == 403
    assert error_of(resp)["detail"] == "Donation is not enabled in the system"


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 403), ("organizer", 403),
                                         ("owner", 200), ("admin", 200)])
def test_delete_event_permissions(api, cast, role, status):
    resp = api.delete(f"/v1/events/{cast.event.id}", token=cast.token(role))
    assert resp.status == status
    if status == 200:
        assert resp.json() == {"meta": {"message": "Object successfully deleted"},
                               "jsonapi": {"version": "1.0"}}


def test_deleted_event_is_404_and_unlisted(api, cast):
    api.delete(f"/v1/events/{cast.event.id}", token=cast.token("owner"))
    assert api.get(f"/v1/events/{cast.event.id}").status == 404
    assert api.get("/v1/events").json()["meta"]["count"] == 0


def test_event_list_visibility(api, make_user, make_event, grant):
    owner, user, admin = make_user(), make_user(), make_user(admin=True)
    published = make_event(owner, state="published")
    draft = make_event(owner, state="draft")
    other_draft = make_event(owner, state="draft")
    grant(draft, user, "coorganizer")

    def ids(token):
        return sorted(int(e["id"]) for e in api.get("/v1/events?page[size]=0",
                                                    token=token).json()["data"])

    assert ids(None) == [published.id]
    assert ids(user.token) == sorted([published.id, draft.id])
    assert ids(admin.token) == sorted([published.id, draft.id, other_draft.id])


def test_event_list_pages(api, make_event):
    made = [make_event().id for _ in range(5)]
    first = api.get("/v1/events?page[size]=2").json()
    assert first["meta"]["count"] == 5
    assert [int(e["id"]) for e in first["data"]] == made[:2]
    third = api.get("/v1/events?page[size]=2&page[number]=3").json()
    assert [int(e["id"]) for e in third["data"]] == made[4:]


def test_event_list_cursor_pages(api, make_event):
    made = [make_event().id for _ in range(3)]
    first = api.get("/v1/events?page[size]=2&page[cursor]=").json()
    assert [int(e["id"]) for e in first["data"]] == made[:2]
    nxt = first["links"]["next"]
    second = api.get(nxt).json()
    assert [int(e["id"]) for e in second["data"]] == made[2:]


def test_garbage_cursor_is_400(api, make_event):
    make_event()
    resp = api.get("/v1/events?page[cursor]=eyJrIjp7ImlkIjoxfX0")
    assert resp.status == 400


def test_user_events_lists_roles_events(api, make_user, make_event, grant):
    owner, other = make_user(), make_user()
    mine = make_event(owner, state="draft")
    resp = api.get(f"/v1/users/{owner.id}/events", token=owner.token)
    assert [int(e["id"]) for e in resp.json()["data"]] == [mine.id]
    assert api.get(f"/v1/users/{owner.id}/events", token=other.token).status == 403
    assert api.get(f"/v1/users/{owner.id}/events").status == 401


def test_admin_lists_any_users_events(api, make_user, make_event):
    owner = make_user()
    event = make_event(owner)
    resp = api.get(f"/v1/users/{owner.id}/events", token=make_user(admin=True).token)
    assert [int(e["id"]) for e in resp.json()["data"]] == [event.id]


def test_include_tickets_on_event(api, cast, make_ticket):
    ticket = make_ticket(cast.event)
    resp = api.get(f"/v1/events/{cast.event.id}?include=tickets")
    assert [(i["type"], i["id"]) for i in resp.json()["included"]] == [("ticket",
                                                                        str(ticket.id))]


@pytest.mark.parametrize("path", ["/v1/event-types", "/v1/event-topics", "/v1/event-sub-topics",
                                  "/v1/pages", "/v1/groups", "/v1/events/upcoming"])
def test_out_of_scope_collections_are_empty(api, path):
    resp = api.get(path)
    assert resp.status == 200
    assert resp.json()["data"] == []
    assert resp.json()["meta"]["count"] == 0


@pytest.mark.parametrize("sub", ["speakers", "sessions", "exhibitors",
                                 "event-invoices"])
def test_out_of_scope_event_collections_are_empty(api, cast, sub):
    resp = api.get(f"/v1/events/{cast.event.id}/{sub}")
    assert resp.status == 200
    assert resp.json()["meta"]["count"] == 0


@pytest.mark.parametrize("tail", ["", "/event", "/user"])
def test_an_event_invoice_is_never_found_and_a_bad_token_still_401(api, make_user, tail):
    """No organizer invoices are issued here: any id (a guessed one, an admin's look, a
    non-number) is the resource's 404, never "No route"; a forged token is refused first."""
    admin = make_user(admin=True)
    for ident, token in (("1", admin.token), ("1", None), ("abc", admin.token)):
        resp = api.get(f"/v1/event-invoices/{ident}{tail}", token=token)
        assert resp.status == 404, resp.body
        assert error_of(resp)["detail"] == "Event invoice not found"
    assert api.get(f"/v1/event-invoices/1{tail}", token="not.a.jwt").status == 401


def test_speakers_call_is_an_empty_single(api, cast):
    resp = api.get(f"/v1/events/{cast.event.id}/speakers-call")
    assert resp.status == 200
    assert resp.json()["data"] is None


def test_every_event_relationship_link_answers(api, cast):
    from openevent.routing import group_for

    data = api.get(f"/v1/events/{cast.event.id}", token=cast.token("admin")).json()["data"]
    for name, rel in data["relationships"].items():
        link = rel["links"]["related"]
        if group_for(link) != "events":
            continue  # served by auth/orders groups
        resp = api.get(link, token=cast.token("admin"))
        assert resp.status in (200,), (name, link, resp.status, resp.body[:200])


def test_user_events_hide_drafts_below_coorganizer(api, make_user, make_event, grant):
    owner, helper = make_user(), make_user()
    draft = make_event(owner, state="draft")
    published = make_event(owner, state="published")
    for event in (draft, published):
        grant(event, helper, "registrar")
    resp = api.get(f"/v1/users/{helper.id}/events", token=helper.token)
    assert [int(e["id"]) for e in resp.json()["data"]] == [published.id]
