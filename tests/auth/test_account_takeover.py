"""Account takeover, from the attacker's side (issue 9, items 14 and 15).

- A verification token proves only the address it was mailed to: an attacker who signs up
  with their own address, changes the account's email to a victim's and then spends the
  token they received must not end up with a *verified* account for the victim's address
  (verified email is what ticket downloads and invites trust).
- Only a super admin changes a super admin: a regular admin taking the super admin's account
  by setting its password or email, or demoting or deleting it, is 403.
"""

from __future__ import annotations

import pytest

from tests.auth.conftest import token_from_last_mail
from tests.conftest import error_of, user_doc


def _signup(api, email: str) -> tuple[int, str]:
    resp = api.post("/v1/users", user_doc(email, "attacker-pass-1"))
    assert resp.status == 201, resp.body
    login = api.post_json("/v1/auth/login", {"email": email, "password": "attacker-pass-1"})
    return int(resp.json()["data"]["id"]), login.json()["access_token"]


def _is_verified(api, user_id: int, token: str) -> bool:
    return bool(api.get(f"/v1/users/{user_id}", token=token).json()["data"]["attributes"]
                ["is-verified"])


def test_old_verification_token_does_not_verify_a_changed_email(api, outbox):
    user_id, token = _signup(api, "mallory@attacker.test")
    mailed = token_from_last_mail(outbox, "mallory@attacker.test")
    moved = api.patch(f"/v1/users/{user_id}", {"data": {
        "type": "user", "id": str(user_id), "attributes": {"email": "victim@corp.test"}}},
        token=token)
    assert moved.status == 200, moved.body
    resp = api.post_json("/v1/auth/verify-email", {"data": {"token": mailed}})
    assert resp.status == 400
    assert error_of(resp)["source"] == {"pointer": "/data/token"}
    assert not _is_verified(api, user_id, token)


def test_verification_token_still_verifies_the_address_it_was_sent_to(api, outbox):
    user_id, token = _signup(api, "carol@example.test")
    mailed = token_from_last_mail(outbox, "carol@example.test")
    assert api.post_json("/v1/auth/verify-email", {"data": {"token": mailed}}).status == 200
    assert _is_verified(api, user_id, token)


def test_token_mailed_after_the_change_verifies_the_new_address(api, outbox):
    user_id, token = _signup(api, "dave@example.test")
    api.patch(f"/v1/users/{user_id}", {"data": {
        "type": "user", "id": str(user_id), "attributes": {"email": "dave@new.test"}}},
        token=token)
    assert api.post("/v1/auth/resend-verification-email", token=token,
                    content_type="application/json").status == 200
    mailed = token_from_last_mail(outbox, "dave@new.test")
    assert api.post_json("/v1/auth/verify-email", {"data": {"token": mailed}}).status == 200
    assert _is_verified(api, user_id, token)


# --- only the super admin changes the super admin ------------------------------------------

def _patch(api, target, token, **attributes):
    return api.patch(f"/v1/users/{target.id}", {"data": {
        "type": "user", "id": str(target.id), "attributes": attributes}}, token=token)


@pytest.mark.parametrize("attributes", [
    {"password": "taken-over-by-admin"},
    {"email": "admin-controlled@example.test"},
    {"is-admin": False},
    {"is-verified": False},
    {"first-name": "Renamed"},
])
def test_regular_admin_cannot_change_the_super_admin(api, make_user, attributes):
    root = make_user(super_admin=True)
    admin = make_user(admin=True)
    resp = _patch(api, root, admin.token, **attributes)
    assert resp.status == 403
    assert error_of(resp)["title"] == "Access Forbidden"
    # The account is untouched: the super admin still logs in with the old password.
    login = api.post_json("/v1/auth/login", {"email": root.email, "password": root.password})
    assert login.status == 200
    me = api.get(f"/v1/users/{root.id}", token=root.token).json()["data"]["attributes"]
    assert (me["email"], me["is-admin"], me["is-verified"], me["first-name"]) == \
        (root.email, True, True, "Test")


def test_regular_admin_cannot_delete_the_super_admin(api, make_user):
    root = make_user(super_admin=True)
    admin = make_user(admin=True)
    assert api.delete(f"/v1/users/{root.id}", token=admin.token).status == 403
    assert api.get(f"/v1/users/{root.id}", token=root.token).status == 200


def test_regular_admin_still_reads_the_super_admin(api, make_user):
    root = make_user(super_admin=True)
    admin = make_user(admin=True)
    assert api.get(f"/v1/users/{root.id}", token=admin.token).status == 200


def test_super_admin_changes_their_own_account(api, make_user):
    root = make_user(super_admin=True)
    assert _patch(api, root, root.token, **{"first-name": "Root"}).status == 200


def test_regular_admin_still_manages_ordinary_users_and_admins(api, make_user):
    admin = make_user(admin=True)
    other_admin = make_user(admin=True)
    user = make_user()
    assert _patch(api, user, admin.token, password="reset-by-admin-1").status == 200
    assert _patch(api, other_admin, admin.token, **{"first-name": "Peer"}).status == 200


def test_reset_link_mailed_to_a_previous_address_no_longer_resets(api, outbox, make_user):
    user = make_user(email="old-owner@example.test")
    assert api.post_json("/v1/auth/reset-password",
                         {"data": {"email": user.email}}).status == 200
    mailed = token_from_last_mail(outbox, user.email)
    moved = api.patch(f"/v1/users/{user.id}", {"data": {
        "type": "user", "id": str(user.id), "attributes": {"email": "new-owner@example.test"}}},
        token=user.token)
    assert moved.status == 200
    resp = api.request("PATCH", "/v1/auth/reset-password", json_body={
        "data": {"token": mailed, "password": "stolen-password-1"}},
        content_type="application/json")
    assert resp.status == 404
    login = api.post_json("/v1/auth/login", {"email": "new-owner@example.test",
                                             "password": user.password})
    assert login.status == 200


# --- an invite is the invited address's only when that address is proven -------------------

def _invite(api, make_user, make_event, email):
    owner = make_user()
    event = make_event(owner.id)
    resp = api.post("/v1/role-invites", {"data": {
        "type": "role-invite", "attributes": {"email": email, "role-name": "organizer"},
        "relationships": {"event": {"data": {"type": "event", "id": str(event.id)}}}}},
        token=owner.token)
    assert resp.status == 201, resp.body
    return resp.json()["data"]["id"], owner


def test_unverified_namesake_cannot_read_or_withdraw_an_invite(api, make_user, make_event):
    invite_id, owner = _invite(api, make_user, make_event, "invitee@example.test")
    namesake = make_user(email="invitee@example.test", verified=False)
    assert api.get(f"/v1/role-invites/{invite_id}", token=namesake.token).status == 403
    assert api.delete(f"/v1/role-invites/{invite_id}", token=namesake.token).status == 403
    assert api.get(f"/v1/role-invites/{invite_id}", token=owner.token).status == 200


def test_verified_invitee_reads_their_invite(api, make_user, make_event):
    invite_id, _ = _invite(api, make_user, make_event, "invitee2@example.test")
    invitee = make_user(email="invitee2@example.test")
    assert api.get(f"/v1/role-invites/{invite_id}", token=invitee.token).status == 200
