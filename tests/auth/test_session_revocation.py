"""Issue 20, item 2: a password change (an email change, a role loss, a deletion) ends every
other session of the account at once — its access tokens and its refresh tokens — and the
session that made the change keeps working; access tokens of a refreshing client live 15
minutes (accounts/sessions.py)."""

from __future__ import annotations

import jwt

from tests.auth.test_sessions import SECRET


def _login(api, account, password=None, remember=True):
    body = {"email": account.email, "password": password or account.password}
    if remember is not None:
        body["remember-me"] = remember
    resp = api.post_json("/auth/session", body)
    assert resp.status == 200, resp.body
    return resp.json()


def _works(api, session):
    return api.get("/v1/users/user-details/get-user-id",
                   token=session["access_token"]).status == 200


def _refreshes(api, session):
    resp = api.post_json("/v1/auth/token/refresh", {"refresh_token": session["refresh_token"]})
    if resp.status == 200:
        session.update(resp.json())
        return True
    assert resp.status == 401, resp.body
    return False


def test_changing_the_password_ends_every_other_session(api, make_user):
    me = make_user()
    mine, stolen = _login(api, me), _login(api, me)
    body = {"data": {"old-password": me.password, "new-password": "brand-new-pw-1"}}
    assert api.post_json("/v1/auth/change-password", body,
                         token=mine["access_token"]).status == 200
    assert not _works(api, stolen)
    assert not _refreshes(api, stolen)
    # the session that changed it goes on, as the web app expects, and keeps refreshing
    assert _works(api, mine)
    assert _refreshes(api, mine) and _works(api, mine)
    assert _refreshes(api, mine) and _works(api, mine)
    # a new login with the new password is a new session
    assert _works(api, _login(api, me, "brand-new-pw-1"))


def test_a_second_change_from_another_session_ends_the_first(api, make_user):
    me = make_user()
    first, second = _login(api, me), _login(api, me)
    body = {"data": {"old-password": me.password, "new-password": "brand-new-pw-1"}}
    assert api.post_json("/v1/auth/change-password", body,
                         token=first["access_token"]).status == 200
    assert not _works(api, second)
    third = _login(api, me, "brand-new-pw-1")
    again = {"data": {"old-password": "brand-new-pw-1", "new-password": "brand-new-pw-2"}}
    assert api.post_json("/v1/auth/change-password", again,
                         token=third["access_token"]).status == 200
    assert not _works(api, first) and not _refreshes(api, first)
    assert _works(api, third)


def test_changing_the_email_ends_every_other_session(api, make_user):
    me = make_user()
    mine, stolen = _login(api, me), _login(api, me)
    doc = {"data": {"type": "user", "id": str(me.id),
                    "attributes": {"email": f"moved-{me.email}"}}}
    assert api.patch(f"/v1/users/{me.id}", doc, token=mine["access_token"]).status == 200
    assert not _works(api, stolen) and not _refreshes(api, stolen)
    assert _works(api, mine) and _refreshes(api, mine)


def test_an_admin_changing_a_users_email_or_password_ends_all_their_sessions(api, make_user):
    admin, user = make_user(admin=True), make_user()
    sessions = [_login(api, user), _login(api, user)]
    doc = {"data": {"type": "user", "id": str(user.id),
                    "attributes": {"email": f"moved-{user.email}"}}}
    assert api.patch(f"/v1/users/{user.id}", doc, token=admin.token).status == 200
    assert not any(_works(api, s) or _refreshes(api, s) for s in sessions)
    assert _works(api, {"access_token": admin.token})


def test_losing_the_admin_role_ends_every_session(api, make_user):
    boss, admin = make_user(super_admin=True), make_user(admin=True)
    session = _login(api, admin)
    doc = {"data": {"type": "user", "id": str(admin.id), "attributes": {"is-admin": False}}}
    resp = api.patch(f"/v1/users/{admin.id}", doc, token=boss.token)
    assert resp.status == 200, resp.body
    assert not _works(api, session) and not _refreshes(api, session)
    assert _works(api, _login(api, admin))  # they may log in again, as a plain user


def test_a_deleted_account_has_no_session_left(api, make_user):
    admin, user = make_user(admin=True), make_user()
    session = _login(api, user)
    assert api.delete(f"/v1/users/{user.id}", token=admin.token).status == 200
    assert not _works(api, session) and not _refreshes(api, session)


def test_access_tokens_of_a_refreshing_client_live_fifteen_minutes(api, make_user):
    me = make_user()
    session = _login(api, me, remember=True)
    claims = jwt.decode(session["access_token"], SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert _refreshes(api, session)
    claims = jwt.decode(session["access_token"], SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 15 * 60
