"""No profile leaks through relationships (issue 9, item 13), from the attacker's side.

A related resource is shown — through `include=`, a related link or a relationship endpoint —
only to someone its own endpoint would show it to: a user document to the user themself or
an admin; an order to its buyer, the organizer side and admins; a hidden ticket to the
organizer side. The public check of a discount code by its text answers what a buyer needs
and nothing about the people behind the code.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import error_of
from tests.events.conftest import doc


def code_doc(event_id, tickets=(), marketer=None, **attrs):
    base = {"code": "SAVE10", "type": "percent", "value": 10, "used-for": "ticket"}
    base.update(attrs)
    return doc("discount-code", base, event=event_id, tickets=list(tickets), marketer=marketer)


@pytest.fixture
def paid(cast, make_ticket):
    return make_ticket(cast.event, name="Paid", type="paid", price=50)


@pytest.fixture
def victim(make_user):
    """An admin with an order of their own: the profile an attacker wants."""
    return make_user(admin=True, email="root-victim@example.test")


def _set_marketer(code, user_id):
    code.update(actions=[type(code).marketer_id.set(user_id)])


def _types(body):
    return sorted({r["type"] for r in body.get("included", [])})


# --- setting the marketer --------------------------------------------------------------

def test_organizer_cannot_name_another_user_marketer(api, cast, paid, victim):
    resp = api.post("/v1/discount-codes", code_doc(cast.event.id, [paid.id], victim.id),
                    token=cast.token("owner"))
    assert resp.status == 403, resp.body
    assert error_of(resp)["source"] == {"pointer": "/data/relationships/marketer"}


def test_organizer_cannot_repoint_a_code_to_another_marketer(api, cast, paid, make_code,
                                                             victim):
    code = make_code(cast.event, [paid])
    resp = api.patch(f"/v1/discount-codes/{code.id}",
                     doc("discount-code", {}, rid=code.id, marketer=victim.id),
                     token=cast.token("owner"))
    assert resp.status == 403, resp.body
    assert error_of(resp)["source"] == {"pointer": "/data/relationships/marketer"}


def test_organizer_may_name_themselves_marketer(api, cast, paid):
    owner = cast.accounts["owner"]
    resp = api.post("/v1/discount-codes", code_doc(cast.event.id, [paid.id], owner.id),
                    token=owner.token)
    assert resp.status == 201, resp.body
    assert resp.json()["data"]["relationships"]["marketer"]["data"] == {
        "type": "user", "id": str(owner.id)}


def test_admin_may_name_a_marketer(api, cast, paid, make_user):
    marketer = make_user()
    resp = api.post("/v1/discount-codes", code_doc(cast.event.id, [paid.id], marketer.id),
                    token=cast.token("admin"))
    assert resp.status == 201, resp.body


# --- reading the marketer ---------------------------------------------------------------

@pytest.mark.parametrize("include", ["marketer", "marketer.orders", "marketer,tickets,event"])
def test_anonymous_code_check_reveals_nobody(api, cast, paid, make_code, victim, include):
    code = make_code(cast.event, [paid])
    _set_marketer(code, victim.id)
    resp = api.get(f"/v1/events/{cast.event.id}/discount-codes/SAVE10?include={include}")
    assert resp.status == 200
    body = resp.json()
    assert "marketer" not in body["data"].get("relationships", {})
    assert not {"user", "order"} & set(_types(body))
    assert victim.email not in resp.body.decode()


def test_public_code_check_answers_what_a_buyer_needs(api, cast, paid, make_code):
    make_code(cast.event, [paid], tickets_number=100)
    data = api.get(f"/v1/events/{cast.event.id}/discount-codes/SAVE10").json()["data"]
    assert data["type"] == "discount-code"
    assert {"code", "value", "type", "valid-till"} <= set(data["attributes"])
    assert "tickets-number" not in data["attributes"]  # how many uses it has is the seller's
    assert data["relationships"]["tickets"]["data"] == [{"type": "ticket", "id": str(paid.id)}]


def test_public_code_check_does_not_include_hidden_tickets(api, cast, paid, make_code,
                                                           make_ticket):
    hidden = make_ticket(cast.event, name="Speakers", type="paid", price=50, is_hidden=True)
    make_code(cast.event, [paid, hidden])
    body = api.get(f"/v1/events/{cast.event.id}/discount-codes/SAVE10?include=tickets").json()
    assert [i["id"] for i in body["included"]] == [str(paid.id)]
    assert body["data"]["relationships"]["tickets"]["data"] == [
        {"type": "ticket", "id": str(paid.id)}]


@pytest.mark.parametrize("role,sees", [("coorganizer", False), ("owner", False),
                                       ("admin", True)])
def test_include_marketer_follows_the_user_rule(api, cast, paid, make_code, victim, role,
                                                sees):
    code = make_code(cast.event, [paid])
    _set_marketer(code, victim.id)
    resp = api.get(f"/v1/discount-codes/{code.id}?include=marketer.orders",
                   token=cast.token(role))
    assert resp.status == 200
    assert ("user" in _types(resp.json())) is sees
    assert (victim.email in resp.body.decode()) is sees
    related = api.get(f"/v1/discount-codes/{code.id}/marketer", token=cast.token(role))
    assert related.status == (200 if sees else 403)


def test_list_include_marketer_hides_profiles(api, cast, paid, make_code, victim):
    code = make_code(cast.event, [paid])
    _set_marketer(code, victim.id)
    resp = api.get(f"/v1/events/{cast.event.id}/discount-codes?include=marketer",
                   token=cast.token("coorganizer"))
    assert resp.status == 200
    assert "user" not in _types(resp.json())
    assert victim.email not in resp.body.decode()


def test_marketer_sees_their_own_profile(api, cast, paid, make_code):
    owner = cast.accounts["owner"]
    code = make_code(cast.event, [paid])
    _set_marketer(code, owner.id)
    body = api.get(f"/v1/discount-codes/{code.id}?include=marketer", token=owner.token).json()
    assert [(i["type"], i["attributes"]["email"]) for i in body["included"]] == [
        ("user", owner.email)]


# --- the event's owner -------------------------------------------------------------------

@pytest.mark.parametrize("role,status", [("coorganizer", 403), ("organizer", 403),
                                         ("owner", 200), ("admin", 200)])
def test_event_owner_profile_is_the_owners_or_an_admins(api, cast, role, status):
    owner_email = cast.accounts["owner"].email
    resp = api.get(f"/v1/events/{cast.event.id}?include=owner", token=cast.token(role))
    assert resp.status == 200
    assert ("user" in _types(resp.json())) is (status == 200)
    assert (owner_email in resp.body.decode()) is (status == 200)
    assert api.get(f"/v1/events/{cast.event.id}/owner", token=cast.token(role)).status == status


@pytest.mark.parametrize("include", ["owner", "attendees", "orders", "roles", "role-invites",
                                     "tickets.attendees", "discount-codes.marketer",
                                     "owner.orders", "stripe-authorization"])
def test_public_event_includes_no_personal_data(api, cast, paid, make_code, include):
    make_code(cast.event, [paid])
    resp = api.get(f"/v1/events/{cast.event.id}?include={include}")
    assert resp.status == 200
    assert not {"user", "order", "attendee", "users-events-role", "role-invite",
                "discount-code", "stripe-authorization"} & set(_types(resp.json()))
    assert "@" not in json.dumps(resp.json().get("included", []))


@pytest.mark.parametrize("include", ["attendees", "event.owner", "discount-codes.marketer",
                                     "event.discount-codes"])
def test_public_ticket_includes_no_personal_data(api, cast, paid, make_code, include):
    make_code(cast.event, [paid])
    resp = api.get(f"/v1/tickets/{paid.id}?include={include}")
    assert resp.status == 200
    assert not {"user", "attendee", "discount-code"} & set(_types(resp.json()))
