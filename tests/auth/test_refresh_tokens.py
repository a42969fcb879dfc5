"""Refresh tokens as the web app uses them: every login has one, refreshing rotates it,
and it can be revoked (API.md §2; accounts/sessions.py)."""

import json

import pytest

from tests.auth.conftest import token_from_last_mail
from tests.conftest import error_of


def _login(api, me):
    resp = api.post_json("/auth/session", {"email": me.email, "password": me.password})
    assert resp.status == 200
    return resp.json()


def test_refresh_returns_a_new_access_and_refresh_token(api, make_user):
    me = make_user()
    first = _login(api, me)
    resp = api.post_json("/v1/auth/token/refresh", {"refresh_token": first["refresh_token"]})
    assert resp.status == 200
    body = resp.json()
    assert set(body) == {"access_token", "refresh_token"}
    assert body["refresh_token"] != first["refresh_token"]
    who = api.get("/v1/users/user-details/get-user-id", token=body["access_token"])
    assert who.json() == {"user_id": me.id}


def test_a_refresh_token_works_once(api, make_user):
    me = make_user()
    token = _login(api, me)["refresh_token"]
    assert api.post_json("/v1/auth/token/refresh", {"refresh_token": token}).status == 200
    again = api.post_json("/v1/auth/token/refresh", {"refresh_token": token})
    assert again.status == 401


def test_refresh_token_in_the_authorization_header_is_accepted(api, make_user):
    me = make_user()
    token = _login(api, me)["refresh_token"]
    resp = api.post_json("/v1/auth/token/refresh", {},
                         headers={"Authorization": f"JWT {token}"})
    assert resp.status == 200


def test_logout_revokes_the_refresh_token(api, make_user):
    me = make_user()
    token = _login(api, me)["refresh_token"]
    assert api.post_json("/v1/auth/logout", {"refresh_token": token}).status == 200
    assert api.post_json("/v1/auth/token/refresh", {"refresh_token": token}).status == 401


def test_resetting_the_password_revokes_refresh_tokens(api, make_user, outbox):
    me = make_user()
    token = _login(api, me)["refresh_token"]
    assert api.post_json("/v1/auth/reset-password", {"data": {"email": me.email}}).status == 200
    reset = token_from_last_mail(outbox, me.email)
    done = api.request("PATCH", "/v1/auth/reset-password", content_type="application/json",
                       body=json.dumps({"data": {"token": reset,
                                                 "password": "another-horse-2"}}).encode())
    assert done.status == 200
    assert api.post_json("/v1/auth/token/refresh", {"refresh_token": token}).status == 401


@pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": 5}])
def test_missing_refresh_token_is_400_naming_it(api, body):
    resp = api.post_json("/v1/auth/token/refresh", body)
    assert resp.status == 400
    assert "refresh" in error_of(resp)["detail"].lower()


def test_unknown_refresh_token_is_401(api):
    resp = api.post_json("/v1/auth/token/refresh", {"refresh_token": "not-a-real-token"})
    assert resp.status == 401
