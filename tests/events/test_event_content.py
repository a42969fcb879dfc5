"""Tax, tracks, sponsors, microlocations, social links and custom forms."""

from __future__ import annotations

import pytest

from tests.conftest import error_of
from tests.events.conftest import ROLES, doc

SAMPLES = {
    "tracks": ("track", {"name": "Web", "color": "#ff0000"}),
    "sponsors": ("sponsor", {"name": "ACME", "url": "https://acme.test", "level": 1}),
    "microlocations": ("microlocation", {"name": "Hall A", "latitude": 52.520008,
                                         "longitude": 13.404954, "floor": 2}),
    "social-links": ("social-link", {"name": "Twitter", "link": "https://x.test/pycon"}),
    "custom-forms": ("custom-form", {"field-identifier": "city", "form": "attendee",
                                     "type": "text", "is-required": False}),
}
WRITERS = [("anonymous", 401), ("user", 403), ("coorganizer", 201), ("organizer", 201),
           ("owner", 201), ("admin", 201)]


def make(api, cast, plural, token=None):
    rtype, attrs = SAMPLES[plural]
    return api.post(f"/v1/{plural}", doc(rtype, attrs, event=cast.event.id),
                    token=token or cast.token("owner"))


@pytest.mark.parametrize("plural", list(SAMPLES))
@pytest.mark.parametrize("role,status", WRITERS)
def test_create_content_permissions(api, cast, plural, role, status):
    resp = make(api, cast, plural, cast.token(role) or "")
    if role == "anonymous":
        resp = api.post(f"/v1/{plural}", doc(SAMPLES[plural][0], SAMPLES[plural][1],
                                             event=cast.event.id))
    assert resp.status == status, resp.body


@pytest.mark.parametrize("plural", list(SAMPLES))
def test_content_round_trip(api, cast, plural):
    rtype, attrs = SAMPLES[plural]
    created = make(api, cast, plural).json()["data"]
    assert created["type"] == rtype
    for key, value in attrs.items():
        assert created["attributes"][key] == value
    got = api.get(f"/v1/{plural}/{created['id']}").json()["data"]
    assert got == created
    listed = api.get(f"/v1/events/{cast.event.identifier}/{plural}").json()
    assert created["id"] in [i["id"] for i in listed["data"]]
    parent = api.get(f"/v1/{plural}/{created['id']}/event").json()["data"]
    assert parent["id"] == str(cast.event.id)


@pytest.mark.parametrize("plural", list(SAMPLES))
@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_patch_and_delete_content_permissions(api, cast, plural, role, status):
    rtype, _ = SAMPLES[plural]
    item = make(api, cast, plural).json()["data"]
    name_attr = "field-identifier" if plural == "custom-forms" else "name"
    resp = api.patch(f"/v1/{plural}/{item['id']}",
                     doc(rtype, {name_attr: "changed"}, rid=item["id"]), token=cast.token(role))
    assert resp.status == status
    if status == 200:
        assert resp.json()["data"]["attributes"][name_attr] == "changed"
    assert api.delete(f"/v1/{plural}/{item['id']}", token=cast.token(role)).status == status


@pytest.mark.parametrize("plural", list(SAMPLES))
def test_draft_content_hidden_below_coorganizer(api, make_cast, plural):
    cast = make_cast(state="draft")
    item = make(api, cast, plural).json()["data"]
    assert api.get(f"/v1/{plural}/{item['id']}", token=cast.token("user")).status == 404
    assert api.get(f"/v1/{plural}/{item['id']}", token=cast.token("coorganizer")).status == 200
    assert api.get(f"/v1/events/{cast.event.id}/{plural}").status == 404


def test_fixed_form_field_cannot_be_deleted(api, cast):
    forms = api.get(f"/v1/events/{cast.event.id}/custom-forms").json()["data"]
    resp = api.delete(f"/v1/custom-forms/{forms[0]['id']}", token=cast.token("owner"))
    assert resp.status == 403


def test_fixed_form_field_cannot_become_optional(api, cast):
    forms = api.get(f"/v1/events/{cast.event.id}/custom-forms").json()["data"]
    resp = api.patch(f"/v1/custom-forms/{forms[0]['id']}",
                     doc("custom-form", {"is-required": False}, rid=forms[0]["id"]),
                     token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/is-required"}


def tax_doc(event_id, **attrs):
    base = {"name": "VAT", "rate": 19, "is-tax-included-in-price": True}
    base.update(attrs)
    return doc("tax", base, event=event_id)


@pytest.mark.parametrize("role,status", WRITERS)
def test_create_tax_permissions(api, cast, role, status):
    resp = api.post("/v1/taxes", tax_doc(cast.event.id), token=cast.token(role))
    assert resp.status == status
    if status == 201:
        assert resp.json()["data"]["attributes"]["rate"] == 19.0


def test_second_tax_is_409(api, cast):
    owner = cast.token("owner")
    assert api.post("/v1/taxes", tax_doc(cast.event.id), token=owner).status == 201
    assert api.post("/v1/taxes", tax_doc(cast.event.id), token=owner).status == 409


def test_tax_rate_over_100_is_422(api, cast):
    resp = api.post("/v1/taxes", tax_doc(cast.event.id, rate=101), token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/rate"}


def test_event_tax_endpoint(api, cast):
    assert api.get(f"/v1/events/{cast.event.id}/tax").json()["data"] is None
    made = api.post("/v1/taxes", tax_doc(cast.event.id), token=cast.token("owner")).json()
    got = api.get(f"/v1/events/{cast.event.identifier}/tax").json()["data"]
    assert got["id"] == made["data"]["id"]


def test_deleted_tax_can_be_recreated(api, cast):
    owner = cast.token("owner")
    made = api.post("/v1/taxes", tax_doc(cast.event.id), token=owner).json()["data"]
    assert api.delete(f"/v1/taxes/{made['id']}", token=owner).status == 200
    assert api.post("/v1/taxes", tax_doc(cast.event.id), token=owner).status == 201


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_patch_tax_permissions(api, cast, role, status):
    made = api.post("/v1/taxes", tax_doc(cast.event.id), token=cast.token("owner")).json()
    tax_id = made["data"]["id"]
    resp = api.patch(f"/v1/taxes/{tax_id}", doc("tax", {"rate": 7}, rid=tax_id),
                     token=cast.token(role))
    assert resp.status == status


@pytest.mark.parametrize("role", ROLES)
def test_tax_readable_by_anyone_for_published_event(api, cast, role):
    made = api.post("/v1/taxes", tax_doc(cast.event.id), token=cast.token("owner")).json()
    assert api.get(f"/v1/taxes/{made['data']['id']}", token=cast.token(role)).status == 200


def test_attendee_tags_of_an_event(api, cast):
    doc = {"data": {"type": "tag", "attributes": {"name": "VIP", "color": "#ff0000",
                                                  "is-read-only": False},
                    "relationships": {"event": {"data": {"type": "event",
                                                         "id": str(cast.event.id)}}}}}
    assert api.post("/v1/tags", doc, token=cast.token("user")).status == 403
    created = api.post("/v1/tags", doc, token=cast.token("coorganizer"))
    assert created.status == 201, created.body
    listed = api.get(f"/v1/events/{cast.event.id}/tags", token=cast.token("coorganizer"))
    assert [t["attributes"]["name"] for t in listed.json()["data"]] == ["VIP"]
