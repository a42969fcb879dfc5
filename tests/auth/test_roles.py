"""Role invites and users-events-roles (API.md §2 event roles)."""

import pytest

from tests.auth.conftest import token_from_last_mail


def invite_doc(email, role, event_id):
    return {"data": {"type": "role-invite",
                     "attributes": {"email": email, "role-name": role},
                     "relationships": {"event": {"data": {"type": "event",
                                                          "id": str(event_id)}}}}}


def test_owner_invites_and_invitee_accepts(api, make_user, make_event, outbox):
    owner, guest = make_user(), make_user()
    event = make_event(owner.id)
    resp = api.post("/v1/role-invites", invite_doc(guest.email, "coorganizer", event.id),
                    token=owner.token)
    assert resp.status == 201
    assert resp.json()["data"]["attributes"]["status"] == "pending"
    token = token_from_last_mail(outbox, guest.email)
    accepted = api.post_json("/v1/role_invites/accept-invite", {"data": {"token": token}},
                             token=guest.token)
    assert accepted.status == 200
    assert accepted.json()["event"] == event.id
    roles = api.get(f"/v1/events/{event.id}/users-events-roles", token=guest.token)
    assert roles.status == 200
    names = sorted(r["attributes"]["role-name"] for r in roles.json()["data"])
    assert names == ["coorganizer", "owner"]
    again = api.post_json("/v1/role_invites/accept-invite", {"data": {"token": token}},
                          token=guest.token)
    assert again.status == 409


def test_invite_for_someone_else_cannot_be_accepted(api, make_user, make_event, outbox):
    owner, guest, thief = make_user(), make_user(), make_user()
    event = make_event(owner.id)
    api.post("/v1/role-invites", invite_doc(guest.email, "organizer", event.id),
             token=owner.token)
    token = token_from_last_mail(outbox, guest.email)
    resp = api.post_json("/v1/role_invites/accept-invite", {"data": {"token": token}},
                         token=thief.token)
    assert resp.status == 403


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("user", 403), ("coorganizer", 403),
                                        ("organizer", 201), ("owner", 201), ("admin", 201)])
def test_who_may_invite(api, make_user, make_event, who, status):
    from openevent.accounts.roles import grant_role

    owner = make_user()
    event = make_event(owner.id)
    actor = {"anonymous": None, "user": make_user(), "coorganizer": make_user(),
             "organizer": make_user(), "owner": owner, "admin": make_user(admin=True)}[who]
    if who in ("coorganizer", "organizer"):
        grant_role(event.id, actor.id, who)
    resp = api.post("/v1/role-invites", invite_doc("new@example.com", "coorganizer", event.id),
                    token=actor.token if actor else None)
    assert resp.status == status


def test_owner_role_cannot_be_invited(api, make_user, make_event):
    owner = make_user()
    event = make_event(owner.id)
    resp = api.post("/v1/role-invites", invite_doc("x@example.com", "owner", event.id),
                    token=owner.token)
    assert resp.status == 422


def test_draft_event_roles_are_404_to_strangers(api, make_user, make_event):
    owner, stranger = make_user(), make_user()
    event = make_event(owner.id, state="draft")
    assert api.get(f"/v1/events/{event.id}/users-events-roles",
                   token=stranger.token).status == 404
    assert api.get(f"/v1/events/{event.identifier}/users-events-roles",
                   token=owner.token).status == 200


def test_role_hierarchy():
    from openevent.rules.permissions import role_satisfies

    assert role_satisfies("owner", "coorganizer")
    assert role_satisfies("organizer", "registrar")
    assert role_satisfies("coorganizer", "moderator")
    assert not role_satisfies("moderator", "registrar")
    assert not role_satisfies("coorganizer", "organizer")
    assert not role_satisfies(None, "registrar")


def test_owner_role_cannot_be_removed(api, make_user, make_event):
    owner = make_user()
    event = make_event(owner.id)
    resp = api.delete(f"/v1/users-events-roles/{event.id}.{owner.id}", token=owner.token)
    assert resp.status == 403
