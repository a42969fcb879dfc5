"""The Open Event frontend echoes whole models on PATCH: Open Event attributes beyond our core
fields are accepted, validated by type and stored; truly unknown names stay 422."""

from tests.conftest import error_of


def echoed_event(event_id, name):
    return {"data": {"type": "event", "id": str(event_id), "attributes": {
        "name": name, "timezone": "UTC", "is-sessions-speakers-enabled": False,
        "has-owner-info": False, "external-event-url": None, "is-featured": True,
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
    assert attrs["is-featured"] is True  # stored and served back
    again = api.get(f"/v1/events/{cast.event.id}", token=cast.token("owner")).json()
    assert again["data"]["attributes"]["is-featured"] is True
    assert again["data"]["attributes"]["has-owner-info"] is False


def test_an_open_event_attribute_of_the_wrong_type_is_422_naming_it(api, cast):
    doc = echoed_event(cast.event.id, "X")
    doc["data"]["attributes"]["is-featured"] = "yes"
    resp = api.patch(f"/v1/events/{cast.event.id}", doc, token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/is-featured"


def test_ticket_accepts_and_stores_is_description_visible(api, cast):
    from openevent.platform.settings import update_modules

    update_modules({"ticket_include": True})
    doc = {"data": {"type": "ticket", "attributes": {
        "name": "Free", "type": "free", "quantity": 10, "is-description-visible": False,
        "is-fee-absorbed": True, "form-id": "", "badge-id": ""},
        "relationships": {"event": {"data": {"type": "event", "id": str(cast.event.id)}}}}}
    resp = api.post("/v1/tickets", doc, token=cast.token("owner"))
    assert resp.status == 201, resp.body
    ticket = resp.json()["data"]
    assert ticket["attributes"]["is-description-visible"] is False
    stored = api.get(f"/v1/tickets/{ticket['id']}", token=cast.token("owner")).json()
    assert stored["data"]["attributes"]["is-description-visible"] is False


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


def test_user_echoing_is_blocked_false_is_accepted_but_setting_it_is_not(api, make_user):
    me = make_user()
    doc = {"data": {"type": "user", "id": str(me.id), "attributes": {
        "is-blocked": False, "twitter-url": "https://twitter.com/ada"}}}
    resp = api.patch(f"/v1/users/{me.id}", doc, token=me.token)
    assert resp.status == 200, resp.body
    assert resp.json()["data"]["attributes"]["twitter-url"] == "https://twitter.com/ada"
    doc["data"]["attributes"]["is-blocked"] = True
    resp = api.patch(f"/v1/users/{me.id}", doc, token=me.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/is-blocked"


def test_open_event_extras_never_shadow_a_core_field():
    from openevent.jsonapi.compat import EXTRA_FIELDS
    from openevent.wire.events import EVENT, TICKET
    from openevent.wire.orders import ATTENDEE, ORDER
    from openevent.wire.users import USER

    for schema in (EVENT, TICKET, USER, ATTENDEE, ORDER):
        extras = EXTRA_FIELDS[schema.type]
        shadowed = [n for n, spec in extras.items() if schema.fields[n] is not spec]
        assert shadowed == [], (schema.type, shadowed)
