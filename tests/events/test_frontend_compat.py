"""The Open Event frontend echoes whole models on PATCH: Open Event attributes and
relationships outside our scope are accepted and ignored; truly unknown names stay 422."""

from tests.conftest import error_of


def echoed_event(event_id, name):
    return {"data": {"type": "event", "id": str(event_id), "attributes": {
        "name": name, "timezone": "UTC", "is-sessions-speakers-enabled": False,
        "has-owner-info": False, "external-event-url": None, "is-featured": False,
        "code-of-conduct": None, "is-stripe-linked": False, "thumbnail-image-url": None,
        "completed-order-sales": 0},
        "relationships": {
            "event-type": {"data": None}, "event-topic": {"data": None},
            "owner": {"data": {"type": "user", "id": "1"}},
            "tickets": {"data": []}}}}


def test_patch_echoing_an_ember_event_model_is_accepted(api, cast):
    resp = api.patch(f"/v1/events/{cast.event.id}", echoed_event(cast.event.id, "Renamed"),
                     token=cast.token("owner"))
    assert resp.status == 200, resp.body
    attrs = resp.json()["data"]["attributes"]
    assert attrs["name"] == "Renamed"
    assert "is-featured" not in attrs  # accepted, not stored


def test_truly_unknown_attribute_is_still_422(api, cast):
    doc = echoed_event(cast.event.id, "X")
    doc["data"]["attributes"]["shoe-size"] = 44
    resp = api.patch(f"/v1/events/{cast.event.id}", doc, token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/shoe-size"


def test_user_patch_with_ember_profile_fields_is_accepted(api, make_user):
    me = make_user()
    doc = {"data": {"type": "user", "id": str(me.id), "attributes": {
        "first-name": "Ada", "facebook-url": None, "details": None, "is-admin": False,
        "created-at": "2020-01-01T00:00:00+00:00"}}}
    resp = api.patch(f"/v1/users/{me.id}", doc, token=me.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"]["attributes"]["first-name"] == "Ada"
