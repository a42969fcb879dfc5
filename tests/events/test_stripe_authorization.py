"""Stripe Connect authorization of an event, against the local Stripe fake."""

from __future__ import annotations

import logging

import pytest
from openevent.sandboxes.stripe import StripeFake

from tests.conftest import error_of
from tests.events.conftest import doc


@pytest.fixture
def stripe(aws, monkeypatch):
    from openevent.platform.settings import update_system_settings
    from openevent.settings import get_settings

    with StripeFake() as fake:
        monkeypatch.setenv("STRIPE_CONNECT_BASE", fake.base_url)
        get_settings.cache_clear()
        update_system_settings({"stripe_secret_key": fake.secret_key})
        yield fake
    get_settings.cache_clear()


def auth_doc(event_id, code):
    return doc("stripe-authorization", {"stripe-auth-code": code}, event=event_id)


@pytest.mark.parametrize("path", ["/v1/stripe-authorization", "/v1/stripe-authorizations"])
def test_organizer_connects_stripe(api, cast, stripe, path):
    code = stripe.create_connect_code()
    resp = api.post(path, auth_doc(cast.event.id, code), token=cast.token("organizer"))
    assert resp.status == 201, resp.body
    data = resp.json()["data"]
    account = next(iter(stripe.accounts.values()))
    assert data["attributes"] == {"stripe-publishable-key": account["stripe_publishable_key"]}
    assert resp.headers["Location"] == f"/v1/stripe-authorization/{data['id']}"
    sent = stripe.requests_to("/oauth/token")[0]
    assert sent.headers["authorization"] == f"Bearer {stripe.secret_key}"
    assert f"code={code}" in sent.body.decode()
    assert "grant_type=authorization_code" in sent.body.decode()


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 403), ("organizer", 201),
                                         ("owner", 201), ("admin", 201)])
def test_create_permissions(api, cast, stripe, role, status):
    resp = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()), token=cast.token(role))
    assert resp.status == status


def test_second_authorization_is_409(api, cast, stripe):
    owner = cast.token("owner")
    api.post("/v1/stripe-authorization", auth_doc(cast.event.id, stripe.create_connect_code()),
             token=owner)
    resp = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()), token=owner)
    assert resp.status == 409


def test_bad_code_is_422(api, cast, stripe):
    resp = api.post("/v1/stripe-authorization", auth_doc(cast.event.id, "ac_bogus"),
                    token=cast.token("owner"))
    assert resp.status == 422
    assert error_of(resp)["source"] == {"pointer": "/data/attributes/stripe-auth-code"}


def test_stripe_not_configured_is_422(api, cast, aws):
    resp = api.post("/v1/stripe-authorization", auth_doc(cast.event.id, "ac_x"),
                    token=cast.token("owner"))
    assert resp.status == 422


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 200),
                                         ("coorganizer", 200), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_read_permissions_and_paths(api, cast, stripe, role, status):
    """Anyone logged in who sees the event reads it: the buyer's browser needs the
    publishable key for Stripe.js (docs/frontend-compat.md); only that key is served."""
    made = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()),
                    token=cast.token("owner")).json()["data"]
    for path in (f"/v1/stripe-authorization/{made['id']}",
                 f"/v1/events/{cast.event.id}/stripe-authorization",
                 f"/v1/events/{cast.event.identifier}/stripe-authorization"):
        resp = api.get(path, token=cast.token(role))
        assert resp.status == status, path
        if status == 200:
            assert resp.json()["data"]["id"] == made["id"]
            assert set(resp.json()["data"]["attributes"]) == {"stripe-publishable-key"}


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("user", 403),
                                         ("coorganizer", 403), ("organizer", 200),
                                         ("owner", 200), ("admin", 200)])
def test_delete_permissions(api, cast, stripe, role, status):
    made = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()),
                    token=cast.token("owner")).json()["data"]
    resp = api.delete(f"/v1/stripe-authorization/{made['id']}", token=cast.token(role))
    assert resp.status == status


def test_reconnect_after_delete(api, cast, stripe):
    owner = cast.token("owner")
    made = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()),
                    token=owner).json()["data"]
    api.delete(f"/v1/stripe-authorization/{made['id']}", token=owner)
    resp = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()), token=owner)
    assert resp.status == 201


def test_tokens_stored_encrypted_and_never_returned(api, cast, stripe, caplog):
    from openevent.events.stripe_connect import connected_account_for
    from openevent.models.event_content import StripeAuthorization

    caplog.set_level(logging.DEBUG)
    resp = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()),
                    token=cast.token("owner"))
    account = next(iter(stripe.accounts.values()))
    stored = StripeAuthorization.get(int(resp.json()["data"]["id"]))
    assert account["access_token"] not in stored.access_token_enc
    assert account["refresh_token"] not in (stored.refresh_token_enc or "")
    for body in (resp.body, api.get(f"/v1/events/{cast.event.id}/stripe-authorization",
                                    token=cast.token("owner")).body):
        assert account["access_token"].encode() not in body
        assert account["refresh_token"].encode() not in body
        assert account["stripe_user_id"].encode() not in body
    assert account["access_token"] not in caplog.text
    assert connected_account_for(cast.event.id) == (account["stripe_user_id"],
                                                     account["access_token"])


def test_connected_account_for_unconnected_event_is_none(cast):
    from openevent.events.stripe_connect import connected_account_for

    assert connected_account_for(cast.event.id) is None


def test_auth_code_is_write_only(api, cast, stripe):
    resp = api.post("/v1/stripe-authorization",
                    auth_doc(cast.event.id, stripe.create_connect_code()),
                    token=cast.token("owner"))
    assert "stripe-auth-code" not in resp.json()["data"]["attributes"]


def test_event_without_authorization_answers_null(api, cast):
    resp = api.get(f"/v1/events/{cast.event.id}/stripe-authorization", token=cast.token("owner"))
    assert resp.json() == {"data": None, "jsonapi": {"version": "1.0"}}


def test_a_draft_events_authorization_stays_with_its_organizers(api, make_cast, stripe):
    draft = make_cast(state="draft")
    made = api.post("/v1/stripe-authorization",
                    auth_doc(draft.event.id, stripe.create_connect_code()),
                    token=draft.token("owner")).json()["data"]
    for path in (f"/v1/stripe-authorization/{made['id']}",
                 f"/v1/events/{draft.event.id}/stripe-authorization"):
        assert api.get(path, token=draft.token("user")).status == 404, path
