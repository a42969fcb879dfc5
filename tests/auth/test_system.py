"""Settings and modules (API.md §2 settings, §3 modules)."""

import pytest

from tests.conftest import error_of


def modules_doc(**attrs):
    return {"data": {"type": "module", "id": "1", "attributes": attrs}}


def test_modules_default_to_false_and_are_public(api):
    resp = api.get("/v1/modules")
    assert resp.status == 200
    data = resp.json()["data"]
    assert data["id"] == "1" and data["type"] == "module"
    assert data["attributes"] == {"ticket-include": False, "payment-include": False,
                                  "donation-include": False}


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("user", 403), ("admin", 200)])
def test_patch_modules_is_admin_only(api, make_user, who, status):
    token = {"anonymous": lambda: None, "user": lambda: make_user().token,
             "admin": lambda: make_user(admin=True).token}[who]()
    resp = api.patch("/v1/modules", modules_doc(**{"ticket-include": True}), token=token)
    assert resp.status == status
    expected = status == 200
    assert api.get("/v1/modules").json()["data"]["attributes"]["ticket-include"] is expected


def test_modules_gate_function(aws):
    from openevent.errors import Forbidden
    from openevent.platform.settings import require_module, update_modules

    with pytest.raises(Forbidden) as err:
        require_module("ticket_include")
    assert err.value.detail == "Ticketing is not enabled in the system"
    update_modules({"ticket_include": True})
    require_module("ticket_include")


def test_modules_reject_non_boolean(api, make_user):
    admin = make_user(admin=True)
    resp = api.patch("/v1/modules", modules_doc(**{"ticket-include": "yes"}), token=admin.token)
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/attributes/ticket-include"


def settings_doc(**attrs):
    return {"data": {"type": "setting", "id": "1", "attributes": attrs}}


def test_settings_are_public_with_defaults(api):
    attrs = api.get("/v1/settings").json()["data"]["attributes"]
    assert attrs["order-expiry-time"] == 15
    assert attrs["app-name"] == "Open Event"
    assert "stripe-secret-key" not in attrs and "paypal-secret" not in attrs


def test_settings_show_the_frontend_url_in_effect(api, make_user):
    """The web app builds Stripe's return_url from `frontend-url`: until an admin sets one it
    is the deployment's default (OPENEVENT_FRONTEND_URL)."""
    assert api.get("/v1/settings").json()["data"]["attributes"]["frontend-url"] == \
        "http://frontend.test"
    api.patch("/v1/settings", settings_doc(**{"frontend-url": "https://events.example.org"}),
              token=make_user(admin=True).token)
    assert api.get("/v1/settings").json()["data"]["attributes"]["frontend-url"] == \
        "https://events.example.org"


def test_settings_secrets_are_write_only(api, make_user):
    admin = make_user(admin=True)
    resp = api.patch("/v1/settings", settings_doc(**{"stripe-secret-key": "sk_live_SECRET",
                                                     "paypal-secret": "pp-SECRET"}),
                     token=admin.token)
    assert resp.status == 200
    assert b"SECRET" not in resp.body
    assert b"SECRET" not in api.get("/v1/settings", token=admin.token).body


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("user", 403), ("admin", 200)])
def test_patch_settings_is_admin_only(api, make_user, who, status):
    token = {"anonymous": lambda: None, "user": lambda: make_user().token,
             "admin": lambda: make_user(admin=True).token}[who]()
    resp = api.patch("/v1/settings", settings_doc(**{"app-name": "Mine"}), token=token)
    assert resp.status == status


@pytest.mark.parametrize("value", [0, 61, "10", None])
def test_order_expiry_time_range(api, make_user, value):
    admin = make_user(admin=True)
    resp = api.patch("/v1/settings", settings_doc(**{"order-expiry-time": value}),
                     token=admin.token)
    assert resp.status == 422 if value != "10" else resp.status == 200


def test_mailed_links_use_the_admins_frontend_url_setting(api, make_user, outbox):
    from tests.conftest import mails_to

    admin = make_user(admin=True)
    resp = api.patch("/v1/settings", {"data": {"type": "setting", "id": "1", "attributes": {
        "frontend-url": "https://events.example.org/"}}}, token=admin.token)
    assert resp.status == 200, resp.body
    me = make_user()
    assert api.post_json("/v1/auth/reset-password", {"data": {"email": me.email}}).status == 200
    body = mails_to(outbox, me.email)[-1].get_body(preferencelist=("plain",)).get_content()
    assert "https://events.example.org/reset-password?token=" in body


# --- issue 20, item 4: the public gets the short list; the rest is for admins --------------

PRIVATE = {"smtp-host": "mail.internal.example", "smtp-username": "mailer",
           "admin-billing-email": "billing@example.org", "admin-billing-phone": "+1 555 0100",
           "admin-billing-tax-info": "VAT-DE-123456", "aws-bucket-name": "acme-private",
           "gs-bucket-name": "acme-gs", "email-from": "ops@example.org",
           "admin-billing-paypal-email": "pay@example.org", "static-domain": "static.internal"}


@pytest.mark.parametrize("who", ["anonymous", "user", "organizer"])
def test_non_admins_see_only_the_public_settings(api, make_user, make_event, who):
    admin = make_user(admin=True)
    resp = api.patch("/v1/settings", settings_doc(**PRIVATE, **{"app-name": "Acme Events"}),
                     token=admin.token)
    assert resp.status == 200, resp.body
    token = None
    if who != "anonymous":
        caller = make_user()
        if who == "organizer":
            make_event(caller.id)
        token = caller.token
    for path in ("/v1/settings", "/v1/settings/1"):
        body = api.get(path, token=token).json()["data"]["attributes"]
        assert body["app-name"] == "Acme Events"  # what the public pages read is there
        assert {"frontend-url", "order-expiry-time", "is-stripe-activated", "paypal-mode",
                "stripe-publishable-key", "cookie-policy"} <= set(body)
        leaked = {k for k in PRIVATE if k in body}
        assert not leaked, leaked
    admin_view = api.get("/v1/settings", token=admin.token).json()["data"]["attributes"]
    assert {k: admin_view[k] for k in PRIVATE} == PRIVATE
