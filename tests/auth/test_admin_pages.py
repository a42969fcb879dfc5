"""What the web app's admin pages call: statistics from maintained counters, settings by id,
ticket fees, user permissions, custom system roles and panel permissions."""

import pytest

from tests.conftest import error_of


def _stats(api, name, token):
    resp = api.get(f"/v1/admin/statistics/{name}", token=token)
    assert resp.status == 200, resp.body
    data = resp.json()["data"]
    assert (data["type"], data["id"]) == (f"admin-statistics-{name[:-1]}", "1")
    return data["attributes"]


def test_event_and_user_statistics_follow_what_happens(api, make_user):
    admin = make_user(admin=True)
    before = _stats(api, "users", admin.token)
    owner = make_user()
    unverified = make_user(verified=False)
    users = _stats(api, "users", admin.token)
    assert users["verified"] == before["verified"] + 1
    assert users["unverified"] == before["unverified"] + 1
    events_before = _stats(api, "events", admin.token)
    doc = {"data": {"type": "event", "attributes": {
        "name": "Stats", "starts-at": "2020-01-01T09:00:00Z", "ends-at": "2020-01-02T09:00:00Z",
        "timezone": "UTC"}}}
    created = api.post("/v1/events", doc, token=owner.token).json()["data"]
    events = _stats(api, "events", admin.token)
    assert events["draft"] == events_before["draft"] + 1
    assert _stats(api, "users", admin.token)["owner"] == before["owner"] + 1
    api.patch(f"/v1/events/{created['id']}", {"data": {"type": "event", "id": created["id"],
                                                       "attributes": {"state": "published"}}},
              token=owner.token)
    events = _stats(api, "events", admin.token)
    assert (events["draft"], events["published"]) == (events_before["draft"],
                                                       events_before["published"] + 1)
    assert events["past"] == events_before["past"] + 1  # it ended in 2020
    assert unverified.id  # made for the unverified figure


def test_mail_statistics_count_sent_mails_by_day(api, make_user):
    admin = make_user(admin=True)
    before = _stats(api, "mails", admin.token)
    assert api.post_json("/v1/auth/reset-password",
                         {"data": {"email": admin.email}}).status == 200
    after = _stats(api, "mails", admin.token)
    assert after["one-day"] == before["one-day"] + 1
    assert after["thirty-days"] == before["thirty-days"] + 1


@pytest.mark.parametrize("name", ["sessions", "groups"])
def test_out_of_scope_statistics_are_zero(api, make_user, name):
    admin = make_user(admin=True)
    assert set(_stats(api, name, admin.token).values()) == {0}


def test_statistics_are_for_admins_only(api, make_user):
    assert api.get("/v1/admin/statistics/events").status == 401
    assert api.get("/v1/admin/statistics/events", token=make_user().token).status == 403


def test_settings_patch_by_id_stores_open_event_settings(api, make_user):
    admin = make_user(admin=True)
    doc = {"data": {"type": "setting", "id": "1", "attributes": {
        "app-name": "My Events", "tagline": "Come together", "smtp-password": "s3cret",
        "is-google-recaptcha-enabled": False, "logo-size": 1000, "stripe-secret-key": None}}}
    resp = api.patch("/v1/settings/1", doc, token=admin.token)
    assert resp.status == 200, resp.body
    attrs = api.get("/v1/settings/1").json()["data"]["attributes"]
    assert (attrs["app-name"], attrs["tagline"], attrs["logo-size"]) == (
        "My Events", "Come together", 1000)
    assert "smtp-password" not in attrs


def test_ticket_fees_crud_by_admin(api, make_user):
    admin, someone = make_user(admin=True), make_user()
    doc = {"data": {"type": "ticket-fee", "attributes": {
        "country": "DE", "currency": "EUR", "service-fee": 2.5, "maximum-fee": 10}}}
    assert api.post("/v1/ticket-fees", doc, token=someone.token).status == 403
    created = api.post("/v1/ticket-fees", doc, token=admin.token)
    assert created.status == 201, created.body
    fee = created.json()["data"]
    listed = api.get("/v1/ticket-fees", token=admin.token).json()
    assert [f["attributes"]["service-fee"] for f in listed["data"]] == [2.5]
    patched = api.patch(f"/v1/ticket-fees/{fee['id']}", {"data": {
        "type": "ticket-fee", "id": fee["id"], "attributes": {"maximum-fee": 12}}},
        token=admin.token)
    assert patched.json()["data"]["attributes"]["maximum-fee"] == 12.0
    assert api.delete(f"/v1/ticket-fees/{fee['id']}", token=admin.token).status == 200
    assert api.get(f"/v1/ticket-fees/{fee['id']}", token=admin.token).status == 404


def test_custom_system_roles_link_panel_permissions(api, make_user):
    admin = make_user(admin=True)
    panel = api.post("/v1/panel-permissions", {"data": {"type": "panel-permission",
                     "attributes": {"panel-name": "sales", "can-access": True}}},
                     token=admin.token)
    assert panel.status == 201, panel.body
    pid = panel.json()["data"]["id"]
    role = api.post("/v1/custom-system-roles", {"data": {
        "type": "custom-system-role", "attributes": {"name": "Sales Admin"},
        "relationships": {"panel-permissions": {"data": [
            {"type": "panel-permission", "id": pid}]}}}}, token=admin.token)
    assert role.status == 201, role.body
    got = api.get("/v1/custom-system-roles?include=panel-permissions", token=admin.token)
    body = got.json()
    assert body["data"][0]["relationships"]["panel-permissions"]["data"] == [
        {"type": "panel-permission", "id": pid}]
    assert body["included"][0]["attributes"]["panel-name"] == "sales"
    bad = api.post("/v1/custom-system-roles", {"data": {
        "type": "custom-system-role", "attributes": {"name": "X"},
        "relationships": {"panel-permissions": {"data": [
            {"type": "panel-permission", "id": "999"}]}}}}, token=admin.token)
    assert bad.status == 422
    assert error_of(bad)["source"]["pointer"] == "/data/relationships/panel-permissions"


def test_user_permissions_list(api, make_user):
    admin = make_user(admin=True)
    resp = api.post("/v1/user-permissions", {"data": {"type": "user-permission", "attributes": {
        "name": "create_event", "description": "Create events", "unverified-user": False,
        "anonymous-user": False}}}, token=admin.token)
    assert resp.status == 201, resp.body
    listed = api.get("/v1/user-permissions", token=admin.token).json()["data"]
    assert [p["attributes"]["name"] for p in listed] == ["create_event"]


def test_admin_users_all_and_active_lists(api, make_user):
    from json import dumps
    from urllib.parse import quote

    admin = make_user(admin=True)
    make_user()
    every = api.get("/v1/users?filter=" + quote(dumps([{"or": []}])), token=admin.token)
    assert every.status == 200, every.body
    assert every.json()["meta"]["count"] >= 2
    someone = make_user(email="active@example.com")
    assert api.post_json("/auth/session", {"email": someone.email,
                                           "password": someone.password}).status == 200
    active = [{"and": [{"name": "deleted-at", "op": "eq", "val": None},
                       {"name": "last-accessed-at", "op": "ge",
                        "val": "2020-01-01T00:00:00.000Z"}]}]
    resp = api.get("/v1/users?sort=-id&filter=" + quote(dumps(active)), token=admin.token)
    assert resp.status == 200, resp.body
    assert [u["attributes"]["email"] for u in resp.json()["data"]] == ["active@example.com"]
