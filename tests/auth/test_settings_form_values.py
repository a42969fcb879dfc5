"""The admin settings form requires a tagline, an API URL, a sender and its name, and a
frontend URL, and refuses to save without them (issue 23, item 2): until an admin sets
their own, the settings serve the values in effect, and an admin's value wins. Only admins
change them."""

from __future__ import annotations


def settings_doc(**attrs):
    return {"data": {"type": "setting", "id": "1", "attributes": attrs}}


def test_the_form_fields_have_the_values_in_effect(api, make_user):
    admin = make_user(admin=True)  # the form is the admin's: others get the public list
    attrs = api.get("/v1/settings", token=admin.token).json()["data"]["attributes"]
    assert attrs["frontend-url"] == attrs["static-domain"] == "http://frontend.test"
    assert attrs["email-from"] == "no-reply@openevent.local"
    assert attrs["email-from-name"] == "Open Event"
    assert attrs["tagline"]
    resp = api.patch("/v1/settings", settings_doc(**{
        "frontend-url": "https://events.example.org", "email-from-name": "Our Events",
        "tagline": "Come along"}), token=admin.token)
    assert resp.status == 200, resp.body
    attrs = api.get("/v1/settings", token=admin.token).json()["data"]["attributes"]
    assert (attrs["static-domain"], attrs["email-from-name"], attrs["tagline"]) == (
        "https://events.example.org", "Our Events", "Come along")


def test_only_admins_change_them(api, make_user):
    resp = api.patch("/v1/settings", settings_doc(tagline="Mine"), token=make_user().token)
    assert resp.status == 403
    assert api.patch("/v1/settings", settings_doc(tagline="Mine")).status == 401
    assert api.get("/v1/settings").json()["data"]["attributes"]["tagline"] != "Mine"
