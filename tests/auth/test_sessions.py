"""Login, tokens and the password flows (API.md §2, deliberate differences)."""

import time

import jwt
import pytest

from tests.auth.conftest import mails_to, token_from_last_mail
from tests.conftest import error_of, user_doc

SECRET = "test-secret-for-jwt-signing-0123456789"


@pytest.mark.parametrize("path", ["/v1/auth/login", "/auth/session"])
def test_login_returns_jwt_with_identity_and_exp(api, make_user, path):
    me = make_user()
    resp = api.post_json(path, {"email": me.email, "password": me.password})
    assert resp.status == 200
    body = resp.json()
    assert set(body) == {"access_token", "refresh_token"}
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert claims["identity"] == me.id
    assert claims["exp"] > time.time()


def test_login_accepts_username_key(api, make_user):
    me = make_user()
    resp = api.post_json("/v1/auth/login", {"username": me.email, "password": me.password})
    assert resp.status == 200


def test_access_token_cannot_refresh(api, make_user):
    me = make_user()
    resp = api.post_json("/v1/auth/token/refresh", {}, token=me.token)
    assert resp.status == 401


@pytest.mark.parametrize("body", [
    {"email": "nobody@example.com", "password": "whatever-pw"},
    {"email": "known@example.com", "password": "wrong-password"},
    {"email": 12, "password": None},
    {},
])
def test_bad_credentials_are_401_invalid_credentials(api, make_user, body):
    make_user(email="known@example.com")
    resp = api.post_json("/v1/auth/login", body)
    assert resp.status == 401
    assert resp.json()["error"] == "Invalid Credentials"
    assert error_of(resp)["status"] == 401


def test_bearer_scheme_is_accepted(api, make_user):
    me = make_user()
    resp = api.get(f"/v1/users/{me.id}", headers={"Authorization": f"Bearer {me.token}"})
    assert resp.status == 200


@pytest.mark.parametrize("header", [
    "JWT garbage", "JWT ", "Basic dXNlcjpwYXNz", "JWT a.b.c",
    "JWT " + jwt.encode({"identity": 1, "exp": 9999999999, "type": "access"}, "k" * 40,
                        algorithm="HS256"),
    "JWT " + jwt.encode({"identity": 1, "exp": 1, "type": "access"}, SECRET, algorithm="HS256"),
    "JWT eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpZGVudGl0eSI6MSwiZXhwIjo5OTk5OTk5OTk5fQ.",
])
def test_bad_tokens_are_401(api, make_user, header):
    me = make_user()
    resp = api.get(f"/v1/users/{me.id}", headers={"Authorization": header})
    assert resp.status == 401
    assert error_of(resp)["title"] == "Unauthorized"


def test_verify_email_flow(api, outbox):
    created = api.post("/v1/users", user_doc("v@example.com"))
    uid = created.json()["data"]["id"]
    token = token_from_last_mail(outbox, "v@example.com")
    resp = api.post_json("/v1/auth/verify-email", {"data": {"token": token}})
    assert resp.status == 200
    assert resp.json() == {"message": "Email Verified"}
    login = api.post_json("/v1/auth/login", {"email": "v@example.com",
                                             "password": "long-enough-pw"}).json()
    me = api.get(f"/v1/users/{uid}", token=login["access_token"]).json()
    assert me["data"]["attributes"]["is-verified"] is True
    again = api.post_json("/v1/auth/verify-email", {"data": {"token": token}})
    assert again.status == 400


def test_verify_email_bad_token_is_400(api):
    resp = api.post_json("/v1/auth/verify-email", {"data": {"token": "nope"}})
    assert resp.status == 400
    assert error_of(resp)["source"]["pointer"] == "/data/token"


def test_mailed_tokens_are_url_safe(api, outbox):
    api.post("/v1/users", user_doc("safe@example.com"))
    body = mails_to(outbox, "safe@example.com")[-1].get_body(("plain",)).get_content()
    token = token_from_last_mail(outbox, "safe@example.com")
    assert f"token={token}\n" in body
    assert len(token) >= 32


def test_reset_password_for_unknown_email_is_200_and_sends_nothing(api, outbox):
    resp = api.post_json("/v1/auth/reset-password", {"data": {"email": "ghost@example.com"}})
    assert resp.status == 200
    assert mails_to(outbox, "ghost@example.com") == []


def test_reset_password_full_flow(api, make_user, outbox):
    me = make_user()
    assert api.post_json("/v1/auth/reset-password", {"data": {"email": me.email}}).status == 200
    token = token_from_last_mail(outbox, me.email)
    resp = api.patch("/v1/auth/reset-password", {"data": {"token": token,
                                                          "password": "brand-new-pw"}},
                     content_type="application/json")
    assert resp.status == 200
    assert resp.json() == {"id": me.id, "email": me.email, "name": "Test User"}
    # the new password works, the old one does not, the old session and token are dead
    assert api.post_json("/v1/auth/login", {"email": me.email,
                                            "password": "brand-new-pw"}).status == 200
    assert api.post_json("/v1/auth/login", {"email": me.email,
                                            "password": me.password}).status == 401
    assert api.get(f"/v1/users/{me.id}", token=me.token).status == 401
    reused = api.patch("/v1/auth/reset-password", {"data": {"token": token,
                                                            "password": "another-pw-1"}},
                       content_type="application/json")
    assert reused.status == 404


def test_reset_token_expires(api, make_user, outbox):
    from datetime import timedelta

    from openevent.models.users import MailToken
    from openevent.security import token_digest

    me = make_user()
    api.post_json("/v1/auth/reset-password", {"data": {"email": me.email}})
    token = token_from_last_mail(outbox, me.email)
    record = MailToken.get(token_digest(token))
    record.update(actions=[MailToken.expires_at.set(record.expires_at - timedelta(hours=2))])
    resp = api.patch("/v1/auth/reset-password", {"data": {"token": token,
                                                          "password": "brand-new-pw"}},
                     content_type="application/json")
    assert resp.status == 404


def test_reset_token_is_stored_hashed(api, make_user, outbox):
    from openevent.models.users import MailToken

    me = make_user()
    api.post_json("/v1/auth/reset-password", {"data": {"email": me.email}})
    token = token_from_last_mail(outbox, me.email)
    with pytest.raises(MailToken.DoesNotExist):
        MailToken.get(token)


def test_reset_password_is_rate_limited_per_email(api, make_user):
    me = make_user()
    statuses = [api.post_json("/v1/auth/reset-password", {"data": {"email": me.email}}).status
                for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    other = api.post_json("/v1/auth/reset-password", {"data": {"email": "x" + me.email}})
    assert other.status == 200


def test_reset_with_short_password_is_422(api, make_user, outbox):
    me = make_user()
    api.post_json("/v1/auth/reset-password", {"data": {"email": me.email}})
    token = token_from_last_mail(outbox, me.email)
    resp = api.patch("/v1/auth/reset-password", {"data": {"token": token, "password": "short"}},
                     content_type="application/json")
    assert resp.status == 422
    assert error_of(resp)["source"]["pointer"] == "/data/password"


def test_change_password(api, make_user):
    me = make_user()
    body = {"data": {"old-password": me.password, "new-password": "changed-pw-1"}}
    resp = api.post_json("/v1/auth/change-password", body, token=me.token)
    assert resp.status == 200
    assert resp.json()["password-changed"] is True
    assert api.post_json("/v1/auth/login", {"email": me.email,
                                            "password": "changed-pw-1"}).status == 200


def test_change_password_needs_the_old_one(api, make_user):
    me = make_user()
    body = {"data": {"old-password": "not-it-at-all", "new-password": "changed-pw-1"}}
    resp = api.post_json("/v1/auth/change-password", body, token=me.token)
    assert resp.status == 400
    assert error_of(resp)["source"]["pointer"] == "/data/old-password"
    assert api.post_json("/v1/auth/change-password", body).status == 401
