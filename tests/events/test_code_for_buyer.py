"""A buyer who typed a valid discount code reads what the web app needs to apply it — the
code's event and its visible tickets, through the code's related links — and nothing more
(issue 23, item 3). Attackers: strangers with guessed ids, inactive, expired, event-level and
deleted codes, unpublished events, hidden tickets, the code itself and its marketer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def paid(cast, make_ticket):
    return make_ticket(cast.event, name="Paid", type="paid", price=50)


@pytest.mark.parametrize("role", ["anonymous", "user"])
def test_buyer_reads_the_codes_event_and_visible_tickets(api, cast, paid, make_ticket,
                                                         make_code, role):
    hidden = make_ticket(cast.event, name="Crew", type="paid", price=10, is_hidden=True)
    code = make_code(cast.event, [paid, hidden])
    token = cast.token(role)
    event = api.get(f"/v1/discount-codes/{code.id}/event", token=token)
    assert event.status == 200, event.body
    assert event.json()["data"]["attributes"]["identifier"] == cast.event.identifier
    tickets = api.get(f"/v1/discount-codes/{code.id}/tickets", token=token)
    assert tickets.status == 200, tickets.body
    assert [t["id"] for t in tickets.json()["data"]] == [str(paid.id)]  # not the hidden one


def test_the_organizer_still_sees_hidden_tickets_of_the_code(api, cast, paid, make_ticket,
                                                             make_code):
    hidden = make_ticket(cast.event, name="Crew", type="paid", price=10, is_hidden=True)
    code = make_code(cast.event, [paid, hidden])
    tickets = api.get(f"/v1/discount-codes/{code.id}/tickets", token=cast.token("owner"))
    assert sorted(t["id"] for t in tickets.json()["data"]) == sorted([str(paid.id),
                                                                      str(hidden.id)])


@pytest.mark.parametrize("path", ["", "/marketer", "/relationships/marketer"])
def test_a_buyer_still_cannot_read_the_code_or_its_marketer(api, cast, paid, make_code,
                                                            path):
    code = make_code(cast.event, [paid])
    resp = api.get(f"/v1/discount-codes/{code.id}{path}", token=cast.token("user"))
    assert resp.status == 403, resp.body
    assert api.get(f"/v1/discount-codes/{code.id}{path}").status == 401


@pytest.mark.parametrize("values", [
    {"is_active": False},
    {"valid_till": datetime.now(UTC) - timedelta(days=1)},
    {"valid_from": datetime.now(UTC) + timedelta(days=1)},
])
def test_an_unusable_code_stays_closed_to_buyers(api, cast, paid, make_code, values):
    code = make_code(cast.event, [paid], **values)
    for path in ("event", "tickets"):
        resp = api.get(f"/v1/discount-codes/{code.id}/{path}", token=cast.token("user"))
        assert resp.status == 403, resp.body
    owner = api.get(f"/v1/discount-codes/{code.id}/event", token=cast.token("owner"))
    assert owner.status == 200


def test_an_event_level_code_stays_admin_only(api, cast, make_user):
    from decimal import Decimal

    from openevent.events import discount_codes
    from openevent.models.users import User

    admin = make_user(admin=True)
    code = discount_codes.create_code(User.get(admin.id), cast.event, {
        "code": "ALL", "type": "percent", "value": Decimal(5), "used_for": "event"}, [], None)
    resp = api.get(f"/v1/discount-codes/{code.id}/event", token=cast.token("user"))
    assert resp.status == 403, resp.body


def test_guessed_and_deleted_ids_are_404(api, cast, paid, make_code):
    code = make_code(cast.event, [paid])
    assert api.get(f"/v1/discount-codes/{code.id + 1}/event").status == 404
    assert api.get("/v1/discount-codes/notanumber/event").status in (400, 404)
    assert api.delete(f"/v1/discount-codes/{code.id}", token=cast.token("owner")).status == 200
    assert api.get(f"/v1/discount-codes/{code.id}/event",
                   token=cast.token("user")).status == 404


def test_a_code_of_an_unpublished_event_is_not_shown(api, make_cast, make_ticket, make_code):
    draft = make_cast(state="draft")
    ticket = make_ticket(draft.event, name="Paid", type="paid", price=50)
    code = make_code(draft.event, [ticket])
    assert api.get(f"/v1/discount-codes/{code.id}/event",
                   token=draft.token("user")).status == 404
